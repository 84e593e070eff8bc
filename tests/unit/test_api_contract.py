"""Every row of API.md's error table, through the direct and both HTTP event shapes,
and the success body's shape, on the shipped model."""

from __future__ import annotations

import json

import pytest

from ..conftest import FIXTURES
from ..helpers import SHAPES, b64, call, call_http, v1_event, v2_event


@pytest.mark.parametrize("shape", SHAPES)
def test_a_cat_photo_gets_five_breeds(gateway, cat_jpeg: bytes, shape: str) -> None:
    status, body = call(gateway, shape, {"image": b64(cat_jpeg)})
    assert status == 200
    predictions = body["predictions"]
    assert len(predictions) == 5
    probabilities = [p["probability"] for p in predictions]
    assert probabilities == sorted(probabilities, reverse=True)
    assert all(0 <= p <= 1 for p in probabilities)
    assert all("_" not in p["breed"] for p in predictions)
    assert body["is_cat"] is True and 0 <= body["cat_score"] <= 1
    assert body["model"] == gateway.service.classifier.info


@pytest.mark.parametrize("shape", SHAPES)
def test_top_k_and_data_url_prefix(gateway, cat_jpeg: bytes, shape: str) -> None:
    status, body = call(gateway, shape, {"image": "data:image/jpeg;base64," + b64(cat_jpeg), "top_k": 2})
    assert status == 200 and len(body["predictions"]) == 2
    breeds = gateway.service.classifier.breeds
    status, body = call(gateway, shape, {"image": b64(cat_jpeg), "top_k": len(breeds)})
    assert status == 200
    assert sorted(p["breed"] for p in body["predictions"]) == sorted(breeds)
    assert sum(p["probability"] for p in body["predictions"]) == pytest.approx(1, abs=2e-3)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("photo", ["coffee.jpg", "rocket.jpg"])
def test_photos_without_a_cat_are_not_cats(gateway, shape: str, photo: str) -> None:
    status, body = call(gateway, shape, {"image": b64((FIXTURES / photo).read_bytes())})
    assert status == 200 and body["is_cat"] is False
    assert len(body["predictions"]) == 5  # the guesses are still listed


@pytest.mark.parametrize("shape", SHAPES)
def test_a_url_is_downloaded_and_classified(gateway, photo_server: str, cat_jpeg: bytes, shape: str) -> None:
    status, body = call(gateway, shape, {"url": f"{photo_server}/cat.jpg"})
    _, by_bytes = call(gateway, shape, {"image": b64(cat_jpeg)})
    assert status == 200 and body["predictions"] == by_bytes["predictions"]


BAD_REQUESTS = [
    ({}, "invalid_request"),
    ({"top_k": 3}, "invalid_request"),
    ({"url": "http://a.test/x.jpg", "image": "AAAA"}, "invalid_request"),
    ({"image": "%%% not base64 %%%"}, "invalid_request"),
    ({"image": ""}, "invalid_request"),
    ({"image": 12345}, "invalid_request"),
    ({"image": ["AAAA"]}, "invalid_request"),
    ({"url": 42}, "invalid_url"),
    ({"url": None, "image": None}, "invalid_request"),
    ({"image": "AAAA", "top_k": 0}, "invalid_request"),
    ({"image": "AAAA", "top_k": 1000}, "invalid_request"),
    ({"image": "AAAA", "top_k": "5"}, "invalid_request"),
    ({"image": "AAAA", "top_k": True}, "invalid_request"),
    ({"image": "AAAA", "top_k": 2.5}, "invalid_request"),
    ({"image": "AAAA", "top_k": -1}, "invalid_request"),
    ({"url": "ftp://a.test/cat.jpg"}, "invalid_url"),
    ({"url": "file:///etc/passwd"}, "invalid_url"),
    ({"url": "gopher://a.test/"}, "invalid_url"),
    ({"url": "data:image/png;base64,AAAA"}, "invalid_url"),
    ({"url": ""}, "invalid_url"),
    ({"url": "http://127.0.0.1/cat.jpg"}, "forbidden_url"),
    ({"url": "http://10.0.0.8/cat.jpg"}, "forbidden_url"),
    ({"url": "http://169.254.169.254/latest/meta-data/"}, "forbidden_url"),
    ({"url": "http://[fe80::1]/cat.jpg"}, "forbidden_url"),
    ({"url": "http://intranet.test/cat.jpg"}, "forbidden_url"),
]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(("payload", "code"), BAD_REQUESTS)
def test_bad_requests_get_400(default_gateway, shape: str, payload: dict, code: str) -> None:
    status, body = call(default_gateway, shape, payload)
    assert (status, body["error"]["code"]) == (400, code)
    assert body["error"]["message"].endswith(".")


