"""`confident` comes from the model card's threshold, on both sides of it, through every
way in: direct invoke, HTTP API v2 (JSON and raw body), REST v1, and the local server."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from catbreed.app import create_gateway
from catbreed.model import DEFAULT_MODEL_DIR, Classifier
from catbreed.settings import Settings
from catbreed_local.client import send

from ..helpers import answer, call_http, serving, v2_event


def model_with_confidence_threshold(folder: Path, threshold: float) -> Path:
    """A copy of the shipped model whose card sets the given confidence threshold."""
    shutil.copytree(DEFAULT_MODEL_DIR, folder)
    card = json.loads((folder / "model_card.json").read_text())
    card["thresholds"]["confidence"] = threshold
    (folder / "model_card.json").write_text(json.dumps(card))
    return folder


def every_way_in(gateway, photo: bytes) -> dict[str, dict]:
    payload = {"image": base64.b64encode(photo).decode()}
    answers = {shape: answer(gateway, shape, payload) for shape in ("direct", "v2", "v1")}
    status, _, answers["v2 raw"] = call_http(gateway, v2_event(body=photo, content_type="image/jpeg", base64_body=True))
    assert status == 200
    with serving(gateway.handle) as url:
        status, answers["local server"] = send(f"{url}/predict", photo, "image/jpeg")
    assert status == 200
    return answers


@pytest.fixture(scope="module")
def top_probability(classifier: Classifier, cat_jpeg: bytes) -> float:
    prediction = classifier.predict(cat_jpeg)
    assert classifier.is_cat(prediction)
    return float(np.max(prediction.probabilities))


@pytest.mark.parametrize("side", ["at the threshold", "just above it"])
def test_confident_follows_the_cards_threshold_through_every_way_in(
    side: str, top_probability: float, cat_jpeg: bytes, tmp_path: Path
) -> None:
    threshold = top_probability if side == "at the threshold" else float(np.nextafter(top_probability, 1.0))
    gateway = create_gateway(Settings(model_dir=model_with_confidence_threshold(tmp_path / "model", threshold)))
    assert gateway.service.classifier.confidence_threshold == threshold
    for way, body in every_way_in(gateway, cat_jpeg).items():
        assert body["confident"] is (side == "at the threshold"), way
        assert body["is_cat"] is True and len(body["predictions"]) == 5, way


def test_a_photo_that_is_not_a_cat_is_never_a_confident_call(coffee_jpeg: bytes, tmp_path: Path) -> None:
    gateway = create_gateway(Settings(model_dir=model_with_confidence_threshold(tmp_path / "model", 0.0)))
    body = answer(gateway, "direct", {"image": base64.b64encode(coffee_jpeg).decode()})
    assert (body["is_cat"], body["confident"]) == (False, False)
