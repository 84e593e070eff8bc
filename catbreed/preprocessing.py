"""The one source of truth for turning photo bytes into the model's input tensor.

Serving (catbreed.model), training (training.data) and the tests all call these two
functions, so that a photo becomes exactly the same tensor everywhere.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from catbreed.errors import UnsupportedImage

MAX_PIXELS = 40_000_000  # a 40-megapixel photo is far above any phone's; bombs are refused
SUPPORTED_FORMATS = frozenset({"JPEG", "MPO", "PNG", "WEBP", "GIF", "BMP"})
WHITE = (255, 255, 255)
WIDE_GRAY_MODES = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I", "F"})

# What decoding costs: the peak bytes per pixel of decoding a photo of each mode and turning
# it into RGB here (Pillow keeps RGB in 4 bytes; "PA" also stands for a palette with
# transparency), plus what a decoder holds besides (WebP), measured with
# bench/decode_memory.py and rounded up; other modes cost the most. A photo whose pixels
# would cost more than DECODE_MAX_BYTES is refused before it is decoded: the process classifying
# the worst accepted photo peaked at 391 MB (model and runtime included), which fits every
# MemorySize template.yaml allows (512 MB and up) and is under half of it from 782 MB up.
DECODE_BYTES_PER_PIXEL = {"1": 5, "L": 5, "P": 5, "PA": 10, "RGB": 4, "CMYK": 9, "RGBA": 9, "I;16": 9, "LA": 13}
DECODER_BYTES_PER_PIXEL = {"WEBP": 8}
DECODE_MAX_BYTES = 300_000_000

# Pillow's own bomb check, at our cap (it raises past twice the cap, before reading a pixel).
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def bytes_per_pixel(image: Image.Image) -> int:
    """What each pixel of `image` costs to decode and convert here, at the peak."""
    mode = "PA" if image.mode == "P" and "transparency" in image.info else image.mode
    per_pixel = DECODE_BYTES_PER_PIXEL.get(mode, max(DECODE_BYTES_PER_PIXEL.values()))
    return per_pixel + DECODER_BYTES_PER_PIXEL.get(image.format or "", 0)


@dataclass(frozen=True)
class Photo:
    """A decoded photo: upright RGB pixels (perhaps decoded at a reduced scale) and the
    upright photo's own size, the coordinates an answer speaks in."""

    image: Image.Image
    size: tuple[int, int]

    def to_photo(self, box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
        """A box in the decoded pixels as whole pixels of the photo, inside it."""
        scale_x, scale_y = self.size[0] / self.image.width, self.size[1] / self.image.height
        left, top, right, bottom = box
        return (
            max(0, int(left * scale_x)),
            max(0, int(top * scale_y)),
            min(self.size[0], round(right * scale_x)),
            min(self.size[1], round(bottom * scale_y)),
        )


def load_image(data: bytes, min_side: int = 0) -> Image.Image:
    """Decode photo bytes into an upright RGB image (see load_photo)."""
    return load_photo(data, min_side).image


def load_photo(data: bytes, min_side: int = 0) -> Photo:
    """Decode photo bytes into an upright RGB image.

    JPEG, PNG, WebP, GIF (first frame) and BMP are accepted. EXIF orientation is applied,
    transparency is composited on white, and CMYK, 16-bit, palette and grayscale images
    become 8-bit RGB. The pixel count, and what decoding them would cost in memory, are
    checked from the header, before decoding. `min_side` lets JPEG decode at a reduced scale
    while keeping the shorter side at least that long (a large speed-up for phone photos;
    0 decodes at full size). Raises UnsupportedImage for anything else.
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
                raise too_many_pixels(f" ({width}x{height})")
            if min_side and image.format in ("JPEG", "MPO"):
                image.draft("RGB", (min_side, min_side))
            per_pixel = bytes_per_pixel(image)
            if image.size[0] * image.size[1] * per_pixel > DECODE_MAX_BYTES:
                raise UnsupportedImage(
                    f"The photo has too many pixels for its kind ({width}x{height}, {image.mode}); "
                    f"the limit for it is {DECODE_MAX_BYTES // per_pixel:,}."
                )
            image.seek(0)
            image.load()
            decoded = image.size
            ImageOps.exif_transpose(image, in_place=True)  # in place: no copy of an upright photo
            turned = image.size != decoded
            return Photo(to_rgb(image), (height, width) if turned else (width, height))
    except UnsupportedImage:
        raise
    except Image.DecompressionBombError as exc:
        raise too_many_pixels("") from exc
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as exc:
        raise UnsupportedImage("The photo could not be read; it may be damaged or not an image.") from exc


def too_many_pixels(size: str) -> UnsupportedImage:
    """The error for a photo past MAX_PIXELS; `size` says its own when known."""
    return UnsupportedImage(f"The photo has too many pixels{size}; the limit is {MAX_PIXELS:,}.")


def to_rgb(image: Image.Image) -> Image.Image:
    """Return an 8-bit RGB copy: alpha on white, 16-bit scaled down, other modes converted."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in WIDE_GRAY_MODES:
        return wide_gray_to_rgb(image)
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image if mode == "RGBA" else image.convert("RGBA")
        rgb = Image.new("RGB", rgba.size, WHITE)
        rgb.paste(rgba, mask=rgba.getchannel("A"))
        return rgb
    return image.convert("RGB")


def wide_gray_to_rgb(image: Image.Image) -> Image.Image:
    """16-bit (and 32-bit) grayscale to 8-bit RGB, in integers: past 255 the 16-bit range is
    scaled onto 0..255 (v // 257); no float copies of the pixels."""
    values = np.array(image)
    if values.size and values.max() > 255:
        np.floor_divide(values, 257, out=values)
    np.clip(values, 0, 255, out=values)
    return Image.fromarray(values.astype(np.uint8), "L").convert("RGB")


def centre_square(width: int, height: int) -> tuple[float, float, float, float]:
    """The centre square of a photo (left, top, right, bottom): what the model looks at first."""
    side = min(width, height)
    left = (width - side) / 2
    top = (height - side) / 2
    return (left, top, left + side, top + side)


def to_model_input(image: Image.Image, size: int) -> np.ndarray:
    """Resize the shorter side to `size` and take the centre square: float32, (size, size, 3), 0..255.

    The model normalizes the values itself (its first layer), so this stays model-agnostic.
    """
    square = image.resize((size, size), Image.Resampling.BILINEAR, box=centre_square(*image.size))
    return np.asarray(square, dtype=np.float32)


def image_to_input(data: bytes, size: int) -> np.ndarray:
    """Photo bytes to the model's input tensor, the path every caller takes."""
    return to_model_input(load_image(data, min_side=2 * size), size)
