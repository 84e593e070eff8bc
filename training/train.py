"""Train the breed model.

    python -m training.train --data ../shared/data/cats/oxford ../shared/data/cats/web \
        --backbone efficientnet_lite0 --out runs/lite0

Steps: read photos, drop near-duplicates, stratified seeded train/validation/test split.
Every training photo is turned into several views (the centre square as served, random
crops, all of them also mirrored) through the serving preprocessing. The backbone is split
before its top blocks; the bottom runs once per view and its activations are kept, so the
top blocks can be fine-tuned for several epochs on a CPU. The head starts as a
class-balanced logistic regression, then the top blocks and the head are fine-tuned
together (class weights, per-source weights, cosine schedule) while a distillation loss
keeps the ImageNet classifier's answers on the same features (so the cat score needs no
second copy of the top blocks). A temperature is fitted on validation.

Writes `model.keras` (outputs `breed_logits`, temperature-scaled, and `imagenet_logits`),
`labels.json`, `split.json` (which photo is on which side), `report.json` (validation
figures only), `confusion.png` and `sets.npz`: the validation and test photos as served
and a calibration sample of training photos, for convert_model.py. The test photos are
not looked at here.
"""

from __future__ import annotations

import argparse
import hashlib
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

from catbreed.preprocessing import load_image, to_model_input
from training import data as datasets
from training import evaluate, label_noise
from training.backbones import BACKBONES, Backbone, build_backbone
from training.layers import HorizontalFlip

log = logging.getLogger("training")
CROP_SCALE = (0.65, 0.95)  # random crops keep this share of the shorter side


