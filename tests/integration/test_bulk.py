"""bulk.py on a folder: real photos classified like POST /predict would, a damaged file as an
error row, a resumed run that only adds what is missing, and a Python or a model that cannot
run as one line (no traceback, no CSV)."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import bulk
from catbreed_local.bulk_local import run_local
from catbreed_local.bulk_rows import COLUMNS, row_for

from ..helpers import FIXTURES, ROOT, b64, call

PHOTOS = ["cat_chelsea.jpg", "coffee.jpg", "rocket.jpg"]


def read_rows(out: Path) -> list[dict]:
    with out.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def expected_row(gateway: Any, path: str, photo: bytes) -> dict:
    """The CSV row POST /predict's answer makes (the HTTP API, payload v2)."""
    status, answer = call(gateway, "v2", {"image": b64(photo), "top_k": 5})
    assert status == 200
    return {k: str(v) for k, v in row_for(path, answer).items()}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    photos = tmp_path / "photos"
    (photos / "litter").mkdir(parents=True)
    for name in PHOTOS:
        shutil.copy(FIXTURES / name, photos / name)
    shutil.copy(FIXTURES / "cat_chelsea.jpg", photos / "litter" / "chelsea-again.jpg")
    (photos / "damaged.jpg").write_bytes((FIXTURES / "cat_chelsea.jpg").read_bytes()[:1500])
    (photos / "notes.txt").write_text("feed at six\n")
    (photos / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    return photos


def test_a_folder_gets_the_answers_of_predict_and_error_rows(gateway: Any, folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    assert bulk.main([str(folder), "--out", str(out), "--workers", "2"]) == 0
    rows = {row["path"]: row for row in read_rows(out)}
    assert list(read_rows(out)[0]) == COLUMNS
    assert set(rows) == {str(folder / n) for n in [*PHOTOS, "litter/chelsea-again.jpg", "damaged.jpg", "notes.txt"]}
    for name in [*PHOTOS, "litter/chelsea-again.jpg"]:
        path = str(folder / name)
        assert rows[path] == expected_row(gateway, path, (folder / name).read_bytes())
        assert rows[path]["error"] == ""
    assert rows[str(folder / "cat_chelsea.jpg")]["is_cat"] == "True"
    assert rows[str(folder / "coffee.jpg")]["is_cat"] == "False"
    for name in ("damaged.jpg", "notes.txt"):
        row = rows[str(folder / name)]
        assert row["error"].startswith("unsupported_image: ") and row["breed_1"] == "" and row["is_cat"] == ""


def test_a_file_that_cannot_be_read_is_a_row_with_a_code_of_the_error_table(classifier: Any, tmp_path: Path, monkeypatch) -> None:
    from catbreed.errors import STATUS_OF_CODE
    from catbreed.service import Service
    from catbreed_local import bulk_local

    monkeypatch.setattr(bulk_local, "_service", Service(classifier))
    row = bulk_local.classify_file(str(tmp_path / "gone.jpg"))  # listed, then deleted before its turn
    code, _, message = row["error"].partition(": ")
    assert code == "photo_not_found" and code in STATUS_OF_CODE
    assert "No such file" in message and row["breed_1"] == ""


def test_a_second_run_adds_only_the_missing_rows(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    assert run_local(folder, out, workers=2).rows == 6
    first = read_rows(out)
    with out.open("w", newline="", encoding="utf-8") as handle:  # as if the run had died before its last row
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(first[:-1])
    shutil.copy(FIXTURES / "rocket.jpg", folder / "litter" / "rocket-2.jpg")
    assert run_local(folder, out, workers=2).rows == 2
    again = read_rows(out)
    assert again[:-2] == first[:-1]
    assert {r["path"] for r in again[-2:]} == {first[-1]["path"], str(folder / "litter" / "rocket-2.jpg")}
    assert len({r["path"] for r in again}) == len(again) == 7
    assert run_local(folder, out, workers=2).rows == 0


def test_an_output_that_is_not_ours_is_left_alone(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "other.csv"
    out.write_text("name,score\nx,1\n")
    assert bulk.main([str(folder), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (
        f"bulk.py: {out} exists but is not a bulk.py CSV (its columns differ); choose another --out\n"
    )
    assert out.read_text() == "name,score\nx,1\n"


def run_bulk(*args: str, python_code: str = "") -> subprocess.CompletedProcess:
    """bulk.py as a person runs it, in a fresh process; `python_code` runs first (to take a module away)."""
    script = f"{python_code}\nimport runpy, sys\nsys.argv = ['bulk.py', *{list(args)!r}]\n"
    script += "runpy.run_path('bulk.py', run_name='__main__')"
    return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_a_python_without_the_runtime_gets_one_line_that_names_the_module_and_the_venv(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    done = run_bulk(str(folder), "--out", str(out), python_code="import sys; sys.modules['ai_edge_litert'] = None")
    assert done.returncode == 2
    (line,) = done.stderr.splitlines()
    assert line.startswith("bulk.py: ai_edge_litert is not installed"), line
    assert "make run" in line or "scripts/setup.sh run" in line
    assert not out.exists()  # no header-only CSV


def test_a_worker_that_cannot_load_the_model_ends_the_run_in_one_line(folder: Path, tmp_path: Path) -> None:
    broken = tmp_path / "model"
    broken.mkdir()
    shutil.copy(ROOT / "model" / "model_card.json", broken / "model_card.json")
    (broken / "catbreed.tflite").write_bytes(b"not a model")
    done = run_bulk(str(folder), "--out", str(tmp_path / "results.csv"), "--workers", "2", "--model-dir", str(broken))
    assert done.returncode == 2
    noise = ("INFO:", "classifying")  # TFLite's delegate line, the progress bar
    lines = [line for line in done.stderr.splitlines() if line.strip() and not any(n in line for n in noise)]
    assert len(lines) == 1, done.stderr
    line = lines[0]
    assert line.startswith("bulk.py: a worker could not load the model: "), done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_folder_or_model_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert bulk.main([str(tmp_path / "nowhere"), "--out", str(tmp_path / "r.csv")]) == 2
    assert capsys.readouterr().err == f"bulk.py: {tmp_path / 'nowhere'} is not a folder\n"
    assert bulk.main([str(tmp_path), "--out", str(tmp_path / "r.csv"), "--model-dir", str(tmp_path)]) == 2
    assert "no model in" in capsys.readouterr().err


@pytest.mark.parametrize("hidden_only", [False, True])
def test_a_folder_with_nothing_to_classify_is_one_line_and_no_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture, hidden_only: bool
) -> None:
    empty = tmp_path / "photos"
    empty.mkdir()
    if hidden_only:
        (empty / ".DS_Store").write_bytes(b"\0")
    out = tmp_path / "r.csv"
    assert bulk.main([str(empty), "--out", str(out)]) == 2
    assert capsys.readouterr().err == f"bulk.py: {empty} holds no files to classify (hidden ones are skipped)\n"
    assert not out.exists()


def test_a_link_to_nothing_and_a_fifo_are_rows_of_photo_not_found(tmp_path: Path) -> None:
    """The README promises a row for every file it cannot read; a FIFO is never opened (the
    run would wait for a writer forever)."""
    photos = tmp_path / "photos"
    photos.mkdir()
    shutil.copy(FIXTURES / "cat_chelsea.jpg", photos / "cat.jpg")
    (photos / "moved.jpg").symlink_to(tmp_path / "elsewhere.jpg")
    os.mkfifo(photos / "pipe.jpg")
    out = tmp_path / "results.csv"
    done = run_bulk(str(photos), "--out", str(out), "--workers", "1")
    assert done.returncode == 0, done.stderr
    rows = {Path(row["path"]).name: row for row in read_rows(out)}
    assert set(rows) == {"cat.jpg", "moved.jpg", "pipe.jpg"}
    assert rows["cat.jpg"]["error"] == ""
    assert rows["moved.jpg"]["error"] == "photo_not_found: The file cannot be read: it is a link to nothing."
    assert rows["pipe.jpg"]["error"].startswith("photo_not_found: The file cannot be read: it is not a regular file")


def test_the_end_of_a_run_says_how_many_were_answered_were_not_cats_and_failed(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    done = run_bulk(str(folder), "--out", str(out), "--workers", "2")
    rows = read_rows(out)
    answered = [row for row in rows if not row["error"]]
    not_cats = sum(row["is_cat"] == "False" for row in answered)
    assert (len(rows), len(answered), not_cats) == (6, 4, 2)  # coffee.jpg, rocket.jpg
    assert done.stderr.splitlines()[-1] == f"6 new rows in {out}: 4 answered (2 not cats), 2 failed (see the error column)"
    again = run_bulk(str(folder), "--out", str(out), "--workers", "2")
    assert again.stderr.splitlines()[-1] == f"nothing new: every file of {folder} has its row in {out} already"


def test_the_workers_keep_litert_s_notice_to_themselves(folder: Path, tmp_path: Path) -> None:
    """LiteRT writes "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." as each worker
    loads the model; a bulk run shows its progress and its last line, not that."""
    done = run_bulk(str(folder), "--out", str(tmp_path / "results.csv"), "--workers", "2")
    assert done.returncode == 0
    assert "XNNPACK" not in done.stderr and "INFO:" not in done.stderr
