"""Every row of docs/API.md's error table, through the direct and both HTTP event shapes,
and the success answer, on the shipped model; every answer is checked against
docs/openapi.yaml by the helpers."""

from __future__ import annotations

import json
import re
from unittest.mock import ANY

import pytest

from catbreed.service import DIRECT_MAX_BYTES

from ..helpers import (
    DOGS,
    FIXTURES,
    ROOT,
    SHAPES,
    answer,
    b64,
    call_http,
    check_answer,
    contract_document,
    refusal,
    v1_event,
    v2_event,
)


@pytest.mark.parametrize("shape", SHAPES)
def test_a_cat_photo_gets_five_breeds(gateway, cat_jpeg: bytes, shape: str) -> None:
    body = answer(gateway, shape, {"image": b64(cat_jpeg)})
    probabilities = [p["probability"] for p in body["predictions"]]
    assert len(probabilities) == 5 and probabilities == sorted(probabilities, reverse=True)
    assert body["is_cat"] is True
    assert body["model"] == gateway.service.classifier.info


@pytest.mark.parametrize("shape", SHAPES)
def test_top_k_and_data_url_prefix(gateway, cat_jpeg: bytes, shape: str) -> None:
    body = answer(gateway, shape, {"image": "data:image/jpeg;base64," + b64(cat_jpeg), "top_k": 2})
    assert len(body["predictions"]) == 2
    breeds = gateway.service.classifier.breeds
    body = answer(gateway, shape, {"image": b64(cat_jpeg), "top_k": len(breeds)})
    assert sorted(p["breed"] for p in body["predictions"]) == sorted(breeds)
    assert sum(p["probability"] for p in body["predictions"]) == pytest.approx(1, abs=2e-3)


@pytest.mark.parametrize("shape", SHAPES)
def test_top_k_one_past_the_number_of_breeds_is_refused(gateway, cat_jpeg: bytes, shape: str) -> None:
    breeds = len(gateway.service.classifier.breeds)
    body = refusal(gateway, shape, {"image": b64(cat_jpeg), "top_k": breeds + 1}, 400, "invalid_request")
    assert str(breeds) in body["error"]["message"]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("photo", ["coffee.jpg", "rocket.jpg", *DOGS])
def test_photos_without_a_cat_are_not_cats(gateway, shape: str, photo: str) -> None:
    body = answer(gateway, shape, {"image": b64((FIXTURES / photo).read_bytes())})
    assert body["is_cat"] is False and body["confident"] is False
    assert len(body["predictions"]) == 5  # the guesses are still listed


@pytest.mark.parametrize("shape", SHAPES)
def test_a_url_is_downloaded_and_classified(gateway, photo_server: str, cat_jpeg: bytes, shape: str) -> None:
    by_url = answer(gateway, shape, {"url": f"{photo_server}/cat.jpg"})
    by_bytes = answer(gateway, shape, {"image": b64(cat_jpeg)})
    assert by_url["predictions"] == by_bytes["predictions"]