@pytest.mark.parametrize("shape", SHAPES)
def test_uploads_over_the_limit_get_413(gateway, shape: str) -> None:
    status, body = call(gateway, shape, {"image": b64(b"\xff" * (10 * 1024 * 1024 + 10))})
    assert (status, body["error"]["code"]) == (413, "image_too_large")


@pytest.mark.parametrize("shape", SHAPES)
def test_downloads_over_the_limit_get_413(gateway, photo_server: str, shape: str) -> None:
    status, body = call(gateway, shape, {"url": f"{photo_server}/huge-no-length"})
    assert (status, body["error"]["code"]) == (413, "image_too_large")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("data", [b"hello, not a photo", b"<!doctype html><p>hi</p>", b"\xff\xd8\xff"])
def test_bytes_that_are_not_a_photo_get_415(gateway, shape: str, data: bytes) -> None:
    status, body = call(gateway, shape, {"image": b64(data)})
    assert (status, body["error"]["code"]) == (415, "unsupported_image")


@pytest.mark.parametrize("shape", SHAPES)
def test_html_served_as_a_photo_gets_415(gateway, photo_server: str, shape: str) -> None:
    status, body = call(gateway, shape, {"url": f"{photo_server}/page.html"})
    assert (status, body["error"]["code"]) == (415, "unsupported_image")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("path", ["/missing.jpg", "/loop"])
def test_failed_downloads_get_502(gateway, photo_server: str, shape: str, path: str) -> None:
    status, body = call(gateway, shape, {"url": f"{photo_server}{path}"})
    assert (status, body["error"]["code"]) == (502, "download_failed")


@pytest.mark.parametrize("shape", SHAPES)
def test_unresolvable_hosts_get_502(gateway, shape: str) -> None:
    status, body = call(gateway, shape, {"url": "http://no-such-host.invalid/cat.jpg"})
    assert (status, body["error"]["code"]) == (502, "download_failed")


@pytest.mark.parametrize("shape", SHAPES)
def test_slow_downloads_get_504(gateway, photo_server: str, shape: str) -> None:
    status, body = call(gateway, shape, {"url": f"{photo_server}/hang"})
    assert (status, body["error"]["code"]) == (504, "download_timeout")


@pytest.mark.parametrize("shape", SHAPES)
def test_our_own_faults_get_500_and_say_nothing_internal(gateway, cat_jpeg: bytes, shape: str, monkeypatch) -> None:
    def broken(photo: bytes) -> None:
        raise RuntimeError("interpreter exploded at /opt/secret/path.py line 12")

    monkeypatch.setattr(gateway.service.classifier, "predict", broken)
    status, body = call(gateway, shape, {"image": b64(cat_jpeg)})
    assert (status, body["error"]["code"]) == (500, "internal_error")
    assert "secret" not in json.dumps(body) and "exploded" not in json.dumps(body)
    monkeypatch.undo()
    assert call(gateway, shape, {"image": b64(cat_jpeg)})[0] == 200  # and it keeps serving


@pytest.mark.parametrize("make", [v2_event, v1_event])
@pytest.mark.parametrize("body", ["{not json", "", "[1, 2", "\x00\x01"])
def test_malformed_json_gets_400(gateway, make, body: str) -> None:
    status, _, answer = call_http(gateway, make(body=body))
    assert (status, answer["error"]["code"]) == (400, "invalid_request")


