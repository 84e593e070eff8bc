"""A tiny generated photo set: three 'breeds' told apart by colour and pattern."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

BREEDS = ("Red_Tabby", "Blue_Point", "Green_Eyed")


def draw_photo(breed_index: int, seed: int) -> Image.Image:
    """A 96x80 picture whose colour and stripes depend on the breed, jittered by seed."""
    rng = np.random.default_rng(seed)
    base = np.array([[200, 60, 40], [50, 80, 200], [40, 170, 60]][breed_index]) + rng.integers(-25, 25, 3)
    image = Image.new("RGB", (96, 80), tuple(int(c) for c in np.clip(base, 0, 255)))
    draw = ImageDraw.Draw(image)
    for _i in range(3 + breed_index * 2):
        x = int(rng.integers(0, 90))
        draw.line([(x, 0), (x + 20, 80)], fill=(255, 255, 255), width=2 + breed_index)
    return image


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
