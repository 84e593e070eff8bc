"""The views a photo is learned from: the centre square exactly as serving computes it, and
random square crops of the same photo, all through the serving preprocessing; and the photos
kept for int8 calibration."""

from __future__ import annotations

import numpy as np
from PIL import Image

from catbreed.preprocessing import load_image, to_model_input
from training import data as datasets
from training.config import source_values

CROP_SCALE = (0.65, 0.95)  # random crops keep this share of the shorter side


def random_crop(image: Image.Image, rng: np.random.Generator) -> Image.Image:
    """A random square crop of 65-95% of the shorter side (an augmentation view)."""
    side = int(min(image.size) * rng.uniform(*CROP_SCALE))
    left = int(rng.integers(0, image.width - side + 1))
    top = int(rng.integers(0, image.height - side + 1))
    return image.crop((left, top, left + side, top + side))


def load_views(
    samples: list[datasets.Sample], size: int, counts: list[int] | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Views of every photo through the serving preprocessing, as uint8 (M, size, size, 3),
    with the photo each view belongs to and its number. View 0 of every photo comes first,
    in photo order, and is exactly what serving computes; views 1.. (`counts[i]` views of
    photo i, 1 each by default) are random crops of the same photo."""
    rng = np.random.default_rng(seed)
    counts = counts or [1] * len(samples)
    owners = np.concatenate([[i for i, c in enumerate(counts) if c > v] for v in range(max(counts))]).astype(np.int64)
    numbers = np.concatenate([[v] * sum(c > v for c in counts) for v in range(max(counts))]).astype(np.int64)
    out = np.empty((len(owners), size, size, 3), dtype=np.uint8)
    rows = {(int(o), int(v)): r for r, (o, v) in enumerate(zip(owners, numbers, strict=True))}
    for i, sample in enumerate(samples):
        image = load_image(sample.path.read_bytes(), min_side=2 * size)
        for v in range(counts[i]):
            out[rows[i, v]] = to_model_input(image if v == 0 else random_crop(image, rng), size)
    return out, owners, numbers


def load_pixels(samples: list[datasets.Sample], size: int) -> np.ndarray:
    """Every photo exactly as serving preprocesses it, as uint8 (N, size, size, 3)."""
    return load_views(samples, size)[0]


def view_counts(samples: list[datasets.Sample], default: int, spec: tuple[str, ...]) -> list[int]:
    """Views of each training photo: `default`, or the count of its source in `SOURCE=N` pairs
    (e.g. thumbs=1: random crops of a 150 px thumbnail add blur, not information)."""
    table = source_values(spec, int)
    return [table.get(s.source, default) for s in samples]


def calibration_sample(pixels: np.ndarray, sources: list[str], count: int, seed: int) -> np.ndarray:
    """`count` photos for int8 calibration, drawn evenly from every data root (round robin
    over the roots, each shuffled), so no root's range of activations is missed."""
    rng = np.random.default_rng(seed)
    queues = [list(rng.permutation([i for i, s in enumerate(sources) if s == name])) for name in sorted(set(sources))]
    chosen: list[int] = []
    while len(chosen) < min(count, len(sources)):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(int(queue.pop()))
    return pixels[np.sort(chosen)]
