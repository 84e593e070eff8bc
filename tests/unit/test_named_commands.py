"""Every script of scripts/ and every module of the project's packages (run with Python's -m
switch) that the docs, the code's messages, the Makefile or the template name exists: a
newcomer who types what they read finds it."""

from __future__ import annotations

import re

import pytest

from ..helpers import ROOT

PACKAGES = ("catbreed", "catbreed_local", "training", "bench")
SCRIPT = re.compile(r"\bscripts/([\w-]+\.(?:py|sh))\b")
MODULE = re.compile(r"-m (" + "|".join(PACKAGES) + r")((?:\.\w+)*)\b")


SKIP = {".git", "node_modules", "mutants", "runs", "data", "feedback-local", "model", "__pycache__", ".aws-sam", "build"}
KINDS = {".py", ".md", ".sh", ".yaml", ".txt"}


def text_files() -> list[str]:
    """The project's own text files (no venv, data, runs or shipped model), as paths from ROOT."""
    found = []
    for path in ROOT.rglob("*"):
        parts = path.relative_to(ROOT).parts
        if any(part in SKIP or part.startswith(".venv") for part in parts) or not path.is_file():
            continue
        if path.suffix in KINDS or path.name == "Makefile":
            found.append(str(path.relative_to(ROOT)))
    return sorted(found)


def named() -> list[tuple[str, str]]:
    """(file, what it names) for every script path and project module in the tracked text."""
    found = set()
    for name in text_files():
        text = (ROOT / name).read_text(errors="replace")
        found |= {(name, f"scripts/{script}") for script in SCRIPT.findall(text)}
        found |= {(name, package + rest) for package, rest in MODULE.findall(text)}
    return sorted(found)


def exists(thing: str) -> bool:
    if thing.startswith("scripts/"):
        return (ROOT / thing).is_file()
    path = ROOT / thing.replace(".", "/")
    return path.with_suffix(".py").is_file() or (path / "__main__.py").is_file()


def test_the_check_finds_names() -> None:
    things = {thing for _, thing in named()}
    assert "scripts/deploy.sh" in things and "catbreed_local.server" in things


@pytest.mark.parametrize(("file", "thing"), named())
def test_what_is_named_exists(file: str, thing: str) -> None:
    assert exists(thing), f"{file} names {thing}, which does not exist"
