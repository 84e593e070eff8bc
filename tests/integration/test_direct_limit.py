"""The direct limit is honest: a photo at DIRECT_MAX_BYTES, sent raw or as base64 JSON, fits
the HTTP API's payload v2 event inside Lambda's 6,291,456-byte synchronous invoke, so past
it the caller gets our 413 (naming the upload path where there is one), not AWS's error."""

from __future__ import annotations

import base64
import json
import random
import sys

import pytest

from catbreed.gateway import Gateway
from catbreed.limits import DIRECT_MAX_BYTES, MAX_BODY_BYTES
from catbreed.service import Service
from catbreed.uploads import Uploads

from ..helpers import call_http, v2_event

INVOKE_LIMIT = 6 * 1024 * 1024  # "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
HEADER_ALLOWANCE = 10 * 1024  # the HTTP API accepts up to 10 KB of request headers, all copied into the event


def raw_event(photo: bytes) -> dict:
    return v2_event(body=photo, content_type="image/jpeg", base64_body=True)


def json_event(photo: bytes) -> dict:
    return v2_event(body=json.dumps({"image": base64.b64encode(photo).decode(), "top_k": 5}))


def event_bytes(event: dict, escape_slashes: bool = False) -> int:
    text = json.dumps(event)
    return len((text.replace("/", "\\/") if escape_slashes else text).encode())


def largest_photo(make_event, escape_slashes: bool = False) -> int:
    """The largest photo (bytes) whose event fits the invoke limit."""
    low, high = 1, INVOKE_LIMIT
    while low < high:
        middle = (low + high + 1) // 2
        if event_bytes(make_event(b"\xff" * middle), escape_slashes) <= INVOKE_LIMIT:
            low = middle
        else:
            high = middle - 1
    return low


@pytest.mark.parametrize("make_event", [raw_event, json_event], ids=["raw", "json"])
def test_the_limit_sits_under_what_the_invoke_payload_carries(make_event) -> None:
    largest, at_limit = largest_photo(make_event), event_bytes(make_event(b"\xff" * DIRECT_MAX_BYTES))
    print(f"largest photo that fits: {largest} B; event at the limit: {at_limit} B of {INVOKE_LIMIT}", file=sys.stderr)
    assert 4_600_000 < largest < 4_720_000  # about 4.4-4.5 MiB: 4/3 of it is base64
    assert at_limit + HEADER_ALLOWANCE < INVOKE_LIMIT
    # even if AWS escaped each "/" of the base64 text (1 in 64 characters of a compressed photo), it fits
    noise = random.Random(0).randbytes(DIRECT_MAX_BYTES)
    assert event_bytes(make_event(noise), escape_slashes=True) + HEADER_ALLOWANCE < INVOKE_LIMIT
    assert DIRECT_MAX_BYTES * 4 // 3 < MAX_BODY_BYTES < INVOKE_LIMIT


@pytest.fixture(scope="module")
def at_limit(cat_jpeg: bytes) -> bytes:
    """The cat photo padded after its end marker to exactly the direct limit (decoders ignore the tail)."""
    return cat_jpeg + b"\0" * (DIRECT_MAX_BYTES - len(cat_jpeg))


@pytest.mark.parametrize("make_event", [raw_event, json_event], ids=["raw", "json"])
def test_a_photo_at_the_limit_is_classified(gateway, at_limit: bytes, cat_jpeg: bytes, make_event) -> None:
    status, _, body = call_http(gateway, make_event(at_limit))
    assert status == 200, body
    _, _, plain = call_http(gateway, make_event(cat_jpeg))
    assert body["predictions"] == plain["predictions"]


@pytest.mark.parametrize("make_event", [raw_event, json_event], ids=["raw", "json"])
def test_one_byte_more_gets_our_413_naming_the_upload_path(classifier, at_limit: bytes, make_event) -> None:
    with_uploads = Gateway(Service(classifier, uploads=Uploads("photos")))  # S3 is never asked: the photo is refused first
    status, _, body = call_http(with_uploads, make_event(at_limit + b"\0"))
    assert (status, body["error"]["code"]) == (413, "image_too_large")
    assert body["error"]["message"] == (
        "The photo is larger than the 4 MiB limit for photos sent in the request; "
        'upload it first (POST /uploads takes up to 10 MiB) and send {"upload": key}.'
    )


@pytest.mark.parametrize("make_event", [raw_event, json_event], ids=["raw", "json"])
def test_without_uploads_the_413_points_at_a_url_not_at_a_route_that_is_not_there(gateway, at_limit: bytes, make_event) -> None:
    status, _, body = call_http(gateway, make_event(at_limit + b"\0"))
    assert (status, body["error"]["code"]) == (413, "image_too_large")
    assert "/uploads" not in body["error"]["message"] and "URL" in body["error"]["message"]
    assert call_http(gateway, v2_event(path="/uploads", body="{}"))[0] == 404  # indeed not there


def test_a_body_past_what_any_photo_needs_gets_the_same_sentence_refused_unread(gateway, at_limit: bytes) -> None:
    """Refused by its size before it is decoded: the same words as a photo one byte over."""
    photo_refusal = call_http(gateway, raw_event(at_limit + b"\0"))[2]
    body_refusal = call_http(gateway, raw_event(b"\xff" * (MAX_BODY_BYTES + 1)))[2]
    assert body_refusal == photo_refusal


def test_direct_invoke_keeps_the_same_limit(gateway, at_limit: bytes) -> None:
    answer = gateway.handle({"image": base64.b64encode(at_limit + b"\0").decode()})
    assert answer["error"]["code"] == "image_too_large"
    assert "predictions" in gateway.handle({"image": base64.b64encode(at_limit).decode()})