def random_crop(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A random square crop of 65-95% of the shorter side (an augmentation view)."""
    side = int(min(image.size) * rng.uniform(*CROP_SCALE))
    left = int(rng.integers(0, image.width - side + 1))
    top = int(rng.integers(0, image.height - side + 1))
    return image.crop((left, top, left + side, top + side))


def load_views(
    samples: list[datasets.Sample], size: int, counts: list[int] | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of every photo through the serving preprocessing, as uint8 (M, size, size, 3),
    with the photo each view belongs to and its number. View 0 of every photo comes first,
    in photo order, and is exactly what serving computes; views 1.. (`counts[i]` views of
    photo i, 1 each by default) are random crops of the same photo."""
    rng = np.random.default_rng(seed)
    counts = counts or [1] * len(samples)
    owners = np.concatenate([[i for i, c in enumerate(counts) if c > v] for v in range(max(counts))]).astype(np.int64)
    numbers = np.concatenate([[v] * sum(c > v for c in counts) for v in range(max(counts))]).astype(np.int64)
    out = np.empty((len(owners), size, size, 3), dtype=np.uint8)
    rows = {(int(o), int(v)): r for r, (o, v) in enumerate(zip(owners, numbers, strict=True))}
    for i, sample in enumerate(samples):
        image = load_image(sample.path.read_bytes(), min_side=2 * size)
        for v in range(counts[i]):
            out[rows[i, v]] = to_model_input(image if v == 0 else random_crop(image, rng), size)
    return out, owners, numbers


def load_pixels(samples: list[datasets.Sample], size: int) -> np.ndarray:
    """Every photo exactly as serving preprocesses it, as uint8 (N, size, size, 3)."""
    return load_views(samples, size)[0]


def view_counts(samples: list[datasets.Sample], default: int, spec: list[str]) -> list[int]:
    """Views of each training photo: `default`, or the count of its source in `SOURCE=N` pairs
    (e.g. thumbs=1: random crops of a 150 px thumbnail add blur, not information)."""
    table = {name: int(value) for name, value in (item.split("=", 1) for item in spec)}
    return [table.get(s.source, default) for s in samples]


def calibration_sample(pixels: np.ndarray, sources: list[str], count: int, seed: int) -> np.ndarray:
    """`count` photos for int8 calibration, drawn evenly from every data root (round robin
    over the roots, each shuffled), so no root's range of activations is missed."""
    rng = np.random.default_rng(seed)
    queues = [list(rng.permutation([i for i, s in enumerate(sources) if s == name])) for name in sorted(set(sources))]
    chosen: list[int] = []
    while len(chosen) < min(count, len(sources)):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(int(queue.pop()))
    return pixels[np.sort(chosen)]


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


class Progress(keras.callbacks.Callback):
    """Logs each epoch with its loss, the time it took and the time left."""

    def __init__(self, epochs: int) -> None:
        super().__init__()
        self.epochs = epochs
        self.started = time.time()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        spent = time.time() - self.started
        left = spent / (epoch + 1) * (self.epochs - epoch - 1)
        losses = ", ".join(f"{k} {v:.3f}" for k, v in (logs or {}).items() if k.endswith("loss"))
        log.info(
            "fine-tuning epoch %d/%d: %s; %.1f min so far, about %.1f min left",
            epoch + 1,
            self.epochs,
            losses,
            spent / 60,
            left / 60,
        )


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
    imagenet_head: keras.layers.Dense | None = None,
    teacher: np.ndarray | None = None,
    distill_weight: float = 1.0,
) -> None:
    """Train the top blocks and the head on cached activations; batch-norm stays frozen.

    With `imagenet_head` and `teacher` (the ImageNet probabilities of the top before
    fine-tuning, one row per activation), the frozen ImageNet classifier on the fine-tuned
    features is pulled towards the teacher (learning without forgetting), so that it keeps
    its meaning for the cat score.
    """
    keras.utils.set_random_seed(seed)
    for layer in top.layers:
        layer.trainable = not isinstance(layer, keras.layers.BatchNormalization)
    inputs = keras.Input(top.input.shape[1:])
    features = top(inputs)
    outputs = {"breed": head(keras.layers.Dropout(0.3, seed=seed)(features))}
    losses = {"breed": keras.losses.SparseCategoricalCrossentropy(from_logits=True)}
    targets = {"breed": labels}
    if imagenet_head is not None and teacher is not None:
        imagenet_head.trainable = False
        outputs["imagenet"] = imagenet_head(features)
        losses["imagenet"] = keras.losses.CategoricalCrossentropy(from_logits=True)
        targets["imagenet"] = teacher
    model = keras.Model(inputs, outputs)
    steps = epochs * int(np.ceil(len(labels) / batch_size))
    model.compile(
        keras.optimizers.AdamW(keras.optimizers.schedules.CosineDecay(learning_rate, steps), weight_decay=1e-4),
        losses,
        loss_weights={"breed": 1.0, "imagenet": distill_weight} if len(losses) == 2 else None,
    )
    model.fit(
        activations,
        targets,
        sample_weight=weights * class_weights(labels)[labels],
        batch_size=batch_size,
        epochs=epochs,
        shuffle=True,
        verbose=0,
        callbacks=[Progress(epochs)],
    )


def export_model(backbone: Backbone, head: keras.layers.Dense, temperature: float, flip_tta: bool = False) -> keras.Model:
    """The shipped model: pixels -> {breed_logits: logits / temperature, imagenet_logits}.

    Serving takes the softmax of each (catbreed.model): probabilities leave the quantized
    graph as logits, so that int8 rounding never makes two breeds tie, and the cat score
    (probability mass on the ImageNet cat classes) keeps its resolution near its threshold.
    With `flip_tta` the model also looks at the mirrored photo and averages the features.
    """
    kernel, bias = head.get_weights()
    calibrated = keras.layers.Dense(kernel.shape[1], name="breed_logits")
    calibrated.build((None, kernel.shape[0]))
    calibrated.set_weights([kernel / temperature, bias / temperature])
    pixels = keras.Input((backbone.input_size, backbone.input_size, 3), name="pixels")
    features = backbone.features(pixels)
    if flip_tta:
        mirrored = backbone.features(HorizontalFlip(name="mirror")(pixels))
        features = keras.layers.Average(name="flip_average")([features, mirrored])
    outputs = {"breed_logits": calibrated(features), "imagenet_logits": backbone.imagenet_head(features)}
    return keras.Model(pixels, outputs, name=f"catbreed_{backbone.name}")


