"""Where the cat is: a box from the model's cat map, and the square around it for a second look.

The cat map is the model's last feature map times the ImageNet classifier's cat rows (a
class-activation map of "cat", one value per cell of a coarse grid over the square the model
looked at). Its cells at `peak_share` of the peak or more, as one bounding box, are where the
model found the cat.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

Box = tuple[float, float, float, float]  # left, top, right, bottom, in the upright photo's pixels
GREY = (128, 128, 128)  # what a crop shows where it runs past the photo


def map_box(cat_map: np.ndarray, square: Box, peak_share: float) -> Box | None:
    """The bounding box of the map's cells at `peak_share` of its peak or more, in the
    coordinates of `square` (the region of the photo the model looked at); None when no cell
    is positive (the model found nothing cat-like)."""
    grid = np.asarray(cat_map, dtype=np.float64)
    peak = grid.max()
    if not peak > 0:
        return None
    rows, cols = np.nonzero(grid >= peak_share * peak)
    left, top, right, bottom = square
    cell_w, cell_h = (right - left) / grid.shape[1], (bottom - top) / grid.shape[0]
    return (
        left + cols.min() * cell_w,
        top + rows.min() * cell_h,
        left + (cols.max() + 1) * cell_w,
        top + (rows.max() + 1) * cell_h,
    )


def clip(box: Box, width: int, height: int) -> Box:
    """The box inside a `width` x `height` photo."""
    left, top, right, bottom = box
    return (max(0.0, left), max(0.0, top), min(float(width), right), min(float(height), bottom))


def area_share(box: Box, square: Box) -> float:
    """How much of `square` the box covers (0..1)."""
    return ((box[2] - box[0]) * (box[3] - box[1])) / ((square[2] - square[0]) * (square[3] - square[1]))


def square_around(box: Box, margin: float) -> Box:
    """The square centred on the box, its side the box's longer side plus `margin` of it on each side."""
    centre_x, centre_y = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = max(box[2] - box[0], box[3] - box[1]) * (1 + 2 * margin) / 2
    return (centre_x - half, centre_y - half, centre_x + half, centre_y + half)


def crop(image: Image.Image, square: Box) -> Image.Image:
    """The photo inside `square`, grey where the square runs past the photo."""
    left, top, right, bottom = (round(v) for v in square)
    out = Image.new("RGB", (max(1, right - left), max(1, bottom - top)), GREY)
    inside = (max(0, left), max(0, top), min(image.width, right), min(image.height, bottom))
    if inside[0] < inside[2] and inside[1] < inside[3]:
        out.paste(image.crop(inside), (inside[0] - left, inside[1] - top))
    return out
