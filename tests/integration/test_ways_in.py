"""A real photo through every way in gives the same top-5: direct invoke, HTTP API v2,
REST v1, a raw image body, and the local server over HTTP (API routes and emulator route)."""

from __future__ import annotations

import base64
import json
import urllib.request
from collections.abc import Iterator

import pytest

import lambda_function
from catbreed_local.client import send
from catbreed_local.server import INVOKE_PATH

from ..helpers import load_event, serving, v1_event, v2_event


@pytest.fixture(scope="module")
def local_server() -> Iterator[str]:
    """The local server around the real lambda_function handler, on a free port."""
    with serving(lambda_function.lambda_handler) as url:
        yield url


def test_every_way_in_gives_the_same_top_5(local_server: str, cat_jpeg: bytes) -> None:
    handler = lambda_function.lambda_handler
    photo = base64.b64encode(cat_jpeg).decode()
    answers = {
        "direct": handler({"image": photo}, None),
        "direct event file": handler(load_event("direct_image.json"), None),
        "v2 json": json.loads(handler(load_event("http_api_v2_predict_json.json"), None)["body"]),
        "v2 raw": json.loads(handler(load_event("http_api_v2_predict_raw_image.json"), None)["body"]),
        "v1 json": json.loads(handler(load_event("rest_api_v1_predict_json.json"), None)["body"]),
        "v1 raw": json.loads(handler(v1_event(body=cat_jpeg, content_type="image/jpeg", base64_body=True), None)["body"]),
        "server json": send(f"{local_server}/predict", json.dumps({"image": photo}).encode(), "application/json")[1],
        "server raw": send(f"{local_server}/predict", cat_jpeg, "image/jpeg")[1],
        "server emulator": send(f"{local_server}{INVOKE_PATH}", json.dumps({"image": photo}).encode(), "application/json")[1],
    }
    reference = answers["direct"]["predictions"]
    assert len(reference) == 5
    for way, answer in answers.items():
        assert answer["predictions"] == reference, way
        assert answer["is_cat"] is True, way


def test_the_local_server_answers_errors_like_api_gateway(local_server: str) -> None:
    status, body = send(f"{local_server}/predict", b"{broken", "application/json")
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    status, body = send(f"{local_server}/predict", b"plain text, not a photo", "image/png")
    assert (status, body["error"]["code"]) == (415, "unsupported_image")
    status, body = send(f"{local_server}{INVOKE_PATH}", json.dumps({"url": "ftp://x.test/a.jpg"}).encode(), "application/json")
    assert (status, body["error"]["code"]) == (200, "invalid_url")  # the emulator returns the handler's body


def test_the_local_server_refuses_a_content_length_that_is_not_a_number(local_server: str) -> None:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", int(local_server.rsplit(":", 1)[1]), timeout=10)
    try:
        connection.putrequest("POST", "/predict")
        connection.putheader("Content-Type", "image/jpeg")
        connection.putheader("Content-Length", "lots")
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 400
        assert json.loads(response.read())["error"]["code"] == "invalid_request"
    finally:
        connection.close()
    with pytest.raises(urllib.error.HTTPError) as error:  # and unknown non-GET routes are a JSON 404
        urllib.request.urlopen(urllib.request.Request(f"{local_server}/nope", data=b"", method="POST"), timeout=10)
    assert error.value.code == 404 and json.loads(error.value.read())["error"]["code"] == "not_found"


def test_the_local_server_serves_the_page_and_breeds(local_server: str) -> None:
    with urllib.request.urlopen(f"{local_server}/", timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/html")
        assert b"<html" in response.read().lower()
    with urllib.request.urlopen(f"{local_server}/breeds", timeout=10) as response:
        body = json.loads(response.read())
    assert body["breeds"] == lambda_function.GATEWAY.service.classifier.breeds



@pytest.mark.parametrize("path", ["/../lambda_function.py", "/../README.md", "/../../../etc/passwd", "/.%2e/lambda_function.py"])
def test_the_local_server_serves_nothing_outside_the_page(local_server: str, path: str) -> None:
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{local_server}{path}", timeout=10)  # sent as written: urllib keeps the dots
    assert error.value.code == 404


def test_v2_event_of_the_local_server_matches_api_gateways_shape() -> None:
    from catbreed_local.server import http_api_event

    event = http_api_event("POST", "/predict", "", {"content-type": "image/jpeg"}, b"\xff\xd8")
    sample = v2_event(body=b"\xff\xd8", content_type="image/jpeg", base64_body=True)
    assert set(sample) >= set(event) - {"rawQueryString"}
    assert event["isBase64Encoded"] is True and base64.b64decode(event["body"]) == b"\xff\xd8"
