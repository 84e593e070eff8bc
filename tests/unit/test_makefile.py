"""The Makefile, as a newcomer meets it: `make` alone lists the targets (from their `##`
comments) and starts nothing; `make clean` removes what comes back by itself and says so,
never runs/ (training runs, the activation cache, exported feedback) nor feedback-local/,
which only the explicit `make clean-data` removes, naming them. Run in a folder of its own,
with a copy of the Makefile, so nothing of the project can be touched."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ..helpers import ROOT, outside_make

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")

KEPT = ("runs/cache/activations-0.npy", "runs/shipped/report.json", "runs/feedback/manifest.csv", "feedback-local/a/record.json")
REBUILT = (".venv/bin/python", ".pytest_cache/v/x", ".ruff_cache/x", ".aws-sam/build/x", "mutants/x")


def make(folder: Path, *targets: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", *targets], cwd=folder, capture_output=True, text=True, timeout=60, env=outside_make())


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A folder with the Makefile and one file in each place make clean or clean-data may remove."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for name in (*KEPT, *REBUILT):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    return tmp_path


def test_make_alone_lists_the_targets_and_starts_nothing(project: Path) -> None:
    alone, help_ = make(project), make(project, "help")
    assert alone.returncode == 0 and alone.stdout == help_.stdout
    listed = dict(line.split(None, 1) for line in alone.stdout.splitlines()[1:])
    for target in ("run", "test", "test-fast", "bench", "train", "deploy", "clean", "clean-data", "help"):
        assert listed.get(target, "").strip(), f"make help does not list {target}"
    assert "setup-run" not in listed  # the steps other targets take are not commands for people
    assert sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()) == sorted([*KEPT, *REBUILT, "Makefile"])


def test_make_clean_keeps_runs_and_kept_feedback_and_says_what_it_removes(project: Path) -> None:
    result = make(project, "clean")
    assert result.returncode == 0
    assert all((project / name).exists() for name in KEPT)
    assert not any((project / name.split("/")[0]).exists() for name in REBUILT)
    said = result.stdout.splitlines()[0]
    assert said.startswith("removing .venv") and "keeping runs feedback-local" in said


def test_make_clean_data_removes_runs_and_kept_feedback_naming_them(project: Path) -> None:
    result = make(project, "clean-data")
    assert result.returncode == 0
    assert not (project / "runs").exists() and not (project / "feedback-local").exists()
    assert "activation cache" in result.stdout and "feedback-local/" in result.stdout
    assert all((project / name).exists() for name in REBUILT)
