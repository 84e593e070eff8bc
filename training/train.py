"""Train the breed model.

    python -m training.train --data ../shared/data/cats/oxford ../shared/data/cats/web \
        --backbone efficientnet_lite0 --out runs/lite0

Steps: read photos, drop near-duplicates, stratified split; fit the head (class-balanced
logistic regression on backbone features, with flipped copies as augmentation); optionally
fine-tune the top of the backbone; fit a temperature on validation; write the Keras model
(`model.keras`, outputs `breeds` and `cat_score`), `labels.json`, `report.json` and
`confusion.png`.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from collections import Counter
from pathlib import Path

import keras
import numpy as np
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression

from catbreed.preprocessing import image_to_input
from training import data as datasets
from training import evaluate
from training.backbones import BACKBONES, Backbone, build_backbone
from training.layers import CatScore
from training.noncats import non_cat_photos

log = logging.getLogger("training")


def load_pixels(samples: list[datasets.Sample], size: int) -> np.ndarray:
    """Every photo through the serving preprocessing, as uint8 (N, size, size, 3)."""
    return np.stack([image_to_input(s.path.read_bytes(), size).astype(np.uint8) for s in samples])


def extract(backbone: Backbone, pixels: np.ndarray, batch_size: int = 32) -> np.ndarray:
    """Pooled backbone features of uint8 pixels."""
    return backbone.features.predict(pixels.astype(np.float32), batch_size=batch_size, verbose=0)


def fit_head(features: np.ndarray, labels: np.ndarray, c: float, seed: int) -> keras.layers.Dense:
    """Class-balanced multinomial logistic regression, returned as a Keras Dense (logits)."""
    regression = LogisticRegression(C=c, class_weight="balanced", max_iter=3000, random_state=seed)
    regression.fit(features, labels)
    head = keras.layers.Dense(len(regression.classes_), name="breed_logits")
    head.build((None, features.shape[1]))
    head.set_weights([regression.coef_.T.astype(np.float32), regression.intercept_.astype(np.float32)])
    return head


def fine_tune(
    backbone: Backbone,
    head: keras.layers.Dense,
    pixels: np.ndarray,
    labels: np.ndarray,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    blocks: int = 3,
) -> None:
    """Train the backbone's top `blocks` blocks and the head together, with flips, small
    zooms and shifts, and class weights. Batch-norm statistics stay frozen."""
    keras.utils.set_random_seed(seed)
    backbone.features.trainable = True
    top = {id(layer) for layer in backbone.top_layers(blocks)}
    stack = [backbone.features]
    while stack:
        for layer in stack.pop().layers:
            if isinstance(layer, keras.Model):
                stack.append(layer)
            else:
                layer.trainable = id(layer) in top and not isinstance(layer, keras.layers.BatchNormalization)
    augment = keras.Sequential(
        [
            keras.layers.RandomFlip("horizontal", seed=seed),
            keras.layers.RandomZoom((-0.15, 0.0), seed=seed, fill_mode="reflect"),
            keras.layers.RandomTranslation(0.06, 0.06, seed=seed, fill_mode="reflect"),
        ],
        name="augment",
    )
    inputs = keras.Input(pixels.shape[1:])
    outputs = head(keras.layers.Dropout(0.2)(backbone.features(augment(inputs), training=False)))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(learning_rate), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    counts = Counter(labels.tolist())
    weights = {c: len(labels) / (len(counts) * n) for c, n in counts.items()}
    model.fit(
        pixels.astype(np.float32), labels, batch_size=batch_size, epochs=epochs, class_weight=weights, shuffle=True, verbose=2
    )


def export_model(backbone: Backbone, head: keras.layers.Dense, temperature: float) -> keras.Model:
    """The shipped model: pixels -> {breeds: calibrated probabilities, cat_score}."""
    kernel, bias = head.get_weights()
    calibrated = keras.layers.Dense(kernel.shape[1], activation="softmax", name="breeds")
    calibrated.build((None, kernel.shape[0]))
    calibrated.set_weights([kernel / temperature, bias / temperature])
    pixels = keras.Input((backbone.input_size, backbone.input_size, 3), name="pixels")
    features = backbone.features(pixels)
    outputs = {"breeds": calibrated(features), "cat_score": CatScore(name="cat_score")(backbone.imagenet_head(features))}
    return keras.Model(pixels, outputs, name=f"catbreed_{backbone.name}")


def cat_report(model: keras.Model, x_val: np.ndarray, y_val: np.ndarray, breeds: list[str], size: int, acceptance: float) -> dict:
    """Pick the cat-score threshold that passes `acceptance` of validation cats, and
    measure it per breed and on bundled non-cat pictures."""
    cat_scores = model.predict(x_val.astype(np.float32), batch_size=32, verbose=0)["cat_score"][:, 0]
    threshold = float(np.quantile(cat_scores, 1 - acceptance, method="lower"))
    others = non_cat_photos()
    other_pixels = np.stack([image_to_input(data, size) for _, data in others])
    other_scores = model.predict(other_pixels, batch_size=32, verbose=0)["cat_score"][:, 0]
    return {
        "threshold": threshold,
        "validation_accepted": float(np.mean(cat_scores >= threshold)),
        "accepted_per_breed": {
            b: float(np.mean(cat_scores[y_val == i] >= threshold)) for i, b in enumerate(breeds) if (y_val == i).any()
        },
        "non_cat_photos": len(others),
        "non_cats_rejected": float(np.mean(other_scores < threshold)),
        "non_cats_accepted": [name for (name, _), s in zip(others, other_scores, strict=False) if s >= threshold],
    }


def choose_breeds(samples: list[datasets.Sample], min_photos: int) -> list[str]:
    """Breeds with at least `min_photos` photos, sorted."""
    counts = Counter(s.breed for s in samples)
    return sorted(b for b, n in counts.items() if n >= min_photos)


def per_source_report(probs: np.ndarray, labels: np.ndarray, sources: list[str], names: list[str]) -> dict:
    """The classification report overall and for each data root apart."""
    report = {"all": evaluate.classification_report(probs, labels, names)}
    for source in sorted(set(sources)):
        mask = np.array([s == source for s in sources])
        report[source] = evaluate.classification_report(probs[mask], labels[mask], names)
    return report


def run(args: argparse.Namespace) -> dict:
    """The whole training job; returns the report it writes."""
    started = time.time()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    samples = datasets.read_sources(args.data)
    unique = datasets.drop_near_duplicates(samples, args.max_hash_distance)
    breeds = choose_breeds(unique, args.min_photos)
    kept = [s for s in unique if s.breed in breeds]
    train, val = datasets.split(kept, args.val_fraction, args.seed)
    log.info(
        "%d photos, %d after de-duplication, %d breeds; train %d, val %d",
        len(samples),
        len(unique),
        len(breeds),
        len(train),
        len(val),
    )

    backbone = build_backbone(args.backbone, args.weights, args.input_size)
    index = {b: i for i, b in enumerate(breeds)}
    y_train = np.array([index[s.breed] for s in train])
    y_val = np.array([index[s.breed] for s in val])
    x_train = load_pixels(train, backbone.input_size)
    x_val = load_pixels(val, backbone.input_size)
    log.info("pixels loaded at %d px (%.0f s)", backbone.input_size, time.time() - started)

    features = np.concatenate([extract(backbone, x_train), extract(backbone, x_train[:, :, ::-1])])
    head = fit_head(features, np.concatenate([y_train, y_train]), args.c, args.seed)
    log.info("head fitted (%.0f s)", time.time() - started)
    if args.finetune_epochs:
        fine_tune(
            backbone,
            head,
            x_train,
            y_train,
            args.finetune_epochs,
            args.batch_size,
            args.learning_rate,
            args.seed,
            args.finetune_blocks,
        )
        log.info("fine-tuned (%.0f s)", time.time() - started)

    val_logits = head(extract(backbone, x_val)).numpy()
    temperature = evaluate.fit_temperature(val_logits, y_val)
    probs = softmax(val_logits / temperature, axis=1)
    model = export_model(backbone, head, temperature)
    cat = cat_report(model, x_val, y_val, breeds, backbone.input_size, args.cat_acceptance)

    report = {
        "backbone": args.backbone,
        "input_size": backbone.input_size,
        "breeds": breeds,
        "data": {
            "sources": [str(d) for d in args.data],
            "photos": len(samples),
            "after_dedup": len(unique),
            "train": len(train),
            "validation": len(val),
            "split": {"val_fraction": args.val_fraction, "seed": args.seed, "stratified_by": "breed and source"},
        },
        "validation": per_source_report(probs, y_val, [s.source for s in val], breeds),
        "calibration": evaluate.calibration_report(val_logits, y_val, temperature),
        "cat": cat,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "data"},
        "seconds": round(time.time() - started, 1),
    }
    model.save(out / "model.keras")
    np.savez_compressed(out / "validation_sample.npz", pixels=x_val[: args.check_photos], labels=y_val[: args.check_photos])
    (out / "labels.json").write_text(json.dumps(breeds, indent=1))
    (out / "report.json").write_text(json.dumps(report, indent=1))
    evaluate.save_confusion_matrix(probs, y_val, breeds, out / "confusion.png")
    log.info(
        "done in %.0f s: %s",
        time.time() - started,
        json.dumps({k: {m: round(v[m], 4) for m in ("top1", "top5")} for k, v in report["validation"].items()}),
    )
    return report


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--data",
        nargs="+",
        type=Path,
        required=True,
        help="folder-per-breed roots (<root>/<Breed>/*.jpg) or path,breed CSV manifests",
    )
    parser.add_argument("--backbone", choices=BACKBONES, default="efficientnet_lite0")
    parser.add_argument(
        "--weights", default="imagenet", help="xception only: 'imagenet', a local .h5, or 'none' (random, for tests)"
    )
    parser.add_argument("--input-size", type=int, default=None, help="xception only (default 299)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--val-fraction", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-photos", type=int, default=100, help="breeds with fewer photos are left out")
    parser.add_argument("--max-hash-distance", type=int, default=4, help="pHash bits for a near-duplicate")
    parser.add_argument("--c", type=float, default=0.5, help="inverse L2 strength of the head")
    parser.add_argument("--finetune-epochs", type=int, default=0)
    parser.add_argument("--finetune-blocks", type=int, default=3, help="top blocks unfrozen when fine-tuning")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument(
        "--cat-acceptance", type=float, default=0.99, help="share of validation cat photos that must pass the cat-score threshold"
    )
    parser.add_argument(
        "--check-photos", type=int, default=64, help="validation photos saved for convert_model.py's agreement check"
    )
    args = parser.parse_args(argv)
    if args.weights.lower() == "none":
        args.weights = None
    return args


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    run(parse_args(argv))


if __name__ == "__main__":
    main()
