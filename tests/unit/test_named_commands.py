"""Every script (`scripts/NAME.py`) and every module of the project (`python -m catbreed_local.X`)
that the docs, the code's messages, the Makefile or the template name exists: a newcomer who
types what they read finds it."""

from __future__ import annotations

import re
import subprocess

import pytest

from ..helpers import ROOT

PACKAGES = ("catbreed", "catbreed_local", "training", "bench")
SCRIPT = re.compile(r"\bscripts/([\w-]+\.(?:py|sh))\b")
MODULE = re.compile(r"-m (" + "|".join(PACKAGES) + r")((?:\.\w+)*)\b")


def tracked_text_files() -> list[str]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    kinds = (".py", ".md", ".sh", ".yaml", ".txt", "Makefile")
    return [name for name in names if name.endswith(kinds) and not name.startswith("model/") and (ROOT / name).is_file()]


def named() -> list[tuple[str, str]]:
    """(file, what it names) for every script path and project module in the tracked text."""
    found = set()
    for name in tracked_text_files():
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
