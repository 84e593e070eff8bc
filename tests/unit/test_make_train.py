"""`make train`'s data roots and steps, read with `make -n` (nothing runs) in a copy of the
Makefile: DATA defaults to the folders of data/cats (after `make data`), the shipped recipe's
roots first in its order; any folders or manifests can be given; without data, one line;
and the run ends with the promotion gate."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ..helpers import ROOT, outside_make


@pytest.fixture()
def clone(tmp_path: Path) -> Path:
    """A folder with the Makefile and nothing beside it (no ../shared)."""
    home = tmp_path / "clone" / "catbreed"
    home.mkdir(parents=True)
    shutil.copy(ROOT / "Makefile", home)
    return home


def dry_run(home: Path, *variables: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "-n", "train", *variables], cwd=home, capture_output=True, text=True, check=False, env=outside_make()
    )


def training_command(result: subprocess.CompletedProcess) -> str:
    (line,) = [line for line in result.stdout.splitlines() if "-m training.train" in line]
    return line


def test_without_data_make_train_says_what_to_do_in_one_line(clone: Path) -> None:
    result = dry_run(clone)
    assert result.returncode != 0 and "-m training.train" not in result.stdout
    assert result.stderr.count("\n") == 1 and "no training data: run `make data`" in result.stderr


def test_data_defaults_to_the_folders_of_data_cats_in_the_recipes_order(clone: Path) -> None:
    for root in ("thumbs", "my_cats", "oxford", "web"):
        (clone / "data" / "cats" / root).mkdir(parents=True)
    (clone / "data" / "cats" / "README.txt").write_text("not a root")
    command = training_command(dry_run(clone))
    assert " --data data/cats/oxford data/cats/web data/cats/thumbs data/cats/my_cats --" in command


def test_any_folders_and_manifests_can_be_given(clone: Path) -> None:
    command = training_command(dry_run(clone, "DATA=/photos/dogs labels.csv"))
    assert " --data /photos/dogs labels.csv --" in command


def test_the_run_converts_a_candidate_and_ends_with_the_gate_against_the_model_in_service(clone: Path) -> None:
    lines = [line.strip() for line in dry_run(clone, "DATA=mine", "RUN=runs/x").stdout.splitlines()]
    steps = [line for line in lines if "-m training.train" in line or "convert_model.py" in line or "promote.py" in line]
    assert steps[1] == ".venv/bin/python convert_model.py --run runs/x --out runs/x/model"
    assert steps[2].startswith(".venv/bin/python scripts/promote.py runs/x/model --against model --run runs/x ")
    assert "--ship" in steps[2] and steps[2] == lines[-1]  # the last step: nothing ships around the gate
