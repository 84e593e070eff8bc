"""Train the breed model. `make train` runs the shipped recipe (these defaults plus the
Makefile's TRAIN_FLAGS; docs/training.md), then conversion and the promotion gate. By hand:

    python -m training.train --out runs/mine --data data/cats/oxford ~/my-cats --min-photos 40

Steps: read photos, drop near-duplicates, stratified seeded train/validation/test split.
Every training photo is turned into several views (the centre square as served, random
crops, all of them also mirrored) through the serving preprocessing (training/views.py).
The backbone is split before its top blocks; the bottom runs once per view and its
activations are kept, so the top blocks can be fine-tuned for several epochs on a CPU. The
head starts as a class-balanced logistic regression, then the top blocks and the head are
fine-tuned together (class weights, per-source weights, cosine schedule) while a distillation
loss keeps the ImageNet classifier's answers on the same features (so the cat score needs no
second copy of the top blocks; training/finetune.py). A temperature is fitted on validation.

Writes `model.keras` (outputs `breed_logits`, temperature-scaled, and `imagenet_logits`),
`labels.json`, `split.json` (which photo is on which side), `config.json` (the settings,
read back by TrainConfig.load), `report.json` (validation figures only), `confusion.png`
and `sets.npz`: the validation and test photos as served and a calibration sample of
training photos, for convert_model.py. The test photos are not looked at here.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
from scipy.special import softmax

from training import data as datasets
from training import evaluate
from training.backbones import BACKBONES, Backbone, build_backbone
from training.config import TrainConfig, source_values
from training.export import export_model
from training.finetune import cached_activations, fine_tune_top, fit_head, predict, top_outputs
from training.label_noise import clean_labels
from training.views import calibration_sample, load_pixels, load_views, view_counts

log = logging.getLogger("training")


@dataclasses.dataclass(frozen=True)
class Photos:
    """The photos of a run: how many were read and kept, the breeds, and the three sides."""

    read: int
    unique: int
    breeds: list[str]
    train: list[datasets.Sample]
    val: list[datasets.Sample]
    test: list[datasets.Sample]

    def labels(self, side: list[datasets.Sample]) -> np.ndarray:
        index = {b: i for i, b in enumerate(self.breeds)}
        return np.array([index[s.breed] for s in side], dtype=np.int64)


def choose_breeds(samples: list[datasets.Sample], min_photos: int) -> list[str]:
    """Breeds with at least `min_photos` photos, sorted."""
    counts = Counter(s.breed for s in samples)
    return sorted(b for b, n in counts.items() if n >= min_photos)


def source_weights(samples: list[datasets.Sample], spec: tuple[str, ...]) -> np.ndarray:
    """Per-photo weights from `SOURCE=WEIGHT` pairs (other sources weigh 1)."""
    table = source_values(spec, float)
    return np.array([table.get(s.source, 1.0) for s in samples], dtype=np.float32)


def read_photos(config: TrainConfig) -> Photos:
    """The data roots read, near-duplicates dropped, rare breeds left out, split."""
    samples = datasets.read_sources(list(config.data))
    cache = config.cache / "phash.json" if config.cache else None
    unique = datasets.drop_near_duplicates(samples, config.max_hash_distance, cache)
    breeds = choose_breeds(unique, config.min_photos)
    kept = [s for s in unique if s.breed in breeds]
    train, val, test = datasets.split(kept, config.val_fraction, config.test_fraction, config.seed)
    return Photos(len(samples), len(unique), breeds, train, val, test)


def train_head(
    config: TrainConfig, backbone: Backbone, photos: Photos, x_val: np.ndarray, stage: Callable[..., None]
) -> tuple[keras.layers.Dense, np.ndarray, dict | None]:
    """The breed head (and the backbone's top blocks, in place) trained on the views of the
    training photos; the int8 calibration sample; the label-noise report, if asked for."""
    train, size = photos.train, backbone.input_size
    y_train = photos.labels(train)
    counts = view_counts(train, config.views, config.views_per_source)
    views, owners, numbers = load_views(train, size, counts, config.seed)
    calibration = calibration_sample(views[: len(train)], [s.source for s in train], config.calibration_photos, config.seed)
    stage("%d views of %d training photos at %d px", len(views), len(train), size)

    bottom, top = backbone.split(config.top_blocks)
    key = json.dumps([config.backbone, config.top_blocks, config.seed, [str(s.path) for s in train], counts])
    activations = cached_activations(bottom, views, config.cache, key)
    del views
    labels = np.tile(y_train[owners], 2)
    photo_weights = source_weights(train, config.source_weight)
    centre = np.tile(numbers == 0, 2)  # the centre views and their mirror images
    stage("bottom activations cached: %s, %.1f GB", activations.shape, activations.nbytes / 1e9)
    features, teacher = top_outputs(top, backbone.imagenet_head, activations)
    cleaning = None
    if config.clean_labels:
        y_val, val = photos.labels(photos.val), photos.val
        photo_weights, cleaning = clean_labels(
            features[: len(train)], y_train, train, photo_weights, backbone, x_val, y_val, val, photos.breeds, config
        )
        stage("label noise: %d training photos flagged and weighted %.2f", cleaning["flagged"], config.flagged_weight)
    weights = np.tile(photo_weights[owners], 2)
    head = fit_head(features[centre], labels[centre], config.c, config.seed, weights[centre])
    del features
    stage("head fitted")
    if config.finetune_epochs:
        distill = config.distill_weight > 0
        fine_tune_top(
            top, head, activations, labels, weights, config.finetune_epochs, config.batch_size, config.learning_rate,
            config.seed, imagenet_head=backbone.imagenet_head if distill else None, teacher=teacher,
            distill_weight=config.distill_weight,
        )
        stage("top %d blocks fine-tuned", config.top_blocks)
    return head, calibration, cleaning


def run_report(config: TrainConfig, photos: Photos, size: int, val_logits: np.ndarray, temperature: float) -> dict:
    """report.json without its label-noise part and its time: validation figures only."""
    y_val = photos.labels(photos.val)
    probs = softmax(val_logits / temperature, axis=1)
    split = {"val_fraction": config.val_fraction, "test_fraction": config.test_fraction, "seed": config.seed,
             "stratified_by": "breed and source",
             "near_duplicates": f"pHash within {config.max_hash_distance} bits, any breed: one kept"}
    counts = {"photos": photos.read, "after_dedup": photos.unique, "train": len(photos.train),
              "validation": len(photos.val), "test": len(photos.test)}
    return {
        "backbone": config.backbone,
        "input_size": size,
        "breeds": photos.breeds,
        "data": {"sources": [str(d) for d in config.data], **counts, "split": split},
        "validation": evaluate.per_source_report(probs, y_val, [s.source for s in photos.val], photos.breeds),
        "calibration": evaluate.calibration_report(val_logits, y_val, temperature),
    }


def write_run(config: TrainConfig, model: keras.Model, report: dict, photos: Photos, pixels: dict, probs: np.ndarray) -> None:
    """The run's files in config.out (`pixels`: val, test and calibration, uint8)."""
    out = config.out
    model.save(out / "model.keras")
    sides = {"val": photos.val, "test": photos.test}
    np.savez(
        out / "sets.npz",
        **{f"{side}_{what}": value for side, part in sides.items() for what, value in
           (("pixels", pixels[side]), ("labels", photos.labels(part)), ("sources", np.array([s.source for s in part])))},
        calibration_pixels=pixels["calibration"],
    )
    named = {"train": photos.train, "validation": photos.val, "test": photos.test}
    (out / "split.json").write_text(json.dumps({k: [[str(s.path), s.breed, s.source] for s in v] for k, v in named.items()}))
    (out / "labels.json").write_text(json.dumps(photos.breeds, indent=1))
    config.save(out)
    (out / "report.json").write_text(json.dumps(report, indent=1))
    evaluate.save_confusion_matrix(probs, photos.labels(photos.val), photos.breeds, out / "confusion.png")


def run(config: TrainConfig) -> dict:
    """The whole training job; returns the report it writes."""
    started = time.time()

    def stage(message: str, *values: object) -> None:
        log.info("[%.1f min] " + message, (time.time() - started) / 60, *values)

    config.out.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(config.seed)
    photos = read_photos(config)
    stage("%d photos, %d after de-duplication, %d breeds; train %d, validation %d, test %d", photos.read, photos.unique,
          len(photos.breeds), len(photos.train), len(photos.val), len(photos.test))
    backbone = build_backbone(config.backbone, config.weights, config.input_size)
    size = backbone.input_size
    x_val, x_test = load_pixels(photos.val, size), load_pixels(photos.test, size)
    head, calibration, cleaning = train_head(config, backbone, photos, x_val, stage)

    val_logits = predict(export_model(backbone, head, 1.0, config.flip_tta), x_val)["breed_logits"]
    temperature = evaluate.fit_temperature(val_logits, photos.labels(photos.val))
    model = export_model(backbone, head, temperature, config.flip_tta)
    report = run_report(config, photos, size, val_logits, temperature)
    report |= {"label_noise": cleaning, "settings": config.settings(), "seconds": round(time.time() - started, 1)}
    pixels = {"val": x_val, "test": x_test, "calibration": calibration}
    write_run(config, model, report, photos, pixels, softmax(val_logits / temperature, axis=1))
    summary = {k: {m: round(v[m], 4) for m in ("top1", "top5")} for k, v in report["validation"].items()}
    stage("done; validation: %s", json.dumps(summary))
    return report


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    """The command line as a TrainConfig (defaults: TrainConfig's)."""
    default = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.default is not dataclasses.MISSING}
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    arg = parser.add_argument
    arg("--data", nargs="+", type=Path, required=True,
        help="folder-per-breed roots (<root>/<Breed>/*.jpg) or path,breed CSV manifests")
    arg("--backbone", choices=BACKBONES, default=default["backbone"])
    arg("--weights", default="imagenet", help="xception only: 'imagenet', a local .h5, or 'none' (random, for tests)")
    arg("--input-size", type=int, default=None, help="xception only (default 299)")
    arg("--out", type=Path, required=True)
    arg("--cache", type=Path, default=default["cache"],
        help="kept between runs: photo hashes and the backbone's bottom activations (gigabytes; the log says how many)")
    arg("--val-fraction", type=float, default=default["val_fraction"])
    arg("--test-fraction", type=float, default=default["test_fraction"])
    arg("--seed", type=int, default=default["seed"])
    arg("--min-photos", type=int, default=default["min_photos"], help="breeds with fewer photos are left out")
    arg("--max-hash-distance", type=int, default=default["max_hash_distance"], help="pHash bits for a near-duplicate")
    arg("--views", type=int, default=default["views"], help="views of each training photo: the centre + random crops")
    arg("--views-per-source", nargs="*", default=[], metavar="SOURCE=N",
        help="views of the photos of one root, e.g. thumbs=1 (others: --views)")
    arg("--clean-labels", nargs="*", default=[], metavar="SOURCE",
        help="roots whose labels confident learning may flag (cleanlab, out-of-fold probe probabilities)")
    arg("--flagged-weight", type=float, default=default["flagged_weight"], help="weight multiplier of a flagged photo")
    arg("--c", type=float, default=default["c"], help="inverse L2 strength of the initial head")
    arg("--top-blocks", type=int, default=default["top_blocks"], help="top blocks fine-tuned (head conv counts as one)")
    arg("--finetune-epochs", type=int, default=default["finetune_epochs"])
    arg("--batch-size", type=int, default=default["batch_size"])
    arg("--learning-rate", type=float, default=default["learning_rate"])
    arg("--distill-weight", type=float, default=default["distill_weight"],
        help="weight of keeping the ImageNet answers (the cat score) while fine-tuning; 0 turns it off")
    arg("--source-weight", nargs="*", action="extend", default=[], metavar="SOURCE=WEIGHT",
        help="weigh photos by data root, e.g. petfinder=0.3 for noisy labels")  # make train FEEDBACK=...: the pairs add up
    arg("--flip-tta", action="store_true", help="the model also looks at the mirrored photo")
    arg("--calibration-photos", type=int, default=default["calibration_photos"],
        help="training photos kept for int8 calibration, evenly from every root")
    args = vars(parser.parse_args(argv))
    args["weights"] = None if args["weights"].lower() == "none" else args["weights"]
    try:
        return TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in args.items()})
    except ValueError as error:
        parser.error(str(error))


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    run(parse_args(argv))


if __name__ == "__main__":
    main()
