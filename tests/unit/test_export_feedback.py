"""catbreed_local/feedback_export.py: kept photos into <out>/<Breed>/ with a manifest and a
NOT_REVIEWED marker, in the layout the training reader takes as one more root, where only the
breed folders count; non-breed labels stay out of training's reach; --since filters by day."""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from catbreed.feedback import FeedbackDesk, FeedbackRequest
from catbreed.feedback_store import FolderStore
from catbreed_local.feedback_export import MARKER, export, main

ANSWER = {
    "model": {"name": "catbreed-test", "version": "1.0"},
    "predictions": [{"breed": "British Shorthair", "probability": 0.7}],
}


def keep(store: FolderStore, photo: bytes, verdict: str, label: str | None = None, text: str | None = None, day: int = 2) -> str:
    desk = FeedbackDesk(store, clock=lambda: datetime(2026, 11, day, 12, tzinfo=UTC))
    return desk.keep(FeedbackRequest(ANSWER, verdict, label, text, True, "x", None), photo)["id"]


@pytest.fixture()
def store(tmp_path: Path) -> FolderStore:
    return FolderStore(tmp_path / "feedback-local")


def test_each_photo_goes_to_its_breed_and_non_breeds_stay_out_of_training(
    store: FolderStore, tmp_path: Path, cat_jpeg: bytes
) -> None:
    korat = keep(store, cat_jpeg, "wrong", "Korat")
    right = keep(store, cat_jpeg, "right")
    mix = keep(store, cat_jpeg, "wrong", "mix")
    other = keep(store, cat_jpeg, "wrong", "other", "Thai")
    out = tmp_path / "feedback"
    assert export(store, out) == 4
    assert (out / "Korat" / f"{korat}.jpg").read_bytes() == cat_jpeg
    assert (out / "British_Shorthair" / f"{right}.jpg").is_file()
    assert (out / "_not_a_breed" / "mix" / f"{mix}.jpg").is_file()
    assert (out / "_not_a_breed" / "other" / f"{other}.jpg").is_file()
    assert "NOT reviewed" in (out / MARKER).read_text()
    rows = {row["id"]: row for row in csv.DictReader((out / "manifest.csv").open(encoding="utf-8"))}
    assert rows[korat]["file"] == f"Korat/{korat}.jpg" and rows[korat]["breed"] == "Korat"
    assert (rows[korat]["verdict"], rows[korat]["label"], rows[korat]["answered"]) == ("wrong", "Korat", "British Shorthair")
    assert (rows[other]["breed"], rows[other]["label_text"]) == ("", "Thai")
    pytest.importorskip("sklearn")  # training's reader, with the dev stack
    from training.data import read_folder_root

    samples = read_folder_root(out)  # what `make train FEEDBACK=out` reads
    assert sorted((s.breed, s.source, s.path.stem) for s in samples) == [
        ("British Shorthair", "feedback", right),
        ("Korat", "feedback", korat),
    ]


def test_since_keeps_only_the_newer_days(store: FolderStore, tmp_path: Path, cat_jpeg: bytes) -> None:
    keep(store, cat_jpeg, "wrong", "Korat", day=1)
    newer = keep(store, cat_jpeg, "wrong", "Korat", day=20)
    main([str(tmp_path / "out"), "--from", str(store.root), "--since", "2026-11-10"])
    assert [p.stem for p in (tmp_path / "out" / "Korat").iterdir()] == [newer]


def test_a_withdrawn_photo_is_not_exported_and_a_used_folder_is_refused(
    store: FolderStore, tmp_path: Path, cat_jpeg: bytes
) -> None:
    desk = FeedbackDesk(store)
    receipt = desk.keep(FeedbackRequest(ANSWER, "wrong", "Korat", None, True, "x", None), cat_jpeg)
    desk.withdraw(receipt["id"], receipt["token"])
    assert export(store, tmp_path / "out") == 0
    with pytest.raises(SystemExit, match="not empty"):
        export(store, tmp_path / "out")
