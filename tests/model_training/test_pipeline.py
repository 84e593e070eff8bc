"""The training pipeline end to end on generated photos: train, convert, serve with LiteRT."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import convert_model
from catbreed.model import Classifier
from training import train
from training.backbones import build_backbone

from .conftest import BREEDS, draw_photo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny_run(tiny_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    flags = "--backbone efficientnet_lite0 --min-photos 5 --val-fraction 0.3 --views 2 --top-blocks 3"
    flags += " --finetune-epochs 2 --batch-size 8 --check-photos 9 --source-weight tiny=0.8 --flip-tta"
    train.run(train.parse_args(["--data", str(tiny_root), "--out", str(out), *flags.split()]))
    return out


def test_training_writes_model_report_and_confusion_matrix(tiny_run: Path) -> None:
    report = json.loads((tiny_run / "report.json").read_text())
    assert report["breeds"] == ["Blue Point", "Green Eyed", "Red Tabby"]
    assert report["data"]["after_dedup"] == 30
    assert report["validation"]["all"]["top1"] >= 0.8  # colours this distinct are easy
    assert set(report["validation"]) == {"all", "tiny"}
    assert report["calibration"]["temperature"] > 0
    assert 0 <= report["cat"]["validation_accepted"] <= 1
    assert (tiny_run / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    assert (tiny_run / "model.keras").stat().st_size > 1_000_000
    assert report["settings"]["flip_tta"] is True and report["settings"]["source_weight"] == ["tiny=0.8"]


def test_fine_tuning_leaves_the_cat_score_its_imagenet_meaning(tiny_run: Path) -> None:
    import keras
    from scipy.special import softmax

    import training.layers  # noqa: F401  (custom layers)
    from training.layers import CAT_CLASSES

    model = keras.saving.load_model(tiny_run / "model.keras")
    pixels = np.load(tiny_run / "validation_sample.npz")["pixels"][:3].astype(np.float32)
    original = build_backbone("efficientnet_lite0")
    logits = original.imagenet_head(original.features.predict(pixels, verbose=0)).numpy()
    expected = softmax(logits, axis=1)[:, list(CAT_CLASSES)].sum(axis=1)
    assert np.allclose(model.predict(pixels, verbose=0)["cat_score"][:, 0], expected, atol=1e-5)


def test_conversion_agrees_and_the_tflite_serves(tiny_run: Path, tmp_path: Path) -> None:
    convert_model.main(["--run", str(tiny_run), "--out", str(tmp_path), "--name", "tiny", "--version", "0.0.1"])
    card = json.loads((tmp_path / "model_card.json").read_text())
    assert card["metrics"]["tflite_agreement"]["same_top1"] == 1.0
    assert card["metrics"]["tflite_agreement"]["max_abs_diff"] <= 1e-4
    assert (tmp_path / "labels.txt").read_text().split("\n")[:3] == card["breeds"]
    assert "Model card: tiny 0.0.1" in (tmp_path / "MODEL_CARD.md").read_text()

    classifier = Classifier(tmp_path)
    assert classifier.input_size == 224
    correct = 0
    for b, folder in enumerate(BREEDS):
        photo = draw_photo(b, seed=99_000 + b)
        import io

        buffer = io.BytesIO()
        photo.save(buffer, "PNG")
        prediction = classifier.predict(buffer.getvalue())
        assert prediction.probabilities.sum() == pytest.approx(1.0, abs=1e-4)
        correct += classifier.top_k(prediction, 1)[0]["breed"] == folder.replace("_", " ")
    assert correct >= 2


def test_float16_conversion_is_smaller_and_still_agrees(tiny_run: Path, tmp_path: Path) -> None:
    convert_model.main(["--run", str(tiny_run), "--out", str(tmp_path), "--precision", "float16"])
    card = json.loads((tmp_path / "model_card.json").read_text())
    assert card["metrics"]["tflite_agreement"]["same_top1"] >= 0.95
    assert card["file_bytes"] < 0.6 * (tiny_run / "model.keras").stat().st_size  # half-size weights


def test_xception_path_builds_and_trains_a_step_without_weights() -> None:
    import keras

    backbone = build_backbone("xception", weights=None, input_size=71)
    assert backbone.features.output_shape == (None, 2048)
    head = keras.layers.Dense(3)
    pixels = np.random.default_rng(0).uniform(0, 255, (4, 71, 71, 3)).astype(np.float32)
    bottom, top = backbone.split(2)  # blocks 13 and 14 and the exit flow
    assert top.output_shape == (None, 2048) and len(top.layers) < len(backbone.features.layers)
    before = [w.copy() for w in top.get_weights()]
    labels = np.array([0, 1, 2, 0])
    train.fine_tune_top(
        top, head, bottom.predict(pixels, verbose=0), labels, np.ones(4), epochs=1, batch_size=4, learning_rate=1e-3, seed=0
    )
    assert any(not np.allclose(a, b) for a, b in zip(before, top.get_weights(), strict=True))
    model = train.export_model(backbone, head, temperature=1.5)
    out = model.predict(pixels, verbose=0)
    assert out["breeds"].shape == (4, 3)
    assert np.allclose(out["breeds"].sum(axis=1), 1, atol=1e-5)
    assert out["cat_score"].shape == (4, 1)


def test_xception_with_weights_needs_299_pixels() -> None:
    with pytest.raises(ValueError, match="299"):
        build_backbone("xception", weights="imagenet", input_size=128)
