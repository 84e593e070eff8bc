"""The curl commands README.md and the docs/ pages show for a local file (a raw photo to
POST /predict, an event to the emulator route) work as written against the local server, which
serves both (the container's emulator takes the same requests)."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from catbreed.gateway import Gateway

from ..helpers import ROOT, serving

pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")


def readme_curls() -> list[str]:
    """The curl lines of README.md and docs/*.md that send a file of the repository (nothing
    from the internet)."""
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    lines = "\n".join(page.read_text() for page in pages).replace("\\\n", " ").splitlines()
    return [line.strip() for line in lines if line.strip().startswith("curl ") and re.search(r"@(events|tests)/", line)]


@pytest.fixture(scope="module")
def local(gateway: Gateway) -> Iterator[str]:
    with serving(gateway.handle) as url:
        yield url


def test_the_readme_shows_both_kinds() -> None:
    commands = readme_curls()
    assert any("/predict" in c for c in commands) and any("/invocations" in c for c in commands)


@pytest.mark.parametrize("command", readme_curls())
def test_a_readme_curl_command_gets_an_answer(local: str, command: str) -> None:
    argv = [re.sub(r"^http://(localhost|127\.0\.0\.1):\d+", local, word) for word in shlex.split(command)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert "error" not in answer, answer
    assert len(answer["predictions"]) == 5
