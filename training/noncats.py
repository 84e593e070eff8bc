"""Pictures that are not cats, bundled with packages already installed for training:
scikit-image's sample data (all but its cat), scikit-learn's and Matplotlib's sample
photos, and scikit-image's small face crops. Used to check that `is_cat` rejects them."""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
from PIL import Image

SKIMAGE_CATS = {"chelsea.png"}
SKIMAGE_NOT_PHOTOS = {"lfw_subset.npy", "motorcycle_disp.npz"}


def _skimage_files() -> list[Path]:
    import skimage

    folder = Path(os.path.dirname(skimage.__file__)) / "data"
    return sorted(p for p in folder.iterdir() if p.suffix in (".png", ".jpg", ".gif") and p.name not in SKIMAGE_CATS)


def _other_files() -> list[Path]:
    import matplotlib
    import sklearn.datasets

    files = sorted((Path(os.path.dirname(sklearn.datasets.__file__)) / "images").glob("*.jpg"))
    sample = Path(matplotlib.get_data_path()) / "sample_data"
    return files + sorted(p for p in sample.iterdir() if p.suffix in (".png", ".jpg"))


def _faces(count: int) -> list[bytes]:
    import skimage

    faces = np.load(Path(os.path.dirname(skimage.__file__)) / "data" / "lfw_subset.npy")[:count]
    photos = []
    for face in faces:
        image = Image.fromarray((face * 255).astype(np.uint8)).resize((128, 128))
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        photos.append(buffer.getvalue())
    return photos


def non_cat_photos(faces: int = 40) -> list[tuple[str, bytes]]:
    """(name, bytes) of every bundled non-cat picture."""
    photos = [(p.name, p.read_bytes()) for p in _skimage_files() + _other_files()]
    return photos + [(f"lfw_face_{i}", data) for i, data in enumerate(_faces(faces))]
