"""The shipped model's answers for the fixture photos, pinned (tests/fixtures/golden.json,
written by catbreed_local/update_golden.py when a model ships): a change anywhere between the
bytes and the answer (decoding, resizing, cropping, the model, the thresholds) shows here."""

from __future__ import annotations

import json

import numpy as np
import pytest

from catbreed.model import Prediction

from ..helpers import FIXTURES, answer, b64

GOLDEN = json.loads((FIXTURES / "golden.json").read_text())


def test_the_golden_answers_are_for_the_shipped_model(classifier) -> None:
    model = {k: classifier.info[k] for k in ("name", "version")}
    assert GOLDEN["model"] == model, "a new model: run python -m catbreed_local.update_golden and review the diff"
    assert sorted(GOLDEN["photos"]) == sorted(path.name for path in FIXTURES.glob("*.jpg"))


@pytest.mark.parametrize("photo", sorted(GOLDEN["photos"]))
def test_each_fixture_gets_its_golden_answer(gateway, photo: str) -> None:
    expected = GOLDEN["photos"][photo]
    body = answer(gateway, "direct", {"image": b64((FIXTURES / photo).read_bytes()), "top_k": 5})
    assert [p["breed"] for p in body["predictions"]] == [breed for breed, _ in expected["top5"]]
    assert [p["probability"] for p in body["predictions"]] == pytest.approx([p for _, p in expected["top5"]], abs=0.0015)
    assert (body["is_cat"], body["confident"]) == (expected["is_cat"], expected["confident"])
    if expected["focus"] is None:
        assert body["focus"] is None
    else:  # the box's edges sit on a 9 x 9 grid over the photo; a rounding may move one by a pixel
        assert body["focus"]["box"] == pytest.approx(expected["focus"]["box"], abs=1)


def test_a_cat_score_exactly_at_the_threshold_is_a_cat(classifier) -> None:
    probabilities = np.full(len(classifier.breeds), 1 / len(classifier.breeds))
    at = classifier.cat_threshold
    assert classifier.is_cat(Prediction(probabilities, at)) is True
    assert classifier.is_cat(Prediction(probabilities, float(np.nextafter(at, 0)))) is False


def test_a_top_probability_exactly_at_the_confidence_threshold_is_confident(classifier) -> None:
    at = classifier.confidence_threshold
    probabilities = np.full(len(classifier.breeds), (1 - at) / (len(classifier.breeds) - 1))
    probabilities[0] = at
    cat = classifier.cat_threshold
    assert classifier.is_confident(Prediction(probabilities, cat)) is True
    below = probabilities.copy()
    below[0] = np.nextafter(at, 0)
    assert classifier.is_confident(Prediction(below, cat)) is False
    assert classifier.is_confident(Prediction(probabilities, float(np.nextafter(cat, 0)))) is False  # not a cat