def choose_breeds(samples: list[datasets.Sample], min_photos: int) -> list[str]:
    """Breeds with at least `min_photos` photos, sorted."""
    counts = Counter(s.breed for s in samples)
    return sorted(b for b, n in counts.items() if n >= min_photos)


def source_weights(samples: list[datasets.Sample], spec: list[str]) -> np.ndarray:
    """Per-photo weights from `SOURCE=WEIGHT` pairs (other sources weigh 1)."""
    table = {name: float(value) for name, value in (item.split("=", 1) for item in spec)}
    return np.array([table.get(s.source, 1.0) for s in samples], dtype=np.float32)


def bottom_activations(bottom: keras.Model, views: np.ndarray, chunk: int = 1024) -> np.ndarray:
    """The bottom's activations (float16) for every view, then for every view mirrored;
    logs progress with the time left."""
    started = time.time()
    parts, total = [], 2 * len(views)
    for mirror in (False, True):
        for first in range(0, len(views), chunk):
            pixels = views[first : first + chunk]
            parts.append(predict(bottom, pixels[:, :, ::-1] if mirror else pixels, 64).astype(np.float16))
            done = sum(len(p) for p in parts)
            left = (time.time() - started) / done * (total - done)
            log.info("bottom activations %d/%d, about %.1f min left", done, total, left / 60)
    return np.concatenate(parts)


def cached_activations(bottom: keras.Model, views: np.ndarray, cache: Path | None, key: str) -> np.ndarray:
    """bottom_activations, kept in `cache` under a key naming everything they depend on
    (backbone, cut, photos, views, seed), so a second run of the same recipe skips them."""
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    path = cache / f"activations-{digest}.npy" if cache else None
    if path and path.exists():
        log.info("bottom activations read from %s", path)
        return np.load(path)
    activations = bottom_activations(bottom, views)
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, activations)
    return activations