@pytest.mark.parametrize("make", [v2_event, v1_event])
def test_json_that_is_not_an_object_gets_400(gateway, make) -> None:
    for body in ("[]", "42", '"a string"', "null"):
        status, _, answer = call_http(gateway, make(body=body))
        assert (status, answer["error"]["code"]) == (400, "invalid_request")


def test_direct_events_that_are_not_objects_get_400(gateway) -> None:
    for event in (None, "a string", [1, 2], 42):
        body = gateway.handle(event)
        assert body["error"]["code"] == "invalid_request"


@pytest.mark.parametrize("make", [v2_event, v1_event])
def test_raw_image_bodies(gateway, make, cat_jpeg: bytes) -> None:
    status, _, body = call_http(gateway, make(body=cat_jpeg, content_type="image/jpeg", base64_body=True))
    assert status == 200 and len(body["predictions"]) == 5
    status, _, body = call_http(gateway, make(body=b"not an image", content_type="image/png", base64_body=True))
    assert (status, body["error"]["code"]) == (415, "unsupported_image")
    status, _, body = call_http(gateway, make(body=b"\xff" * (10 * 1024 * 1024 + 1), content_type="image/jpeg", base64_body=True))
    assert (status, body["error"]["code"]) == (413, "image_too_large")


def test_an_event_body_marked_base64_that_is_not(gateway) -> None:
    event = v2_event(body="!!!not base64!!!", content_type="image/jpeg")
    event["isBase64Encoded"] = True
    status, _, body = call_http(gateway, event)
    assert (status, body["error"]["code"]) == (400, "invalid_request")


@pytest.mark.parametrize("make", [v2_event, v1_event])
def test_breeds_route_lists_the_models_labels(gateway, make) -> None:
    status, _, body = call_http(gateway, make(method="GET", path="/breeds", body=None))
    assert status == 200
    assert body["breeds"] == gateway.service.classifier.breeds
    assert body["model"]["breeds"] == len(body["breeds"])


@pytest.mark.parametrize("make", [v2_event, v1_event])
def test_cors_preflight_and_headers(gateway, make) -> None:
    status, headers, _ = call_http(gateway, make(method="OPTIONS", path="/predict", body=None))
    assert status == 204
    assert headers["Access-Control-Allow-Origin"] in ("*", "https://d111111abcdef8.cloudfront.net")
    assert "POST" in headers["Access-Control-Allow-Methods"]


def test_cors_allows_only_the_configured_origin(classifier) -> None:
    from catbreed.gateway import Gateway
    from catbreed.service import Service

    strict = Gateway(Service(classifier), allowed_origins="https://cats.example.com")
    allowed = v2_event(method="OPTIONS", path="/predict")
    allowed["headers"]["origin"] = "https://cats.example.com"
    assert call_http(strict, allowed)[1]["Access-Control-Allow-Origin"] == "https://cats.example.com"
    other = v2_event(method="OPTIONS", path="/predict")
    other["headers"]["origin"] = "https://evil.example.net"
    assert "Access-Control-Allow-Origin" not in call_http(strict, other)[1]


@pytest.mark.parametrize("make", [v2_event, v1_event])
def test_unknown_routes_and_methods(gateway, make) -> None:
    status, _, body = call_http(gateway, make(method="GET", path="/nope", body=None))
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, _, body = call_http(gateway, make(method="GET", path="/predict", body=None))
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")


def test_one_json_log_line_per_request_without_the_photo(gateway, cat_jpeg: bytes, caplog) -> None:
    event = v2_event(body=json.dumps({"image": b64(cat_jpeg)}))
    with caplog.at_level("INFO", logger="catbreed.requests"):
        gateway.handle(event)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "catbreed.requests"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == event["requestContext"]["requestId"]
    assert line["status"] == 200 and line["outcome"] == "ok" and line["source"] == "image"
    assert line["photo_bytes"] == len(cat_jpeg)
    assert {"classify", "total"} <= set(line["timings_ms"])
    assert b64(cat_jpeg)[:40] not in json.dumps(line)
