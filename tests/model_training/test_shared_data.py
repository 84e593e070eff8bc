"""Optional checks over ../shared/data/cats (skipped cleanly where it is absent): the
readers see the real layout, and the shipped model's validation metrics in its model card
are reproduced by the shipped .tflite on the same held-out photos."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from catbreed.model import DEFAULT_MODEL_DIR, Classifier
from training import data
from training.train import choose_breeds

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "cats"
pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(not (SHARED / "oxford").is_dir(), reason="../shared/data/cats is absent"),
]


def test_the_readers_see_every_breed_folder() -> None:
    oxford = data.read_folder_root(SHARED / "oxford")
    web = data.read_folder_root(SHARED / "web")
    assert len({s.breed for s in oxford}) == 12 and len({s.breed for s in web}) == 6
    assert "British Shorthair" in {s.breed for s in oxford}
    assert len(oxford) > 1700 and len(web) > 3000


def test_the_shipped_model_card_metrics_are_reproduced() -> None:
    card = json.loads((DEFAULT_MODEL_DIR / "model_card.json").read_text())
    settings = card["data"]["split"]
    sources = [SHARED / Path(s).name for s in card["data"]["sources"]]
    unique = data.drop_near_duplicates(data.read_sources(sources))
    breeds = choose_breeds(unique, 1)
    kept = [s for s in unique if s.breed in card["breeds"]]
    assert set(card["breeds"]) <= set(breeds)
    _, val = data.split(kept, settings["val_fraction"], settings["seed"])
    assert len(val) == card["data"]["validation"]

    classifier = Classifier(DEFAULT_MODEL_DIR)
    oxford = [s for s in val if s.source == "oxford"]
    hits = [classifier.top_k(classifier.predict(s.path.read_bytes()), 1)[0]["breed"] == s.breed for s in oxford]
    expected = card["metrics"]["validation"]["oxford"]["top1"]
    assert abs(float(np.mean(hits)) - expected) <= 0.01
