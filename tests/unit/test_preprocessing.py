"""Image loading and the one preprocessing path shared by training and serving."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from catbreed.errors import UnsupportedImage
from catbreed.preprocessing import MAX_PIXELS, image_to_input, load_image, to_model_input, to_rgb

from ..helpers import decompression_bomb, encode


@pytest.fixture(scope="module")
def cat(cat_jpeg: bytes) -> Image.Image:
    return Image.open(io.BytesIO(cat_jpeg)).convert("RGB")


def test_training_and_serving_build_the_same_tensor(cat_jpeg: bytes, classifier, tmp_path) -> None:
    """training.views.load_pixels (what the model learns from) and the serving path agree."""
    pytest.importorskip("keras", reason="needs the training stack (scripts/setup.sh dev); make test runs it")
    from training.data import Sample
    from training.views import load_pixels

    path = tmp_path / "cat.jpg"
    path.write_bytes(cat_jpeg)
    trained_on = load_pixels([Sample(path, "Cat", "test")], classifier.input_size)[0]
    served = image_to_input(cat_jpeg, classifier.input_size)
    assert trained_on.shape == served.shape == (classifier.input_size, classifier.input_size, 3)
    assert np.array_equal(trained_on.astype(np.float32), served)


def test_model_input_is_the_centre_square_of_the_shorter_side(cat: Image.Image) -> None:
    tensor = to_model_input(cat, 224)
    assert tensor.dtype == np.float32 and tensor.shape == (224, 224, 3)
    assert tensor.min() >= 0 and tensor.max() <= 255
    wide = Image.new("RGB", (300, 100), (255, 0, 0))
    wide.paste((0, 0, 255), (100, 0, 200, 100))  # blue centre square
    assert np.allclose(to_model_input(wide, 50)[5:45, 5:45], [0, 0, 255])


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF", "BMP"])
def test_every_supported_format_decodes_to_rgb(cat: Image.Image, fmt: str) -> None:
    image = load_image(encode(cat, fmt))
    assert image.mode == "RGB" and image.size == cat.size


def test_animated_gif_uses_the_first_frame() -> None:
    frames = [Image.new("RGB", (40, 30), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    pixel = np.asarray(load_image(data))[15, 20]
    assert pixel[0] > 200 and pixel[1] < 50


def test_exif_orientation_is_applied(cat: Image.Image) -> None:
    rotated = cat.transpose(Image.Transpose.ROTATE_90)  # stored turned a quarter anticlockwise ...
    exif = Image.Exif()
    exif[0x0112] = 6  # ... with "rotate 90 CW to display"
    upright = load_image(encode(rotated, "JPEG", exif=exif, quality=95))
    assert upright.size == cat.size
    difference = np.abs(np.asarray(upright, dtype=int) - np.asarray(cat, dtype=int)).mean()
    assert difference < 6


def test_transparency_is_composited_on_white() -> None:
    rgba = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    assert np.asarray(load_image(encode(rgba, "PNG")))[10, 10].tolist() == [255, 255, 255]
    palette = Image.new("P", (20, 20), 0)
    palette.putpalette([0, 0, 0] * 256)
    data = encode(palette, "PNG", transparency=0)
    assert np.asarray(load_image(data))[0, 0].tolist() == [255, 255, 255]


def test_cmyk_grayscale_and_16_bit_become_8_bit_rgb(cat: Image.Image) -> None:
    assert load_image(encode(cat.convert("CMYK"), "JPEG")).mode == "RGB"
    gray = load_image(encode(cat.convert("L"), "PNG"))
    assert gray.mode == "RGB"
    deep = Image.fromarray((np.asarray(cat.convert("L"), dtype=np.uint16) * 257).astype(np.uint16))
    sixteen = load_image(encode(deep, "PNG"))
    assert sixteen.mode == "RGB"
    assert np.abs(np.asarray(sixteen, dtype=int) - np.asarray(gray, dtype=int)).max() <= 1


@pytest.mark.parametrize(
    "data",
    [b"", b"\xff\xd8\xff\xe0 truncated", b"<!doctype html><title>hi</title>", b"GIF89a", b"%PDF-1.4 ..."],
    ids=["empty", "truncated-jpeg-header", "html", "gif-header-only", "pdf"],
)
def test_bytes_that_are_not_images_are_refused(data: bytes) -> None:
    with pytest.raises(UnsupportedImage):
        load_image(data)


def test_truncated_jpeg_is_refused(cat_jpeg: bytes) -> None:
    with pytest.raises(UnsupportedImage):
        load_image(cat_jpeg[: len(cat_jpeg) // 2])


def test_too_many_pixels_are_refused_before_decoding() -> None:
    with pytest.raises(UnsupportedImage, match="too many pixels"):
        load_image(decompression_bomb(50_000, 50_000))
    assert MAX_PIXELS < 50_000 * 50_000


def test_a_16_bit_gray_png_of_40_megapixels_is_refused_before_decoding() -> None:
    """The 220 KB file that once took 1 GB: within the pixel cap, past what its kind may cost."""
    with pytest.raises(UnsupportedImage, match=r"too many pixels for its kind \(8000x5000, I;16\)"):
        load_image(decompression_bomb(8000, 5000, bit_depth=16, color_type=0))


def test_the_decoding_budget_depends_on_the_kind_of_pixels() -> None:
    """The same 33.6-megapixel header: accepted as 8-bit RGB (it fails later, on its empty
    data), refused up front as RGBA, which costs more a pixel."""
    with pytest.raises(UnsupportedImage, match="could not be read"):
        load_image(decompression_bomb(6000, 5600))
    with pytest.raises(UnsupportedImage, match="too many pixels for its kind"):
        load_image(decompression_bomb(6000, 5600, color_type=6))


def test_pillow_itself_refuses_bombs_past_twice_our_cap() -> None:
    """Any Pillow user in the process (training too) is guarded, not only load_image."""
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(decompression_bomb(10_000, 8_001)))


def test_unsupported_formats_are_refused(cat: Image.Image) -> None:
    with pytest.raises(UnsupportedImage, match="not a supported image"):
        load_image(encode(cat, "TIFF"))


@pytest.mark.parametrize("mode", ["LA", "PA", "RGBa", "RGBA"])  # PIL makes no "La" image to test with
def test_every_mode_with_alpha_is_composited_on_white(mode: str) -> None:
    clear = Image.new("RGBA", (4, 4), (0, 0, 0, 0)).convert(mode)
    assert to_rgb(clear).mode == "RGB"
    assert np.asarray(to_rgb(clear))[0, 0].tolist() == [255, 255, 255]


@pytest.mark.parametrize("mode", ["I;16", "I;16B", "I;16L", "I;16N", "I", "F"])
@pytest.mark.parametrize(("peak", "expected"), [(255, 255), (32896, 128), (65535, 255)])
def test_wide_gray_modes_are_scaled_only_past_8_bits(mode: str, peak: int, expected: int) -> None:
    """A peak of 255 is already 8-bit (kept); past it the 16-bit range is scaled to 0..255."""
    values = np.zeros((2, 2), dtype=np.float32 if mode == "F" else np.int32)
    values[0, 0] = peak
    image = Image.fromarray(values, "F" if mode == "F" else "I").convert(mode) if mode in ("I", "F") else Image.new(mode, (2, 2))
    if mode not in ("I", "F"):
        image.putpixel((0, 0), peak)
    assert np.asarray(to_rgb(image))[0, 0].tolist() == [expected] * 3


def test_a_large_jpeg_is_decoded_at_a_reduced_scale_no_smaller_than_asked(cat: Image.Image) -> None:
    big = encode(cat.resize((cat.width * 4, cat.height * 4)), "JPEG", quality=90)  # 1804 x 1200
    image = load_image(big, min_side=448)
    assert image.mode == "RGB" and min(image.size) >= 448
    assert image.size[0] < cat.width * 4  # the draft decode did its job


def palette_png(width: int, height: int, transparent: bool) -> bytes:
    """A tiny PNG whose header declares a palette image of width x height, with a tRNS chunk
    (a transparent palette entry) when asked."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)) + chunk(b"PLTE", b"\x00\x00\x00")
    alpha = chunk(b"tRNS", b"\x00") if transparent else b""
    return b"\x89PNG\r\n\x1a\n" + header + alpha + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def test_a_palette_with_transparency_is_costed_as_the_rgba_it_becomes() -> None:
    """33.6 megapixels of palette: within the budget as plain palette (it fails later, on its
    empty data), refused up front with a transparent entry, which decodes through RGBA."""
    with pytest.raises(UnsupportedImage, match="could not be read"):
        load_image(palette_png(6000, 5600, transparent=False))
    with pytest.raises(UnsupportedImage, match=r"too many pixels for its kind \(6000x5600, P\)"):
        load_image(palette_png(6000, 5600, transparent=True))


def test_a_large_detailed_jpeg_gives_the_model_what_a_full_decode_would(cat: Image.Image) -> None:
    """The reduced-scale decode keeps at least twice the model's side: on fine detail (4 px
    squares of a 4000x3000 photo) the input stays within 2 levels on average of the one a
    full-size decode makes (a decode at the model's side itself is about 7 levels off)."""
    squares = np.random.default_rng(0).integers(0, 2, (750, 1000, 1), dtype=np.uint8).repeat(3, axis=2) * 255
    big = encode(Image.fromarray(squares).resize((4000, 3000), Image.Resampling.NEAREST), "JPEG", quality=92)
    reference = to_model_input(load_image(big), 224)
    assert float(np.abs(image_to_input(big, 224) - reference).mean()) < 2.0
