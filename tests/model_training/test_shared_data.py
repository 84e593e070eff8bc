"""Optional checks over ../shared/data/cats (skipped cleanly where it is absent): the
readers see the real layout, and the shipped model's test figures in its model card are
reproduced by the shipped .tflite on the same held-out photos, split again from scratch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from catbreed.model import DEFAULT_MODEL_DIR, Classifier
from training import data

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "cats"
pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(not (SHARED / "oxford").is_dir(), reason="../shared/data/cats is absent"),
]


def test_the_readers_see_every_breed_folder() -> None:
    roots = {root: data.read_folder_root(SHARED / root) for root in ("oxford", "web", "petfinder", "gallery", "thumbs")}
    assert {root: len({s.breed for s in samples}) for root, samples in roots.items()} == {
        "oxford": 12,
        "web": 6,
        "petfinder": 33,
        "gallery": 4,
        "thumbs": 47,
    }
    assert len({s.breed for samples in roots.values() for s in samples}) == 48


def test_the_shipped_model_cards_test_figures_are_reproduced() -> None:
    card = json.loads((DEFAULT_MODEL_DIR / "model_card.json").read_text())
    split = card["data"]["split"]
    sources = [SHARED / Path(s).name for s in card["data"]["sources"]]
    unique = data.drop_near_duplicates(data.read_sources(sources), split.get("max_hash_distance", 4))
    trained = set(card["breeds"]) | set(card["left_out"]["breeds"])  # split as in training, then what ships
    kept = [s for s in unique if s.breed in trained]
    _, _, test = data.split(kept, split["val_fraction"], split["test_fraction"], split["seed"])
    assert len(test) == card["data"]["test"]

    classifier = Classifier(DEFAULT_MODEL_DIR, num_threads=2)
    oxford = [s for s in test if s.source == "oxford" and s.breed in card["breeds"]]
    hits = [classifier.top_k(classifier.predict(s.path.read_bytes()), 1)[0]["breed"] == s.breed for s in oxford]
    assert float(np.mean(hits)) == pytest.approx(card["metrics"]["test"]["accuracy"]["oxford"]["top1"], abs=0.01)