BAD_REQUESTS = [
    ({}, "invalid_request"),
    ({"top_k": 3}, "invalid_request"),
    ({"url": "http://a.test/x.jpg", "image": "AAAA"}, "invalid_request"),
    ({"url": "http://a.test/x.jpg", "upload": "uploads/0123456789abcdef0123456789abcdef"}, "invalid_request"),
    ({"image": "AAAA", "upload": "uploads/0123456789abcdef0123456789abcdef"}, "invalid_request"),
    ({"url": "http://a.test/x.jpg", "image": "AAAA", "upload": "uploads/0123456789abcdef0123456789abcdef"}, "invalid_request"),
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
    body = refusal(default_gateway, shape, payload, 400, code)
    assert body["error"]["message"].endswith(".")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("stray", ["!", "*", "-", "_", "é"])
def test_a_character_outside_base64_is_refused_not_skipped(gateway, cat_jpeg: bytes, shape: str, stray: str) -> None:
    """One stray character in a real photo's base64: a lenient decoder would drop it and
    answer; the contract says standard base64 (line breaks and spaces only are allowed)."""
    text = b64(cat_jpeg)
    refusal(gateway, shape, {"image": text[:1000] + stray + text[1000:]}, 400, "invalid_request")
    assert answer(gateway, shape, {"image": text[:1000] + "\n " + text[1000:]})["is_cat"] is True


@pytest.mark.parametrize("make", [v1_event, v2_event])
def test_a_stage_name_at_the_start_of_the_path_is_not_part_of_the_route(gateway, cat_jpeg: bytes, make) -> None:
    """A REST API (v1) stage, or an HTTP API stage other than $default, puts /prod in front
    of the route: /prod/predict is POST /predict."""
    event = make(body=json.dumps({"image": b64(cat_jpeg)}))
    event["requestContext"]["stage"] = "prod"
    if make is v1_event:
        event["path"] = "/prod/predict"
    else:
        event["rawPath"] = event["requestContext"]["http"]["path"] = "/prod/predict"
    response = gateway.handle(event)
    body = json.loads(response["body"])
    check_answer("POST", "/predict", response["statusCode"], body)
    assert response["statusCode"] == 200 and body["is_cat"] is True
    event["requestContext"]["stage"] = "test"  # another stage's name is part of the path: no such route
    assert gateway.handle(event)["statusCode"] == 404


@pytest.mark.parametrize("shape", SHAPES)
def test_photos_over_the_direct_limit_get_413(gateway, shape: str) -> None:
    refusal(gateway, shape, {"image": b64(b"\xff" * (DIRECT_MAX_BYTES + 1))}, 413, "image_too_large")


@pytest.mark.parametrize("make", [v2_event, v1_event])
def test_a_raw_body_of_exactly_the_direct_limit_is_read_one_byte_more_is_refused(gateway, make) -> None:
    for size, status, code in ((DIRECT_MAX_BYTES, 415, "unsupported_image"), (DIRECT_MAX_BYTES + 1, 413, "image_too_large")):
        event = make(body=b"\xff" * size, content_type="image/jpeg", base64_body=True)
        assert call_http(gateway, event)[::2] == (status, {"error": {"code": code, "message": ANY}})


@pytest.mark.parametrize("shape", SHAPES)
def test_downloads_over_the_limit_get_413(gateway, photo_server: str, shape: str) -> None:
    refusal(gateway, shape, {"url": f"{photo_server}/huge-no-length"}, 413, "image_too_large")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("data", [b"hello, not a photo", b"<!doctype html><p>hi</p>", b"\xff\xd8\xff"])
def test_bytes_that_are_not_a_photo_get_415(gateway, shape: str, data: bytes) -> None:
    refusal(gateway, shape, {"image": b64(data)}, 415, "unsupported_image")


@pytest.mark.parametrize("shape", SHAPES)
def test_html_served_as_a_photo_gets_415(gateway, photo_server: str, shape: str) -> None:
    refusal(gateway, shape, {"url": f"{photo_server}/page.html"}, 415, "unsupported_image")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("path", ["/missing.jpg", "/loop"])
def test_failed_downloads_get_502(gateway, photo_server: str, shape: str, path: str) -> None:
    refusal(gateway, shape, {"url": f"{photo_server}{path}"}, 502, "download_failed")


@pytest.mark.parametrize("shape", SHAPES)
def test_unresolvable_hosts_get_502(gateway, shape: str) -> None:
    refusal(gateway, shape, {"url": "http://no-such-host.invalid/cat.jpg"}, 502, "download_failed")


@pytest.mark.parametrize("shape", SHAPES)
def test_slow_downloads_get_504(gateway, photo_server: str, shape: str) -> None:
    refusal(gateway, shape, {"url": f"{photo_server}/hang"}, 504, "download_timeout")


@pytest.mark.parametrize("shape", SHAPES)
def test_our_own_faults_get_500_and_say_nothing_internal(gateway, cat_jpeg: bytes, shape: str, monkeypatch) -> None:
    def broken(photo: bytes) -> None:
        raise RuntimeError("interpreter exploded at /opt/secret/path.py line 12")

    monkeypatch.setattr(gateway.service.classifier, "predict", broken)
    body = refusal(gateway, shape, {"image": b64(cat_jpeg)}, 500, "internal_error")
    assert "secret" not in json.dumps(body) and "exploded" not in json.dumps(body)
    monkeypatch.undo()
    answer(gateway, shape, {"image": b64(cat_jpeg)})  # and it keeps serving


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
        refusal(gateway, "direct", event, 400, "invalid_request")


@pytest.mark.parametrize("make", [v2_event, v1_event])
def test_raw_image_bodies(gateway, make, cat_jpeg: bytes) -> None:
    status, _, body = call_http(gateway, make(body=cat_jpeg, content_type="image/jpeg", base64_body=True))
    assert status == 200 and len(body["predictions"]) == 5
    status, _, body = call_http(gateway, make(body=b"not an image", content_type="image/png", base64_body=True))
    assert (status, body["error"]["code"]) == (415, "unsupported_image")
    status, _, body = call_http(gateway, make(body=b"\xff" * (DIRECT_MAX_BYTES + 1), content_type="image/jpeg", base64_body=True))
    assert (status, body["error"]["code"]) == (413, "image_too_large")


@pytest.mark.parametrize("make", [v2_event, v1_event])
@pytest.mark.parametrize("content_type", ["application/octet-stream", "Image/JPEG; charset=binary"])
def test_a_raw_photo_of_any_image_type_or_plain_bytes_is_classified_not_parsed_as_json(
    gateway, make, content_type: str, cat_jpeg: bytes
) -> None:
    status, _, body = call_http(gateway, make(body=cat_jpeg, content_type=content_type, base64_body=True))
    assert status == 200 and len(body["predictions"]) == 5


def test_an_event_body_marked_base64_that_is_not(gateway) -> None:
    event = v2_event(body="aGVs#bG8=", content_type="image/jpeg")  # "hello" if the "#" were skipped
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
def test_the_function_leaves_cors_to_api_gateway(gateway, make) -> None:
    event = make(method="GET", path="/breeds", body=None)
    event["headers"]["origin"] = "https://cats.example.com"
    status, headers, _ = call_http(gateway, event)
    assert status == 200 and headers == {"Content-Type": "application/json"}
    status, _, body = call_http(gateway, make(method="OPTIONS", path="/predict", body=None))
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")


@pytest.mark.parametrize("make", [v2_event, v1_event])
def test_unknown_routes_and_methods(gateway, make) -> None:
    status, _, body = call_http(gateway, make(method="GET", path="/nope", body=None))
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, _, body = call_http(gateway, make(method="GET", path="/predict", body=None))
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")


def test_the_limits_the_breeds_route_states_are_the_ones_enforced(gateway) -> None:
    from catbreed.errors import ImageTooLarge
    from catbreed.uploads import check_upload_request

    limits = call_http(gateway, v2_event(method="GET", path="/breeds", body=None))[2]["limits"]
    for size, status in ((limits["direct_max_bytes"], 415), (limits["direct_max_bytes"] + 1, 413)):  # not a photo, or too big
        event = v2_event(body=b"\xff" * size, content_type="image/jpeg", base64_body=True)
        assert call_http(gateway, event)[0] == status
    assert check_upload_request({"content_type": "image/jpeg", "size": limits["photo_max_bytes"]})
    with pytest.raises(ImageTooLarge):
        check_upload_request({"content_type": "image/jpeg", "size": limits["photo_max_bytes"] + 1})


def contract_routes() -> dict[str, set[str]]:
    """The contract's paths (a `{name}` part filled in) and the methods each takes."""
    return {
        re.sub(r"\{\w+\}", "0123456789abcdef0123456789abcdef", path): {method.upper() for method in operations}
        for path, operations in contract_document()["paths"].items()
    }


@pytest.mark.parametrize("make", [v2_event, v1_event])
def test_an_unknown_route_is_answered_with_every_route_of_the_contract(gateway, make) -> None:
    message = call_http(gateway, make(method="GET", path="/nope", body=None))[2]["error"]["message"]
    for path, operations in contract_document()["paths"].items():
        for method in operations:
            assert f"{method.upper()} {path}" in message


@pytest.mark.parametrize("make", [v2_event, v1_event])
def test_a_method_a_route_does_not_take_gets_405_with_the_contracts_methods_in_allow(gateway, make) -> None:
    for path, methods in contract_routes().items():
        status, headers, body = call_http(gateway, make(method="PATCH", path=path, body=None))
        assert (status, body["error"]["code"]) == (405, "method_not_allowed"), path
        assert set(headers["Allow"].split(", ")) == methods, path
        assert body["error"]["message"].endswith(", not PATCH."), path


def test_the_feedback_path_is_spelled_in_one_python_module_at_most() -> None:
    """Routes live in one table (catbreed.gateway.ROUTES): the local server routes by it."""
    modules = [p for folder in ("catbreed", "catbreed_local") for p in (ROOT / folder).glob("*.py")]
    assert len([p.name for p in modules if "/feedback/" in p.read_text()]) <= 1


@pytest.mark.parametrize("make", [v2_event, v1_event])
def test_a_raw_photo_without_a_content_type_is_told_which_to_send(gateway, make, cat_jpeg: bytes) -> None:
    """curl --data-binary @cat.jpg alone (no type, or a form's): not "not valid JSON" and nothing more."""
    for content_type in ("application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
        status, _, body = call_http(gateway, make(body=cat_jpeg, content_type=content_type, base64_body=True))
        assert (status, body["error"]["code"]) == (400, "invalid_request")
        assert "Content-Type: image/jpeg" in body["error"]["message"]
    event = v2_event(body=cat_jpeg, content_type=None, base64_body=True)
    assert "Content-Type: image/jpeg" in call_http(gateway, event)[2]["error"]["message"]
    status, _, body = call_http(gateway, make(body="{", content_type="application/json"))  # JSON it says it is: no hint
    assert (status, body["error"]["message"]) == (400, "The request body is not valid JSON.")


@pytest.mark.parametrize("make", [v2_event, v1_event])
def test_top_k_in_the_query_counts_for_a_raw_photo_and_a_json_body_without_its_own(gateway, make, cat_jpeg: bytes) -> None:
    def ask(body: str | bytes, query: dict, content_type: str = "image/jpeg") -> tuple[int, dict]:
        event = make(body=body, content_type=content_type, base64_body=isinstance(body, bytes))
        event["queryStringParameters"] = query
        status, _, answer = call_http(gateway, event)
        return status, answer

    assert len(ask(cat_jpeg, {"top_k": "2"})[1]["predictions"]) == 2
    assert len(ask(cat_jpeg, {})[1]["predictions"]) == 5
    assert len(ask(json.dumps({"image": b64(cat_jpeg)}), {"top_k": "3"}, "application/json")[1]["predictions"]) == 3
    assert len(ask(json.dumps({"image": b64(cat_jpeg), "top_k": 4}), {"top_k": "2"}, "application/json")[1]["predictions"]) == 4
    refused_in_json = refusal(gateway, "v2", {"image": b64(cat_jpeg), "top_k": 0}, 400, "invalid_request")
    for bad in ("0", "abc", "2.5", "-1", "45", ""):
        status, answer = ask(cat_jpeg, {"top_k": bad})
        assert (status, answer["error"]) == (400, refused_in_json["error"]), bad
