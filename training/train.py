"""Train the breed model.

    python -m training.train --data ../shared/data/cats/oxford ../shared/data/cats/web \
        --backbone efficientnet_lite0 --out runs/lite0

Steps: read photos, drop near-duplicates, stratified seeded split. Every training photo is
turned into several views (the centre square as served, random crops, all of them also
mirrored) through the serving preprocessing. The backbone is split before its top blocks;
the bottom runs once per view and its activations are kept, so the top blocks can be
fine-tuned for many epochs on a CPU. The head starts as a class-balanced logistic
regression, then the top blocks and the head are fine-tuned together (class weights,
optional per-source weights, cosine schedule). A temperature is fitted on validation.
Writes `model.keras` (outputs `breeds` and `cat_score`), `labels.json`, `report.json`,
`confusion.png` and a sample of validation photos for convert_model.py's check.
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
from PIL import Image
from scipy.special import softmax
from sklearn.linear_model import LogisticRegression

from catbreed.preprocessing import image_to_input, load_image, to_model_input
from training import data as datasets
from training import evaluate
from training.backbones import BACKBONES, Backbone, build_backbone
from training.layers import CatScore, HorizontalFlip
from training.noncats import non_cat_photos

log = logging.getLogger("training")
CROP_SCALE = (0.65, 0.95)  # random crops keep this share of the shorter side


def random_crop(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A random square crop of 65-95% of the shorter side (an augmentation view)."""
    side = int(min(image.size) * rng.uniform(*CROP_SCALE))
    left = int(rng.integers(0, image.width - side + 1))
    top = int(rng.integers(0, image.height - side + 1))
    return image.crop((left, top, left + side, top + side))


def load_views(samples: list[datasets.Sample], size: int, views: int = 1, seed: int = 0) -> np.ndarray:
    """(views, N, size, size, 3) uint8 through the serving preprocessing: view 0 is exactly
    what serving computes, the others are random crops of the same photo."""
    rng = np.random.default_rng(seed)
    out = np.empty((views, len(samples), size, size, 3), dtype=np.uint8)
    for i, sample in enumerate(samples):
        image = load_image(sample.path.read_bytes(), min_side=2 * size)
        for v in range(views):
            out[v, i] = to_model_input(image if v == 0 else random_crop(image, rng), size)
    return out


def load_pixels(samples: list[datasets.Sample], size: int) -> np.ndarray:
    """Every photo exactly as serving preprocesses it, as uint8 (N, size, size, 3)."""
    return load_views(samples, size)[0]


def predict(model: keras.Model, inputs: np.ndarray, batch_size: int = 32) -> np.ndarray:
    return model.predict(inputs.astype(np.float32), batch_size=batch_size, verbose=0)


def fit_head(
    features: np.ndarray, labels: np.ndarray, c: float, seed: int, weights: np.ndarray | None = None
) -> keras.layers.Dense:
    """Class-balanced multinomial logistic regression, returned as a Keras Dense (logits).
    Every class index up to labels.max() must occur."""
    regression = LogisticRegression(C=c, class_weight="balanced", max_iter=3000, random_state=seed)
    regression.fit(features, labels, sample_weight=weights)
    head = keras.layers.Dense(len(regression.classes_), name="breed_logits")
    head.build((None, features.shape[1]))
    head.set_weights([regression.coef_.T.astype(np.float32), regression.intercept_.astype(np.float32)])
    return head


def class_weights(labels: np.ndarray) -> np.ndarray:
    """Per-class weights that make every breed count the same."""
    counts = np.bincount(labels)
    return len(labels) / (len(counts) * np.maximum(counts, 1))


