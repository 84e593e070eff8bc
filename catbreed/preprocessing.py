"""The one source of truth for turning photo bytes into the model's input tensor.

Serving (catbreed.model), training (training.data) and the tests all call these two
functions, so that a photo becomes exactly the same tensor everywhere.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps

from catbreed.errors import UnsupportedImage

MAX_PIXELS = 40_000_000  # a 40-megapixel photo is far above any phone's; bombs are refused
SUPPORTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP"})
WHITE = (255, 255, 255)

# We do our own pixel check before decoding; PIL's warning would only duplicate it.
Image.MAX_IMAGE_PIXELS = None


def load_image(data: bytes, min_side: int = 0) -> Image.Image:
    """Decode photo bytes into an upright RGB image.

    JPEG, PNG, WebP, GIF (first frame) and BMP are accepted. EXIF orientation is applied,
    transparency is composited on white, and CMYK, 16-bit, palette and grayscale images
    become 8-bit RGB. The pixel count is checked from the header, before decoding.
    `min_side` lets JPEG decode at a reduced scale while keeping the shorter side at least
    that long (a large speed-up for phone photos; 0 decodes at full size).
    Raises UnsupportedImage for anything else.
    """
    if not data:
        raise UnsupportedImage("The photo is empty.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data))
            if image.format not in SUPPORTED_FORMATS:
                raise UnsupportedImage("That file is not a supported image; send a JPEG, PNG, WebP, GIF or BMP photo.")
            width, height = image.size
            if width < 1 or height < 1 or width * height > MAX_PIXELS:
                raise UnsupportedImage(f"The photo has too many pixels ({width}x{height}); the limit is {MAX_PIXELS:,}.")
            if min_side and image.format in ("JPEG", "MPO"):
                image.draft("RGB", (min_side, min_side))
            image.seek(0)
            image.load()
            image = ImageOps.exif_transpose(image)
            return to_rgb(image)
    except UnsupportedImage:
        raise
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError, Image.DecompressionBombError) as exc:
        raise UnsupportedImage("The photo could not be read; it may be damaged or not an image.") from exc


def to_rgb(image: Image.Image) -> Image.Image:
    """Return an 8-bit RGB copy: alpha on white, 16-bit scaled down, other modes converted."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        peak = values.max() if values.size else 0
        scale = 255.0 / 65535.0 if peak > 255 else 1.0
        gray = np.clip(values * scale, 0, 255).astype(np.uint8)
        return Image.fromarray(gray, "L").convert("RGB")
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (*WHITE, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def to_model_input(image: Image.Image, size: int) -> np.ndarray:
    """Resize the shorter side to `size` and take the centre square: float32, (size, size, 3), 0..255.

    The model normalizes the values itself (its first layer), so this stays model-agnostic.
    """
    width, height = image.size
    side = min(width, height)
    left = (width - side) / 2
    top = (height - side) / 2
    box = (left, top, left + side, top + side)
    square = image.resize((size, size), Image.Resampling.BILINEAR, box=box)
    return np.asarray(square, dtype=np.float32)


def image_to_input(data: bytes, size: int) -> np.ndarray:
    """Photo bytes to the model's input tensor, the path every caller takes."""
    return to_model_input(load_image(data, min_side=2 * size), size)
