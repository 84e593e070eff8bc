"""Where the cat is: the box from the cat map, the square for a second look, the crop, and the
box in the photo's own pixels whatever scale the photo was decoded at."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from catbreed import focus
from catbreed.preprocessing import centre_square, load_photo

from ..helpers import encode


def test_the_box_covers_the_cells_near_the_peak_in_the_squares_coordinates() -> None:
    cat_map = np.zeros((9, 9))
    cat_map[2, 3] = 10.0  # the peak
    cat_map[4, 5] = 4.0  # 40% of it: inside at 35%
    cat_map[8, 8] = 3.0  # 30%: outside
    box = focus.map_box(cat_map, (100.0, 0.0, 190.0, 90.0), peak_share=0.35)
    assert box == pytest.approx((130.0, 20.0, 160.0, 50.0))
    assert focus.map_box(cat_map, (100.0, 0.0, 190.0, 90.0), peak_share=0.5) == pytest.approx((130.0, 20.0, 140.0, 30.0))


def test_a_map_with_nothing_positive_has_no_box() -> None:
    assert focus.map_box(np.full((9, 9), -1.0), (0, 0, 9, 9), 0.35) is None
    assert focus.map_box(np.zeros((9, 9)), (0, 0, 9, 9), 0.35) is None


def test_the_second_look_square_is_centred_on_the_box_with_the_margin_on_each_side() -> None:
    left, top, right, bottom = focus.square_around((10.0, 20.0, 50.0, 40.0), margin=0.25)
    assert right - left == pytest.approx(60.0) and bottom - top == pytest.approx(60.0)  # 40 * 1.5
    assert ((left + right) / 2, (top + bottom) / 2) == pytest.approx((30.0, 30.0))


def test_area_share_and_clip() -> None:
    assert focus.area_share((0, 0, 50, 50), (0, 0, 100, 100)) == pytest.approx(0.25)
    assert focus.clip((-5.0, 10.0, 120.0, 90.0), 100, 80) == (0.0, 10.0, 100.0, 80.0)


def test_a_crop_past_the_photo_is_grey_there_and_the_photo_elsewhere(cat_jpeg: bytes) -> None:
    photo = Image.open(io.BytesIO(cat_jpeg)).convert("RGB")
    out = focus.crop(photo, (-20.0, -10.0, 80.0, 90.0))
    pixels = np.asarray(out)
    assert out.size == (100, 100)
    assert (pixels[:10, :, :] == focus.GREY).all() and (pixels[:, :20, :] == focus.GREY).all()
    assert np.array_equal(pixels[10:, 20:], np.asarray(photo)[:90, :80])


def test_a_box_in_decoded_pixels_is_given_in_the_photos_own_pixels() -> None:
    """A large JPEG is decoded at a reduced scale; the answer speaks in the photo's pixels."""
    big = Image.new("RGB", (2000, 1200), (200, 100, 50))
    decoded = load_photo(encode(big, "JPEG"), min_side=520)
    assert decoded.size == (2000, 1200) and decoded.image.size == (1000, 600)
    assert decoded.to_photo((100.0, 50.0, 400.0, 300.0)) == (200, 100, 800, 600)
    assert decoded.to_photo((-3.0, -1.0, 1001.0, 700.0)) == (0, 0, 2000, 1200)


def test_a_photo_turned_by_its_exif_orientation_reports_its_upright_size() -> None:
    sideways = Image.new("RGB", (300, 200), (10, 20, 30))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees to show upright
    upright = load_photo(encode(sideways, "JPEG", exif=exif))
    assert upright.image.size == (200, 300) and upright.size == (200, 300)
    assert centre_square(*upright.image.size) == (0.0, 50.0, 200.0, 250.0)
