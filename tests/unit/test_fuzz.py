"""Property-based fuzzing: no request and no bytes make the handler raise or answer 500."""

from __future__ import annotations

import base64
import contextlib
import io
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from catbreed.download import check_url, resolve
from catbreed.errors import DownloadFailed, UnsupportedImage
from catbreed.gateway import Gateway
from catbreed.preprocessing import load_image
from catbreed.service import Service

from ..helpers import LOOPBACK_ONLY, v1_event, v2_event

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
fields = st.fixed_dictionaries(
    {},
    optional={
        "url": json_values
        | st.text(max_size=60)
        | st.sampled_from(["http://", "https://[::1]/", "http://0/", "http://1.2.3.4.5/", "http://%41/", "//x", "http://a:b@c/"]),
        "image": json_values | st.binary(max_size=64).map(lambda b: base64.b64encode(b).decode()),
        "top_k": json_values,
    },
)


def fetch_without_connecting(url: str, limits) -> bytes:
    """Validate and resolve like the real downloader, then stop before any connection."""
    _, host, port, _ = check_url(url)
    resolve(host, port, limits)
    raise DownloadFailed("fuzzing never connects")


@pytest.fixture(scope="module")
def fuzz_gateway(classifier) -> Gateway:
    return Gateway(Service(classifier, LOOPBACK_ONLY, fetch=fetch_without_connecting))


@FUZZ
@given(payload=fields | json_values)
def test_any_direct_event_gets_an_answer_never_a_500(fuzz_gateway: Gateway, payload) -> None:
    body = fuzz_gateway.handle(payload)
    assert isinstance(body, dict)
    assert "predictions" in body or body["error"]["code"] != "internal_error"
    json.dumps(body)


@FUZZ
@given(
    payload=fields | json_values,
    raw=st.binary(max_size=200),
    shape=st.sampled_from(["v2", "v1"]),
    as_base64=st.booleans(),
    content_type=st.sampled_from(["application/json", "image/jpeg", "text/plain", ""]),
)
def test_any_http_event_gets_an_answer_never_a_500(
    fuzz_gateway: Gateway, payload, raw: bytes, shape: str, as_base64: bool, content_type: str
) -> None:
    make = v2_event if shape == "v2" else v1_event
    body = raw if as_base64 else json.dumps(payload, allow_nan=True)
    response = fuzz_gateway.handle(make(body=body, content_type=content_type, base64_body=as_base64))
    assert response["statusCode"] != 500, response["body"]
    json.loads(response["body"])


def small_photos() -> list[bytes]:
    photos = []
    for fmt in ("PNG", "JPEG", "GIF", "BMP", "WEBP"):
        buffer = io.BytesIO()
        Image.new("RGB", (24, 16), (120, 80, 40)).save(buffer, fmt)
        photos.append(buffer.getvalue())
    return photos


@FUZZ
@given(
    photo=st.sampled_from(small_photos()),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6),
    cut=st.integers(0, 10_000),
)
def test_damaged_photos_load_or_are_refused_cleanly(classifier, photo: bytes, flips, cut: int) -> None:
    data = bytearray(photo)
    for position, value in flips:
        data[position % len(data)] = value
    data = bytes(data[: max(1, len(data) - cut % len(data))])
    try:
        image = load_image(data)
    except UnsupportedImage:
        return
    assert image.mode == "RGB"
    prediction = classifier.predict(data)
    assert abs(prediction.probabilities.sum() - 1) < 1e-3


@FUZZ
@given(data=st.binary(max_size=300))
def test_random_bytes_are_never_an_unhandled_error(data: bytes) -> None:
    with contextlib.suppress(UnsupportedImage):
        load_image(data)
