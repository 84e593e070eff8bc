"""The recipe with the Oxford-IIIT Pet cats alone, end to end, on drawn pictures: `make data`
from an archive of the dataset's layout on 127.0.0.1, training, conversion (12 breeds ship),
and the promotion gate: it accepts the same model, refuses the model made worse (two breeds'
columns of the head swapped, converted into a real .tflite), and ships a better one."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from catbreed.model import Classifier
from training import convert, oxford_pets, promotion, train

from ..helpers import ROOT, running
from .helpers import ArchiveServer, draw_breed, published, tar_bytes

pytestmark = pytest.mark.slow

OXFORD = ("Abyssinian", "Bengal", "Birman", "Bombay", "British_Shorthair", "Egyptian_Mau")
OXFORD += ("Maine_Coon", "Persian", "Ragdoll", "Russian_Blue", "Siamese", "Sphynx")  # as the dataset's file names spell them
PHOTOS = 12  # a breed
FLAGS = "--backbone efficientnet_lite0 --min-photos 5 --val-fraction 0.2 --test-fraction 0.34 --views 2 --top-blocks 3"
FLAGS += " --finetune-epochs 2 --batch-size 8 --calibration-photos 12"


def jpeg(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def oxford_archives() -> tuple[bytes, bytes]:
    """images.tar.gz and annotations.tar.gz as the dataset lays them out: the 12 cat breeds
    (drawn) and two dog breeds, with list.txt's species column telling them apart."""
    files, rows = {}, ["#Image CLASS-ID SPECIES BREED ID"]
    for b, breed in enumerate(OXFORD):
        for i in range(1, PHOTOS + 1):
            files[f"images/{breed}_{i}.jpg"] = jpeg(draw_breed(b, 1000 * b + i))
            rows.append(f"{breed}_{i} {b + 1} 1 {b + 1}")
    for d, dog in enumerate(("beagle", "pug")):
        files[f"images/{dog}_1.jpg"] = jpeg(draw_breed(d, 77_000 + d))
        rows.append(f"{dog}_1 {20 + d} 2 {d + 1}")
    annotations = {"annotations/list.txt": ("\n".join(rows) + "\n").encode()}
    return tar_bytes(files, gzip=False), tar_bytes(annotations, gzip=True)


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`make data` against a server on 127.0.0.1: data/cats/oxford."""
    images, annotations = oxford_archives()
    home = tmp_path_factory.mktemp("clone")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ArchiveServer, "files", {"images.tar.gz": images, "annotations.tar.gz": annotations})
        patch.setattr(ArchiveServer, "seen", [])
        patch.setattr(oxford_pets, "ARCHIVES", (published("images.tar.gz", images), published("annotations.tar.gz", annotations)))
        with running(ThreadingHTTPServer(("127.0.0.1", 0), ArchiveServer)) as url:
            out = home / "data" / "cats" / "oxford"
            assert oxford_pets.main(["--out", str(out), "--downloads", str(home / "data" / "downloads"), "--base-url", url]) == 0
    yield out


@pytest.fixture(scope="module")
def run(data_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("runs") / "oxford"
    cache = tmp_path_factory.mktemp("cache")
    train.run(train.parse_args(["--data", str(data_root), "--out", str(out), "--cache", str(cache), *FLAGS.split()]))
    return out


@pytest.fixture(scope="module")
def candidate(run: Path) -> Path:
    """The run converted as make train converts it (float32, the breed rule), into <run>/model."""
    rules = convert.Rules(precision="float32", name="oxford-tiny", version="0.0.1", dogs=run / "no-dogs")
    convert.convert(run, run / "model", rules=rules, log=lambda _: None)
    return run / "model"


def best_tested(candidate: Path, count: int) -> list[str]:
    """The breeds of which the candidate names the most test photos right (swapping them
    costs the most answers)."""
    per_breed = json.loads((candidate / "model_card.json").read_text())["metrics"]["test"]["accuracy"]["all"]["per_breed"]
    return sorted(per_breed, key=lambda b: -per_breed[b]["photos"] * per_breed[b]["top1"])[:count]


@pytest.fixture(scope="module")
def worse(run: Path, candidate: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same run with the head's columns of two breeds swapped, converted into a .tflite
    (every breed kept: the breed rule would rightly leave the two swapped ones out)."""
    import keras

    import training.layers  # noqa: F401

    swapped = tmp_path_factory.mktemp("runs") / "swapped"
    shutil.copytree(run, swapped, ignore=shutil.ignore_patterns("model"))
    model = keras.saving.load_model(swapped / "model.keras")
    head = model.get_layer("breed_logits")
    kernel, bias = head.get_weights()
    labels = json.loads((swapped / "labels.json").read_text())
    a, b = (labels.index(breed) for breed in best_tested(candidate, 2))
    kernel[:, [a, b]], bias[[a, b]] = kernel[:, [b, a]], bias[[b, a]]
    head.set_weights([kernel, bias])
    model.save(swapped / "model.keras")
    rules = convert.Rules(
        precision="float32", name="oxford-tiny", version="0.0.2", dogs=run / "no-dogs", min_breed_top1=0.0, min_shipped_top1=0.0
    )
    convert.convert(swapped, swapped / "model", rules=rules, log=lambda _: None)
    return swapped / "model"


