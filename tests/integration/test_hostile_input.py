"""Hostile and unusual input through the real handler: each gets the documented answer,
and the next ordinary request still succeeds."""

from __future__ import annotations

import contextlib
import http.client
import io
import json
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from catbreed_local.client import send

from ..helpers import answer, b64, call_http, decompression_bomb, encode, refusal, v1_event, v2_event


@pytest.fixture(scope="module")
def cat(cat_jpeg: bytes) -> Image.Image:
    return Image.open(io.BytesIO(cat_jpeg)).convert("RGB")


@pytest.fixture()
def still_serving(gateway, cat_jpeg: bytes) -> Iterator[None]:
    """After each hostile request, an ordinary one must still get five breeds."""
    yield
    assert len(answer(gateway, "v2", {"image": b64(cat_jpeg)})["predictions"]) == 5


HOSTILE_PAYLOADS = {
    "truncated jpeg": (lambda cat_jpeg: {"image": b64(cat_jpeg[:5000])}, 415, "unsupported_image"),
    "zero bytes": (lambda cat_jpeg: {"image": ""}, 400, "invalid_request"),
    "decompression bomb": (lambda cat_jpeg: {"image": b64(decompression_bomb(50_000, 50_000))}, 415, "unsupported_image"),
    "20 MB upload": (lambda cat_jpeg: {"image": b64(b"\xff" * 20_000_000)}, 413, "image_too_large"),
    "file url": (lambda cat_jpeg: {"url": "file:///etc/passwd"}, 400, "invalid_url"),
    "ftp url": (lambda cat_jpeg: {"url": "ftp://ftp.example.com/cat.jpg"}, 400, "invalid_url"),
    "gopher url": (lambda cat_jpeg: {"url": "gopher://example.com:70/1"}, 400, "invalid_url"),
    "data url": (lambda cat_jpeg: {"url": "data:image/jpeg;base64," + b64(cat_jpeg[:30])}, 400, "invalid_url"),
    "private name": (lambda cat_jpeg: {"url": "http://rebind.test/cat.jpg"}, 400, "forbidden_url"),
    "top_k 0": (lambda cat_jpeg: {"image": b64(cat_jpeg), "top_k": 0}, 400, "invalid_request"),
    "top_k 1000": (lambda cat_jpeg: {"image": b64(cat_jpeg), "top_k": 1000}, 400, "invalid_request"),
    "top_k string": (lambda cat_jpeg: {"image": b64(cat_jpeg), "top_k": "5"}, 400, "invalid_request"),
    "image as object": (lambda cat_jpeg: {"image": {"bytes": "AAAA"}}, 400, "invalid_request"),
    "url as list": (lambda cat_jpeg: {"url": ["http://a.test/"]}, 400, "invalid_url"),
}


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("case", HOSTILE_PAYLOADS, ids=list(HOSTILE_PAYLOADS))
@pytest.mark.parametrize("shape", ["direct", "v2"])
def test_hostile_payloads(gateway, cat_jpeg: bytes, case: str, shape: str) -> None:
    make, status, code = HOSTILE_PAYLOADS[case]
    refusal(gateway, shape, make(cat_jpeg), status, code)


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/page.html", 415, "unsupported_image"),
        ("/empty.jpg", 415, "unsupported_image"),
        ("/huge-no-length", 413, "image_too_large"),
        ("/slow", 504, "download_timeout"),
        ("/redirect?to=http://127.0.0.1:1/cat.jpg", 502, "download_failed"),
        ("/redirect?to=http://169.254.169.254/latest/meta-data/", 400, "forbidden_url"),
        ("/redirect?to=http://[::1]/cat.jpg", 400, "forbidden_url"),
        ("/redirect?to=http://intranet.test/cat.jpg", 400, "forbidden_url"),
    ],
)
def test_hostile_downloads(gateway, photo_server: str, path: str, status: int, code: str) -> None:
    refusal(gateway, "v2", {"url": f"{photo_server}{path}"}, status, code)


