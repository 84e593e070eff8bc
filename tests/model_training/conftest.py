"""A tiny generated photo set: three 'breeds' told apart by colour and pattern."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import BREEDS, draw_photo


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """<root>/<Breed>/*.jpg with 10 photos a breed, plus one exact duplicate."""
    root = tmp_path_factory.mktemp("tiny") / "tiny"
    for b, breed in enumerate(BREEDS):
        folder = root / breed
        folder.mkdir(parents=True)
        for i in range(10):
            draw_photo(b, 1000 * b + i).save(folder / f"{i:02d}.jpg", quality=92)
    (root / BREEDS[0] / "dup.jpg").write_bytes((root / BREEDS[0] / "00.jpg").read_bytes())
    return root