def fine_tune_top(
    top: keras.Model,
    head: keras.layers.Dense,
    activations: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
) -> None:
    """Train the top blocks and the head on cached activations; batch-norm stays frozen."""
    keras.utils.set_random_seed(seed)
    for layer in top.layers:
        layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
    model = keras.Sequential([top, keras.layers.Dropout(0.3, seed=seed), head])
    steps = epochs * int(np.ceil(len(labels) / batch_size))
    model.compile(
        keras.optimizers.AdamW(keras.optimizers.schedules.CosineDecay(learning_rate, steps), weight_decay=1e-4),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(
        activations,
        labels,
        sample_weight=weights * class_weights(labels)[labels],
        batch_size=batch_size,
        epochs=epochs,
        shuffle=True,
        verbose=2,
    )


def frozen_copy(model: keras.Model) -> keras.Model:
    """A copy of a model with its current weights, unaffected by later training."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    copy.trainable = False
    return copy


def export_model(
    backbone: Backbone,
    head: keras.layers.Dense,
    temperature: float,
    flip_tta: bool = False,
    top_blocks: int = 1,
    imagenet_top: keras.Model | None = None,
) -> keras.Model:
    """The shipped model: pixels -> {breeds: calibrated probabilities, cat_score}.

    The backbone runs up to its top `top_blocks` blocks once; the (fine-tuned) top feeds the
    breed head, and `imagenet_top`, the top as it was before fine-tuning, feeds the ImageNet
    classifier, so that the cat score keeps its ImageNet meaning. With `flip_tta` the breed
    branch also looks at the mirrored photo and averages the two.
    """
    kernel, bias = head.get_weights()
    calibrated = keras.layers.Dense(kernel.shape[1], activation="softmax", name="breeds")
    calibrated.build((None, kernel.shape[0]))
    calibrated.set_weights([kernel / temperature, bias / temperature])
    bottom, top = backbone.split(top_blocks)
    pixels = keras.Input((backbone.input_size, backbone.input_size, 3), name="pixels")
    middle = bottom(pixels)
    features = top(middle)
    if flip_tta:
        mirrored = top(bottom(HorizontalFlip(name="mirror")(pixels)))
        features = keras.layers.Average(name="flip_average")([features, mirrored])
    imagenet_features = (imagenet_top or top)(middle)
    outputs = {
        "breeds": calibrated(features),
        "cat_score": CatScore(name="cat_score")(backbone.imagenet_head(imagenet_features)),
    }
    return keras.Model(pixels, outputs, name=f"catbreed_{backbone.name}")


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


def cat_report(model: keras.Model, x_val: np.ndarray, y_val: np.ndarray, breeds: list[str], size: int, acceptance: float) -> dict:
    """Pick the cat-score threshold that passes `acceptance` of validation cats, and
    measure it per breed and on bundled non-cat pictures."""
    cat_scores = predict(model, x_val)["cat_score"][:, 0]
    threshold = float(np.quantile(cat_scores, 1 - acceptance, method="lower"))
    others = non_cat_photos()
    other_scores = predict(model, np.stack([image_to_input(data, size) for _, data in others]))["cat_score"][:, 0]
    return {
        "threshold": threshold,
        "validation_accepted": float(np.mean(cat_scores >= threshold)),
        "accepted_per_breed": {
            b: float(np.mean(cat_scores[y_val == i] >= threshold)) for i, b in enumerate(breeds) if (y_val == i).any()
        },
        "non_cat_photos": len(others),
        "non_cats_rejected": float(np.mean(other_scores < threshold)),
        "non_cats_accepted": [name for (name, _), s in zip(others, other_scores, strict=True) if s >= threshold],
    }


def source_weights(samples: list[datasets.Sample], spec: list[str]) -> np.ndarray:
    """Per-photo weights from `SOURCE=WEIGHT` pairs (other sources weigh 1)."""
    table = {name: float(value) for name, value in (item.split("=", 1) for item in spec)}
    return np.array([table.get(s.source, 1.0) for s in samples], dtype=np.float32)


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
    views = load_views(train, backbone.input_size, args.views, args.seed)
    x_val = load_pixels(val, backbone.input_size)
    log.info("%d views of the training photos at %d px (%.0f s)", args.views, backbone.input_size, time.time() - started)

    bottom, top = backbone.split(args.top_blocks)
    imagenet_top = frozen_copy(top)  # the cat score needs the features the ImageNet head was trained on
    activations = np.concatenate(
        [predict(bottom, v[:, :, ::-1] if mirror else v).astype(np.float16) for v in views for mirror in (False, True)]
    )
    del views
    labels = np.tile(y_train, 2 * args.views)
    weights = np.tile(source_weights(train, args.source_weight), 2 * args.views)
    log.info(
        "bottom activations cached: %s, %.1f GB (%.0f s)", activations.shape, activations.nbytes / 1e9, time.time() - started
    )
    first_views = slice(0, 2 * len(y_train))  # the centre views and their mirror images
    head = fit_head(predict(top, activations[first_views], 64), labels[first_views], args.c, args.seed, weights[first_views])
    log.info("head fitted (%.0f s)", time.time() - started)
    if args.finetune_epochs:
        fine_tune_top(
            top, head, activations, labels, weights, args.finetune_epochs, args.batch_size, args.learning_rate, args.seed
        )
        log.info("top %d blocks fine-tuned (%.0f s)", args.top_blocks, time.time() - started)
    del activations

    features = predict(backbone.features, x_val)
    if args.flip_tta:
        features = (features + predict(backbone.features, x_val[:, :, ::-1])) / 2
    val_logits = head(features).numpy()
    temperature = evaluate.fit_temperature(val_logits, y_val)
    probs = softmax(val_logits / temperature, axis=1)
    model = export_model(backbone, head, temperature, args.flip_tta, args.top_blocks, imagenet_top)
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
        "cat": cat_report(model, x_val, y_val, breeds, backbone.input_size, args.cat_acceptance),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "data"},
        "seconds": round(time.time() - started, 1),
    }
    model.save(out / "model.keras")
    np.savez_compressed(out / "validation_sample.npz", pixels=x_val[: args.check_photos], labels=y_val[: args.check_photos])
    (out / "labels.json").write_text(json.dumps(breeds, indent=1))
    (out / "report.json").write_text(json.dumps(report, indent=1))
    evaluate.save_confusion_matrix(probs, y_val, breeds, out / "confusion.png")
    summary = {k: {m: round(v[m], 4) for m in ("top1", "top5")} for k, v in report["validation"].items()}
    log.info("done in %.0f s: %s", time.time() - started, json.dumps(summary))
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
    parser.add_argument("--views", type=int, default=3, help="views of each training photo: the centre + random crops")
    parser.add_argument("--c", type=float, default=0.1, help="inverse L2 strength of the initial head")
    parser.add_argument("--top-blocks", type=int, default=6, help="top blocks fine-tuned (head conv counts as one)")
    parser.add_argument("--finetune-epochs", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument(
        "--source-weight",
        nargs="*",
        default=[],
        metavar="SOURCE=WEIGHT",
        help="weigh photos by data root, e.g. web=0.5 for noisy labels",
    )
    parser.add_argument("--flip-tta", action="store_true", help="the model also looks at the mirrored photo")
    parser.add_argument(
        "--cat-acceptance",
        type=float,
        default=0.985,
        help="share of validation cat photos that must pass the cat-score threshold",
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
