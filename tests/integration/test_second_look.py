"""The shipped model's second look, on a real photo: where the cat is (focus), and when an unsure
first look at a small cat becomes the average of two looks."""

from __future__ import annotations

import copy
import io

import numpy as np
import pytest
from PIL import Image

from catbreed import focus
from catbreed.model import Classifier, SecondLook
from catbreed.preprocessing import centre_square, load_photo, to_model_input

from ..helpers import answer, b64, encode

WALL = (214, 205, 190)


def small_cat(cat_jpeg: bytes) -> tuple[bytes, tuple[int, int, int, int]]:
    """The fixture cat at a quarter of a plain wall's width, off centre: the photo, and where the cat is."""
    cat = Image.open(io.BytesIO(cat_jpeg)).convert("RGB")
    wall = Image.new("RGB", (cat.width * 4, cat.height * 3), WALL)
    left, top = cat.width * 2, cat.height  # right of centre, middle row
    wall.paste(cat, (left, top))
    return encode(wall, "JPEG", quality=92), (left, top, left + cat.width, top + cat.height)


def overlap(box: tuple[int, ...], other: tuple[int, ...]) -> float:
    """How much of `other` the box covers (0..1)."""
    width = max(0, min(box[2], other[2]) - max(box[0], other[0]))
    height = max(0, min(box[3], other[3]) - max(box[1], other[1]))
    return width * height / ((other[2] - other[0]) * (other[3] - other[1]))


def test_the_focus_box_is_on_the_cat_in_the_photos_pixels(classifier: Classifier, cat_jpeg: bytes) -> None:
    photo, cat = small_cat(cat_jpeg)
    prediction = classifier.predict(photo)
    assert classifier.is_cat(prediction)
    left, top, right, bottom = prediction.focus
    width, height = Image.open(io.BytesIO(photo)).size
    assert 0 <= left < right <= width and 0 <= top < bottom <= height
    assert overlap(prediction.focus, cat) >= 0.5  # most of the cat is in the box
    assert (right - left) * (bottom - top) <= 0.5 * width * height  # and the box is not the whole photo


def test_an_unsure_first_look_at_a_small_cat_is_averaged_with_a_look_around_it(
    classifier: Classifier, cat_jpeg: bytes
) -> None:
    """The card's own rule says this photo takes a second look; the answer is then exactly the
    mean of the first look (centre square) and the look at the square around the cat box."""
    photo, _ = small_cat(cat_jpeg)
    setting, size = classifier.second_look, classifier.input_size
    image = load_photo(photo, min_side=2 * size).image
    square = centre_square(*image.size)
    first = classifier.predict_pixels(to_model_input(image, size))
    box = focus.map_box(first.cat_map, square, setting.peak_share)
    assert setting.wanted(first, box, square), "the small cat should be one the second look is for"
    closer = classifier.predict_pixels(to_model_input(focus.crop(image, focus.square_around(box, setting.margin)), size))

    prediction = classifier.predict(photo)
    assert prediction.looks == 2
    np.testing.assert_allclose(prediction.probabilities, (first.probabilities + closer.probabilities) / 2, atol=1e-6)
    assert prediction.cat_score == pytest.approx((first.cat_score + closer.cat_score) / 2, abs=1e-6)
    assert not np.allclose(prediction.probabilities, first.probabilities, atol=1e-3)  # the second look changed it


def test_a_sure_first_look_is_the_answer_alone(classifier: Classifier, cat_jpeg: bytes) -> None:
    """With the bar for a second look at 0 (the card's "never"), the answer is the first look."""
    never = copy.copy(classifier)  # the same interpreter, another rule
    never.second_look = SecondLook(classifier.second_look.peak_share, below=0.0)
    photo, _ = small_cat(cat_jpeg)
    image = load_photo(photo, min_side=2 * classifier.input_size).image
    first = classifier.predict_pixels(to_model_input(image, classifier.input_size))
    prediction = never.predict(photo)
    assert prediction.looks == 1
    np.testing.assert_allclose(prediction.probabilities, first.probabilities, atol=1e-6)


def test_every_cat_answer_of_the_api_carries_its_focus_and_no_cat_answer_does(
    gateway, coffee_jpeg: bytes, cat_jpeg: bytes
) -> None:
    cat = answer(gateway, "direct", {"image": b64(cat_jpeg)})
    assert cat["is_cat"] and len(cat["focus"]["box"]) == 4
    left, top, right, bottom = cat["focus"]["box"]
    width, height = Image.open(io.BytesIO(cat_jpeg)).size
    assert 0 <= left < right <= width and 0 <= top < bottom <= height
    coffee = answer(gateway, "direct", {"image": b64(coffee_jpeg)})
    assert coffee["is_cat"] is False and coffee["focus"] is None