def copy_of(model: Path, where: Path) -> Path:
    shutil.copytree(model, where)
    return where


def promote(*args: object) -> subprocess.CompletedProcess:
    """scripts/promote.py as make train runs it."""
    command = [sys.executable, str(ROOT / "scripts" / "promote.py"), *map(str, args)]
    env = os.environ | {"TF_CPP_MIN_LOG_LEVEL": "2"}  # as the Makefile sets it
    return subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=600, check=False)


def said(stream: str) -> list[str]:
    """The lines the gate itself wrote on stderr (TensorFlow's start-up notes aside)."""
    assert "Traceback" not in stream
    return [line for line in stream.splitlines() if line.startswith("promote:")]


def test_oxford_alone_runs_end_to_end_and_ships_its_12_breeds(candidate: Path) -> None:
    card = json.loads((candidate / "model_card.json").read_text())
    assert card["breeds"] == sorted(name.replace("_", " ") for name in OXFORD)
    assert set(card["metrics"]["test"]["accuracy"]) == {"all", "oxford"}
    classifier = Classifier(candidate)
    named = [classifier.top_k(classifier.predict(jpeg(draw_breed(b, 99_000 + b))), 1)[0]["breed"] for b in range(12)]
    assert sum(n == o.replace("_", " ") for n, o in zip(named, OXFORD, strict=True)) >= 10  # new drawings


def test_the_gate_accepts_the_same_model(candidate: Path, run: Path, tmp_path: Path) -> None:
    found = promotion.judge(candidate, copy_of(candidate, tmp_path / "in-service"), run)
    assert [m.name for m in found] == ["top-1, test photos", "top-1, oxford (curated)", "confident and right, test photos"]
    assert all(m.only_in_service == m.only_candidate == 0 and m.p_worse == 1.0 for m in found)
    assert found[0].photos == len(json.loads((run / "split.json").read_text())["test"])
    assert promotion.refused(found) == []


def test_the_gate_refuses_a_head_with_two_breeds_swapped(worse: Path, candidate: Path, run: Path, tmp_path: Path) -> None:
    in_service = copy_of(candidate, tmp_path / "model")
    before = {p.name: p.read_bytes() for p in in_service.iterdir()}
    no_dogs, report = tmp_path / "no-dogs", tmp_path / "r.json"
    result = promote(worse, "--against", in_service, "--run", run, "--dogs", no_dogs, "--ship", "--report", report)
    assert result.returncode == 1, result.stderr
    assert "| top-1, test photos |" in result.stdout and "| top-1, oxford (curated) |" in result.stdout
    assert "REFUSED: worse beyond the noise on top-1, test photos" in result.stdout
    assert {p.name: p.read_bytes() for p in in_service.iterdir()} == before  # nothing shipped
    report = json.loads(report.read_text())
    assert not report["accepted"] and "top-1, oxford (curated)" in report["worse"]
    top1 = report["measures"][0]
    assert top1["only_in_service"] >= 6 and top1["only_candidate"] == 0 and top1["p_worse"] < report["bar"]