@pytest.mark.usefixtures("still_serving")
def test_redirect_into_loopback_is_refused_by_the_default_handler(default_gateway, photo_server: str) -> None:
    # the deployed configuration allows no private address at all, the photo server included
    # (on its port other than 80 and 443 it is refused for the port, before its name is resolved)
    refusal(default_gateway, "v2", {"url": f"{photo_server}/redirect?to=http://127.0.0.1/"}, 400, "invalid_url")
    refusal(default_gateway, "v2", {"url": "http://127.0.0.1/redirect?to=http://127.0.0.1/"}, 400, "forbidden_url")


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("body", ["{", '{"image": "AAAA"', "{'single': 'quotes'}", '{"image": NaN}x'])
def test_malformed_json(gateway, body: str) -> None:
    status, _, answer = call_http(gateway, v2_event(body=body))
    assert (status, answer["error"]["code"]) == (400, "invalid_request")


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("make", [v2_event, v1_event])
@pytest.mark.parametrize("path", ["/predict", "/uploads", "/feedback"])
def test_deeply_nested_json_is_a_400_not_a_500(gateway, make, path: str) -> None:
    """200,000 `[` make json.loads raise RecursionError: a 400, no traceback, no 5xx alarm."""
    status, _, answer = call_http(gateway, make(path=path, body="[" * 200_000))
    assert (status, answer["error"]) == (400, {"code": "invalid_request", "message": "The request body is not valid JSON."})


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("path", ["/predict", "/2015-03-31/functions/function/invocations"])
def test_deeply_nested_json_to_the_local_server_is_a_400_not_a_500(local_api: str, path: str) -> None:
    status, answer = send(f"{local_api}{path}", b"[" * 200_000)
    assert (status, answer["error"]["code"]) == (400 if path == "/predict" else 200, "invalid_request")


@pytest.mark.usefixtures("still_serving")
def test_oversized_json_and_raw_bodies(gateway) -> None:
    huge = json.dumps({"image": "A" * 16_000_000})
    status, _, answer = call_http(gateway, v2_event(body=huge))
    assert (status, answer["error"]["code"]) == (413, "image_too_large")
    event = v2_event(body=b"\xff" * 16_000_000, content_type="image/jpeg", base64_body=True)
    status, _, answer = call_http(gateway, event)
    assert (status, answer["error"]["code"]) == (413, "image_too_large")


@pytest.mark.usefixtures("still_serving")
def test_20_mb_upload_to_the_local_server_is_refused_unread(local_api: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", int(local_api.rsplit(":", 1)[1]), timeout=30)
    try:
        connection.putrequest("POST", "/predict")
        connection.putheader("Content-Type", "image/jpeg")
        connection.putheader("Content-Length", str(20 * 1024 * 1024))
        connection.endheaders()
        with contextlib.suppress(OSError):
            connection.send(b"\xff" * 65536)
        response = connection.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["error"]["code"] == "image_too_large"
    finally:
        connection.close()


def unusual_photos(cat: Image.Image) -> dict[str, bytes]:
    gray16 = Image.fromarray((np.asarray(cat.convert("L"), dtype=np.uint16) * 257).astype(np.uint16))
    palette = cat.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
    palette.info["transparency"] = 0
    frames = [cat, cat.rotate(10), cat.rotate(20)]
    return {
        "cmyk jpeg": encode(cat.convert("CMYK"), "JPEG", quality=92),
        "16-bit png": encode(gray16, "PNG"),
        "grayscale jpeg": encode(cat.convert("L"), "JPEG", quality=92),
        "palette png with transparency": encode(palette, "PNG", transparency=0),
        "animated gif": encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=80, loop=0),
        "webp": encode(cat, "WEBP", quality=90),
        "bmp": encode(cat, "BMP"),
        "rgba png": encode(cat.convert("RGBA"), "PNG"),
    }


@pytest.mark.parametrize(
    "kind",
    ["cmyk jpeg", "16-bit png", "grayscale jpeg", "palette png with transparency", "animated gif", "webp", "bmp", "rgba png"],
)
def test_unusual_but_valid_photos_are_classified(gateway, cat: Image.Image, kind: str) -> None:
    body = answer(gateway, "v2", {"image": b64(unusual_photos(cat)[kind])})
    assert len(body["predictions"]) == 5 and body["is_cat"] is True


def test_an_exif_rotated_photo_gives_the_same_breeds_as_the_upright_one(gateway, cat: Image.Image) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored a quarter-turn anticlockwise; viewers turn it back
    sideways = cat.transpose(Image.Transpose.ROTATE_90)
    upright = answer(gateway, "direct", {"image": b64(encode(cat, "PNG"))})
    rotated = answer(gateway, "direct", {"image": b64(encode(sideways, "PNG", exif=exif))})
    ignored = answer(gateway, "direct", {"image": b64(encode(sideways, "PNG"))})
    assert rotated["predictions"] == upright["predictions"]
    assert ignored["predictions"] != upright["predictions"]  # the orientation really mattered
    # a JPEG re-encodes the pixels (lossy), so only the answer's gist must hold
    rotated_jpeg = answer(gateway, "direct", {"image": b64(encode(sideways, "JPEG", exif=exif, quality=95))})
    first, again = upright["predictions"][0], rotated_jpeg["predictions"][0]
    assert again["breed"] == first["breed"] and abs(again["probability"] - first["probability"]) < 0.1