def top_outputs(top: keras.Model, imagenet_head: keras.layers.Dense, activations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pooled features of the top before fine-tuning, and its ImageNet probabilities (the
    distillation targets), for every cached activation."""
    features = predict(top, activations, 128)
    kernel, bias = imagenet_head.get_weights()
    teacher = softmax(features @ kernel + bias, axis=1).astype(np.float16)
    return features, teacher


def clean_labels(
    train_features: np.ndarray,
    y_train: np.ndarray,
    train: list[datasets.Sample],
    weights: np.ndarray,
    backbone: Backbone,
    x_val: np.ndarray,
    y_val: np.ndarray,
    val: list[datasets.Sample],
    breeds: list[str],
    args: argparse.Namespace,
) -> tuple[np.ndarray, dict]:
    """Down-weight training photos of the noisy roots whose label the rest contradicts
    (training/label_noise.py), and measure what it does: a linear probe on the centre views,
    fitted with and without the down-weighting, scored on validation per root and breed."""
    sources = [s.source for s in train]
    oof = label_noise.out_of_fold_probabilities(train_features, y_train, args.c, args.seed)
    flagged = label_noise.noisy_labels(y_train, oof, sources, set(args.clean_labels))
    cleaned = np.where(flagged, weights * args.flagged_weight, weights)
    val_features = predict(backbone.features, x_val)
    val_sources = [s.source for s in val]
    probes = {}
    for name, w in (("as_labelled", weights), ("cleaned", cleaned)):
        head = fit_head(train_features, y_train, args.c, args.seed, w)
        probes[name] = evaluate.per_source_report(softmax(head(val_features).numpy(), axis=1), y_val, val_sources, breeds)
    per_root = {r: int(sum(f for f, s in zip(flagged, sources, strict=True) if s == r)) for r in sorted(set(sources))}
    per_breed = {b: int(flagged[y_train == i].sum()) for i, b in enumerate(breeds)}
    report = {
        "noisy_sources": sorted(args.clean_labels),
        "flagged": int(flagged.sum()),
        "flagged_weight": args.flagged_weight,
        "flagged_per_source": per_root,
        "flagged_per_breed": per_breed,
        "flagged_photos": [str(train[i].path) for i in np.flatnonzero(flagged)],
        "validation_probe": probes,
    }
    summary = {n: {r: round(m["top1"], 4) for r, m in p.items()} for n, p in probes.items()}
    log.info("linear probe on validation, top-1 by root: %s", json.dumps(summary))
    return cleaned, report


def save_sets(path: Path, val: tuple, test: tuple, calibration: np.ndarray) -> None:
    """The validation and test photos as served (uint8 pixels, labels, sources) and the
    int8 calibration sample of training photos, for convert_model.py."""
    (x_val, y_val, s_val), (x_test, y_test, s_test) = val, test
    np.savez(
        path,
        val_pixels=x_val,
        val_labels=y_val,
        val_sources=np.array(s_val),
        test_pixels=x_test,
        test_labels=y_test,
        test_sources=np.array(s_test),
        calibration_pixels=calibration,
    )


def run(args: argparse.Namespace) -> dict:
    """The whole training job; returns the report it writes."""
    started = time.time()

    def stage(message: str, *values: object) -> None:
        log.info("[%.1f min] " + message, (time.time() - started) / 60, *values)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(args.seed)
    samples = datasets.read_sources(args.data)
    cache = Path(args.cache) / "phash.json" if args.cache else None
    unique = datasets.drop_near_duplicates(samples, args.max_hash_distance, cache)
    breeds = choose_breeds(unique, args.min_photos)
    kept = [s for s in unique if s.breed in breeds]
    train, val, test = datasets.split(kept, args.val_fraction, args.test_fraction, args.seed)
    stage(
        "%d photos, %d after de-duplication, %d breeds; train %d, validation %d, test %d",
        len(samples),
        len(unique),
        len(breeds),
        len(train),
        len(val),
        len(test),
    )

    backbone = build_backbone(args.backbone, args.weights, args.input_size)
    size = backbone.input_size
    index = {b: i for i, b in enumerate(breeds)}
    y_train, y_val, y_test = (np.array([index[s.breed] for s in part], dtype=np.int64) for part in (train, val, test))
    counts = view_counts(train, args.views, args.views_per_source)
    views, owners, numbers = load_views(train, size, counts, args.seed)
    x_val, x_test = load_pixels(val, size), load_pixels(test, size)
    calibration = calibration_sample(views[: len(train)], [s.source for s in train], args.calibration_photos, args.seed)
    stage("%d views of %d training photos at %d px; validation and test photos read", len(views), len(train), size)

    bottom, top = backbone.split(args.top_blocks)
    key = json.dumps([args.backbone, args.top_blocks, args.seed, [str(s.path) for s in train], counts])
    activations = cached_activations(bottom, views, args.cache, key)
    del views
    labels = np.tile(y_train[owners], 2)
    photo_weights = source_weights(train, args.source_weight)
    centre = np.tile(numbers == 0, 2)  # the centre views and their mirror images
    stage("bottom activations cached: %s, %.1f GB", activations.shape, activations.nbytes / 1e9)
    features, teacher = top_outputs(top, backbone.imagenet_head, activations)
    cleaning = None
    if args.clean_labels:
        photo_weights, cleaning = clean_labels(
            features[: len(train)], y_train, train, photo_weights, backbone, x_val, y_val, val, breeds, args
        )
        stage("label noise: %d training photos flagged and weighted %.2f", cleaning["flagged"], args.flagged_weight)
    weights = np.tile(photo_weights[owners], 2)
    head = fit_head(features[centre], labels[centre], args.c, args.seed, weights[centre])
    del features
    stage("head fitted")
    if args.finetune_epochs:
        fine_tune_top(
            top,
            head,
            activations,
            labels,
            weights,
            args.finetune_epochs,
            args.batch_size,
            args.learning_rate,
            args.seed,
            imagenet_head=backbone.imagenet_head if args.distill_weight > 0 else None,
            teacher=teacher,
            distill_weight=args.distill_weight,
        )
        stage("top %d blocks fine-tuned", args.top_blocks)
    del activations, teacher

    val_logits = predict(export_model(backbone, head, 1.0, args.flip_tta), x_val)["breed_logits"]
    temperature = evaluate.fit_temperature(val_logits, y_val)
    probs = softmax(val_logits / temperature, axis=1)
    model = export_model(backbone, head, temperature, args.flip_tta)
    report = {
        "backbone": args.backbone,
        "input_size": size,
        "breeds": breeds,
        "data": {
            "sources": [str(d) for d in args.data],
            "photos": len(samples),
            "after_dedup": len(unique),
            "train": len(train),
            "validation": len(val),
            "test": len(test),
            "split": {
                "val_fraction": args.val_fraction,
                "test_fraction": args.test_fraction,
                "seed": args.seed,
                "stratified_by": "breed and source",
                "near_duplicates": f"pHash within {args.max_hash_distance} bits, any breed: one kept",
            },
        },
        "validation": evaluate.per_source_report(probs, y_val, [s.source for s in val], breeds),
        "calibration": evaluate.calibration_report(val_logits, y_val, temperature),
        "label_noise": cleaning,
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "data"},
        "seconds": round(time.time() - started, 1),
    }
    model.save(out / "model.keras")
    save_sets(out / "sets.npz", (x_val, y_val, [s.source for s in val]), (x_test, y_test, [s.source for s in test]), calibration)
    sides = {"train": train, "validation": val, "test": test}
    (out / "split.json").write_text(json.dumps({k: [[str(s.path), s.breed, s.source] for s in v] for k, v in sides.items()}))
    (out / "labels.json").write_text(json.dumps(breeds, indent=1))
    (out / "report.json").write_text(json.dumps(report, indent=1))
    evaluate.save_confusion_matrix(probs, y_val, breeds, out / "confusion.png")
    summary = {k: {m: round(v[m], 4) for m in ("top1", "top5")} for k, v in report["validation"].items()}
    stage("done; validation: %s", json.dumps(summary))
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
    parser.add_argument("--backbone", choices=BACKBONES, default="efficientnet_lite2")
    parser.add_argument(
        "--weights", default="imagenet", help="xception only: 'imagenet', a local .h5, or 'none' (random, for tests)"
    )
    parser.add_argument("--input-size", type=int, default=None, help="xception only (default 299)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cache", type=Path, default=Path("runs/cache"), help="where photo hashes are kept between runs")
    parser.add_argument("--val-fraction", type=float, default=0.15)
    parser.add_argument("--test-fraction", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-photos", type=int, default=50, help="breeds with fewer photos are left out")
    parser.add_argument("--max-hash-distance", type=int, default=4, help="pHash bits for a near-duplicate")
    parser.add_argument("--views", type=int, default=2, help="views of each training photo: the centre + random crops")
    parser.add_argument(
        "--views-per-source",
        nargs="*",
        default=[],
        metavar="SOURCE=N",
        help="views of the photos of one root, e.g. thumbs=1 (others: --views)",
    )
    parser.add_argument(
        "--clean-labels",
        nargs="*",
        default=[],
        metavar="SOURCE",
        help="roots whose labels confident learning may flag (cleanlab, out-of-fold probe probabilities)",
    )
    parser.add_argument("--flagged-weight", type=float, default=0.0, help="weight multiplier of a flagged photo")
    parser.add_argument("--c", type=float, default=0.1, help="inverse L2 strength of the initial head")
    parser.add_argument("--top-blocks", type=int, default=6, help="top blocks fine-tuned (head conv counts as one)")
    parser.add_argument("--finetune-epochs", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument(
        "--distill-weight",
        type=float,
        default=1.0,
        help="weight of keeping the ImageNet answers (the cat score) while fine-tuning; 0 turns it off",
    )
    parser.add_argument(
        "--source-weight",
        nargs="*",
        action="extend",  # given twice (make train FEEDBACK=...), the pairs add up
        default=[],
        metavar="SOURCE=WEIGHT",
        help="weigh photos by data root, e.g. petfinder=0.3 for noisy labels",
    )
    parser.add_argument("--flip-tta", action="store_true", help="the model also looks at the mirrored photo")
    parser.add_argument(
        "--calibration-photos", type=int, default=512, help="training photos kept for int8 calibration, evenly from every root"
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