def test_the_gate_ships_a_better_model(worse: Path, candidate: Path, run: Path, tmp_path: Path) -> None:
    in_service = copy_of(worse, tmp_path / "model")
    result = promote(candidate, "--against", in_service, "--run", run, "--dogs", tmp_path / "no-dogs", "--ship")
    assert result.returncode == 0, result.stderr
    assert "ACCEPTED and shipped" in result.stdout and "| better |" in result.stdout
    assert all((in_service / a).read_bytes() == (candidate / a).read_bytes() for a in convert.ARTIFACTS)


def test_a_card_with_two_breed_names_swapped_is_refused(candidate: Path, run: Path, tmp_path: Path) -> None:
    """The same head under a card that names two of its columns the other way round: the gate
    judges answers by the breed they name, as owners read them, not by column."""
    relabelled = copy_of(candidate, tmp_path / "relabelled")
    card = json.loads((relabelled / "model_card.json").read_text())
    a, b = (card["breeds"].index(breed) for breed in best_tested(candidate, 2))
    card["breeds"][a], card["breeds"][b] = card["breeds"][b], card["breeds"][a]
    (relabelled / "model_card.json").write_text(json.dumps(card))
    assert "top-1, test photos" in [m.name for m in promotion.refused(promotion.judge(relabelled, candidate, run))]


def test_a_reviewed_feedback_export_is_one_more_measure(worse: Path, candidate: Path, run: Path, tmp_path: Path) -> None:
    export = tmp_path / "feedback"
    for b, breed in enumerate(OXFORD):
        (export / breed).mkdir(parents=True)
        for i in range(2):
            (export / breed / f"{i}.jpg").write_bytes(jpeg(draw_breed(b, 55_000 + 10 * b + i)))
    (export / "_not_a_breed" / "mix").mkdir(parents=True)
    (export / "_not_a_breed" / "mix" / "x.jpg").write_bytes(jpeg(draw_breed(0, 1)))
    (export / "manifest.csv").write_text("file,breed\n")
    found = {m.name: m for m in promotion.judge(candidate, worse, run, feedback=export)}
    feedback = found["top-1, reviewed feedback"]
    assert feedback.photos == 24 and feedback.only_in_service < feedback.only_candidate
    (export / promotion.NOT_REVIEWED).write_text("look first")
    result = promote(candidate, "--against", worse, "--run", run, "--feedback", export)
    assert result.returncode == 2 and result.stdout.count("\n") == 1  # the header line, then nothing judged
    (line,) = said(result.stderr)
    assert "not reviewed yet" in line


def test_the_gate_needs_the_runs_photos(candidate: Path, run: Path, tmp_path: Path) -> None:
    moved = tmp_path / "run"
    shutil.copytree(run, moved, ignore=shutil.ignore_patterns("model"))
    split = json.loads((moved / "split.json").read_text())
    split["test"][0][0] = str(tmp_path / "gone.jpg")
    (moved / "split.json").write_text(json.dumps(split))
    result = promote(candidate, "--against", candidate, "--run", moved)
    (line,) = said(result.stderr)
    assert result.returncode == 2 and "1 of the" in line and "gone.jpg" in line


def test_a_model_of_other_breeds_is_a_new_line_not_compared(candidate: Path, run: Path, tmp_path: Path) -> None:
    """A dog-breed set ships the same way: nothing in common with the cat model to compare."""
    dogs = copy_of(candidate, tmp_path / "dogs")
    card = json.loads((dogs / "model_card.json").read_text())
    card["breeds"] = [f"Dog breed {i}" for i in range(len(card["breeds"]))]
    (dogs / "model_card.json").write_text(json.dumps(card))
    in_service = copy_of(candidate, tmp_path / "model")
    result = promote(dogs, "--against", in_service, "--run", run, "--ship")
    assert result.returncode == 0 and "shares no breed with" in result.stdout
    assert json.loads((in_service / "model_card.json").read_text())["breeds"] == card["breeds"]
