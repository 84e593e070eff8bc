"""The training pipeline end to end on generated photos: train, convert, serve with LiteRT."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import convert_model
from catbreed.model import Classifier
from training import convert, finetune, measure, train
from training.agreement import FLOAT32_TOLERANCE, DisagreementError
from training.backbones import build_backbone
from training.config import TrainConfig
from training.export import export_model

from .helpers import BREEDS, draw_photo

pytestmark = pytest.mark.slow


def rules(precision: str, tmp_path: Path) -> convert.Rules:
    """The tests' conversion: the model named tiny 0.0.1, no dog photos."""
    return convert.Rules(precision=precision, name="tiny", version="0.0.1", dogs=tmp_path / "no-dogs")


@pytest.fixture(scope="module")
def tiny_run(tiny_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    flags = "--backbone efficientnet_lite0 --min-photos 5 --val-fraction 0.2 --test-fraction 0.2 --views 2 --top-blocks 3"
    flags += " --finetune-epochs 2 --batch-size 8 --calibration-photos 12 --source-weight tiny=0.8"
    cache = tmp_path_factory.mktemp("cache")
    train.run(train.parse_args(["--data", str(tiny_root), "--out", str(out), "--cache", str(cache), *flags.split()]))
    return out


def test_training_writes_model_report_split_and_sets(tiny_run: Path) -> None:
    report = json.loads((tiny_run / "report.json").read_text())
    assert report["breeds"] == ["Blue Point", "Green Eyed", "Red Tabby"]
    assert (report["data"]["after_dedup"], report["data"]["train"], report["data"]["validation"], report["data"]["test"]) == (
        30,
        18,
        6,
        6,
    )
    assert report["validation"]["all"]["top1"] >= 0.8  # colours this distinct are easy
    assert set(report["validation"]) == {"all", "tiny"}
    assert "test" not in json.dumps(report["validation"])  # validation figures only
    assert (tiny_run / "confusion.png").read_bytes()[:4] == b"\x89PNG"
    assert report["settings"]["source_weight"] == ["tiny=0.8"]
    config = TrainConfig.load(tiny_run)  # saved with the run, read back typed
    assert config.source_weight == ("tiny=0.8",) and config.top_blocks == 3 and config.settings() == report["settings"]
    split = json.loads((tiny_run / "split.json").read_text())
    sides = [{path for path, _, _ in split[side]} for side in ("train", "validation", "test")]
    assert [len(side) for side in sides] == [18, 6, 6] and len(set.union(*sides)) == 30
    sets = np.load(tiny_run / "sets.npz")
    assert sets["test_pixels"].shape == (6, 224, 224, 3) and sets["calibration_pixels"].shape == (12, 224, 224, 3)
    assert sorted(sets["test_labels"].tolist()) == [0, 0, 1, 1, 2, 2]


def test_int8_conversion_agrees_writes_the_card_and_serves(
    tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The drawn pictures are no cats, and with 6 validation photos the fitted cat threshold
    sits on one of them, so is_cat and confident would flip on rounding: here every picture
    counts as a cat and nothing is confident (those clauses: test_agreement.py)."""
    monkeypatch.setattr(measure, "fit_thresholds", lambda *args: {"cat": 0.0, "confidence": 0.999})
    card = convert.convert(tiny_run, tmp_path, rules=rules("int8", tmp_path), log=lambda _: None)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(convert.ARTIFACTS)
    assert card["precision"] == "int8"
    on_test = card["metrics"]["agreement"]["test"]
    assert on_test["passed"] and on_test["photos"] == 6
    assert {"top1_gap_all", "top5_gap_all", "same_confident", "same_is_cat"} <= set(on_test["clauses"])
    assert (tmp_path / "model_card.json").read_text() == json.dumps(card, indent=1) + "\n"
    markdown = (tmp_path / "MODEL_CARD.md").read_text()
    assert "Model card: tiny 0.0.1" in markdown and "| same_is_cat | 0.995 |" in markdown
    assert set(card["metrics"]["test"]["accuracy"]) == {"all", "tiny"}

    classifier = Classifier(tmp_path)
    assert classifier.input_size == 224
    assert (
        (classifier.cat_threshold, classifier.confidence_threshold)
        == (0.0, 0.999)
        == (
            card["thresholds"]["cat"],
            card["thresholds"]["confidence"],
        )
    )
    for b, folder in enumerate(BREEDS):
        buffer = io.BytesIO()
        draw_photo(b, seed=99_000 + b).save(buffer, "PNG")
        prediction = classifier.predict(buffer.getvalue())
        assert prediction.probabilities.sum() == pytest.approx(1.0, abs=1e-6)
        assert classifier.top_k(prediction, 1)[0]["breed"] == folder.replace("_", " ")


def test_thresholds_are_fitted_on_validation_never_on_test(tiny_run: Path, tmp_path: Path) -> None:
    """With test photos unlike the validation ones (darkened), thresholds fitted on test would
    differ; the card's are those of the validation photos through the shipped file."""
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    sets = dict(np.load(run / "sets.npz"))
    sets["test_pixels"] = (sets["test_pixels"] // 4).astype(np.uint8)
    np.savez(run / "sets.npz", **sets)
    card = convert.convert(run, tmp_path / "model", rules=rules("float32", tmp_path), log=lambda _: None)
    classifier = Classifier(tmp_path / "model")
    on = {side: measure.served_answers(classifier, sets[f"{side}_pixels"]) for side in ("val", "test")}
    no_dogs = np.array([])
    fitted = {side: measure.fit_thresholds(on[side], sets[f"{side}_labels"], sets[f"{side}_sources"], no_dogs) for side in on}
    assert fitted["val"] != fitted["test"]
    assert {k: card["thresholds"][k] for k in ("cat", "confidence")} == fitted["val"]


def test_a_conversion_that_disagrees_fails_and_writes_nothing(tiny_run: Path, tmp_path: Path) -> None:
    """Calibrated on black pictures only, int8 clips every real photo's activations."""
    broken = tmp_path / "run"
    shutil.copytree(tiny_run, broken)
    sets = dict(np.load(broken / "sets.npz"))
    sets["calibration_pixels"] = np.zeros_like(sets["calibration_pixels"])
    np.savez(broken / "sets.npz", **sets)
    out = tmp_path / "model"
    out.mkdir()
    (out / "catbreed.tflite").write_bytes(b"the model that was there")
    with pytest.raises(DisagreementError, match="does not answer as the Keras model does"):
        only_int8 = convert.Rules(precision="int8", dogs=tmp_path / "no-dogs", float_layer_steps=(0,))
        convert.convert(broken, out, rules=only_int8, log=lambda _: None)
    assert [p.name for p in out.iterdir()] == ["catbreed.tflite"]
    assert (out / "catbreed.tflite").read_bytes() == b"the model that was there"


def test_the_cli_turns_a_disagreement_into_one_line_and_exit_code_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, tmp_path: Path
) -> None:
    def disagree(*args: object, **kwargs: object) -> dict:
        raise DisagreementError("the int8 .tflite does not answer as the Keras model does")

    monkeypatch.setattr(convert_model, "convert", disagree)
    assert convert_model.main(["--run", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not answer" in err and "Traceback" not in err


def test_the_cli_hands_each_flag_to_its_own_rule(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    asked = {}

    def record(run: Path, out: Path, *, rules: convert.Rules) -> dict:
        asked.update(run=run, out=out, rules=rules)
        raise DisagreementError("recorded")

    monkeypatch.setattr(convert_model, "convert", record)
    flags = "--precision int8 --min-breed-top1 0.41 --min-shipped-top1 0.21 --max-curated-cost 0.006 --name n --version 9"
    convert_model.main(["--run", str(tmp_path), "--out", str(tmp_path / "m"), "--dogs", str(tmp_path / "d"), *flags.split()])
    assert asked["rules"] == convert.Rules(
        precision="int8", min_breed_top1=0.41, min_shipped_top1=0.21, max_curated_cost=0.006, dogs=tmp_path / "d", name="n",
        version="9",
    )  # fmt: skip
    assert (asked["run"], asked["out"]) == (tmp_path, tmp_path / "m")


def test_float32_conversion_matches_the_keras_model_exactly(tiny_run: Path, tmp_path: Path) -> None:
    card = convert.convert(tiny_run, tmp_path, rules=rules("float32", tmp_path), log=lambda _: None)
    on_test = card["metrics"]["agreement"]["test"]
    assert on_test["same_top1"] == 1.0 and on_test["clauses"]["max_abs_diff"]["value"] <= FLOAT32_TOLERANCE


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
    finetune.fine_tune_top(
        top, head, bottom.predict(pixels, verbose=0), labels, np.ones(4), epochs=1, batch_size=4, learning_rate=1e-3, seed=0
    )
    assert any(not np.allclose(a, b) for a, b in zip(before, top.get_weights(), strict=True))
    model = export_model(backbone, head, temperature=1.5)
    out = model.predict(pixels, verbose=0)
    features = backbone.features.predict(pixels, verbose=0)
    assert np.allclose(out["breed_logits"], head(features).numpy() / 1.5, atol=1e-4)
    assert out["imagenet_logits"].shape == (4, 1000)


def test_xception_with_weights_needs_299_pixels() -> None:
    with pytest.raises(ValueError, match="299"):
        build_backbone("xception", weights="imagenet", input_size=128)


def distilled_gap(distill_weight: float, pixels: np.ndarray, labels: np.ndarray) -> float:
    """Mean KL divergence of the ImageNet answers after an aggressive fine-tune from before it."""
    import keras

    backbone = build_backbone("efficientnet_lite0")
    bottom, top = backbone.split(2)
    activations = bottom.predict(pixels, verbose=0)
    _, teacher = finetune.top_outputs(top, backbone.imagenet_head, activations)
    head = keras.layers.Dense(3)
    finetune.fine_tune_top(
        top,
        head,
        activations,
        labels,
        np.ones(len(labels)),
        epochs=3,
        batch_size=8,
        learning_rate=3e-3,
        seed=0,
        imagenet_head=backbone.imagenet_head,
        teacher=teacher,
        distill_weight=distill_weight,
    )
    _, student = finetune.top_outputs(top, backbone.imagenet_head, activations)
    p, q = teacher.astype(np.float64) + 1e-9, student.astype(np.float64) + 1e-9
    return float(np.mean(np.sum(p * np.log(p / q), axis=1)))


def test_distillation_keeps_the_imagenet_answers_the_cat_score_needs() -> None:
    from catbreed.preprocessing import to_model_input

    pixels = np.stack([to_model_input(draw_photo(i % 3, 500 + i), 224) for i in range(24)])
    labels = np.arange(24) % 3
    assert distilled_gap(5.0, pixels, labels) < 0.5 * distilled_gap(0.0, pixels, labels)


def test_a_breed_not_learned_on_validation_is_left_out_and_counted_as_unknown(tiny_run: Path, tmp_path: Path) -> None:
    import keras

    import training.layers  # noqa: F401

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    model = keras.saving.load_model(run / "model.keras")
    head = model.get_layer("breed_logits")
    kernel, bias = head.get_weights()
    green = json.loads((run / "labels.json").read_text()).index("Green Eyed")
    bias[green] = -1e3  # as if it had not been learned: never the top answer
    head.set_weights([kernel, bias])
    model.save(run / "model.keras")
    card = convert.convert(run, tmp_path / "model", rules=rules("float32", tmp_path), log=lambda _: None)
    assert card["breeds"] == ["Blue Point", "Red Tabby"]
    assert list(card["left_out"]["breeds"]) == ["Green Eyed"]
    assert card["left_out"]["breeds"]["Green Eyed"]["top1"] == 0.0
    assert card["metrics"]["test"]["left_out_breeds"]["photos"] == 2
    assert card["metrics"]["test"]["accuracy"]["all"]["photos"] == 4
    classifier = Classifier(tmp_path / "model")
    buffer = io.BytesIO()
    draw_photo(0, seed=99_000).save(buffer, "PNG")
    prediction = classifier.predict(buffer.getvalue())
    assert prediction.probabilities.shape == (2,)
    assert classifier.top_k(prediction, 1)[0]["breed"] == "Red Tabby"
