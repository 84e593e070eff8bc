"""Helpers of the training tests: the tiny generated photo set's breeds and how a photo of one is drawn."""

from __future__ import annotations

import numpy as np
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
