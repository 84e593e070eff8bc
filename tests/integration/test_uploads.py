"""Presigned uploads against moto's S3 on 127.0.0.1: POST /uploads signs a POST for one photo
under a random uploads/ key; POST /predict {"upload": key} answers from it and deletes it.

moto accepts a presigned POST without checking the policy's conditions (size, type, key),
so the tests read the signed policy for those and check what the function itself does with
whatever lands in the bucket."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

import test as test_script
import test_cloud
from catbreed.errors import UploadNotFound
from catbreed.gateway import Gateway
from catbreed.limits import PHOTO_MAX_BYTES
from catbreed.service import Service
from catbreed.storage import s3_client
from catbreed.uploads import Uploads
from catbreed_local.client import DIRECT_MAX_BYTES, format_answer

from ..helpers import LOOPBACK_ONLY, call_http, serving, v2_event

BUCKET = "catbreed-uploads-test"


@pytest.fixture(scope="module")
def s3(moto_endpoint: str) -> Iterator[Any]:
    client = s3_client(moto_endpoint)  # the function's own client, pointed at moto
    client.create_bucket(Bucket=BUCKET)
    yield client


@pytest.fixture(scope="module")
def gateway(classifier: Any, s3: Any, moto_endpoint: str) -> Gateway:
    return Gateway(Service(classifier, LOOPBACK_ONLY, uploads=Uploads(BUCKET, endpoint=moto_endpoint)))


def post(gateway: Gateway, path: str, payload: Any) -> tuple[int, dict]:
    status, _, body = call_http(gateway, v2_event(path=path, body=json.dumps(payload)))
    return status, body


def presign(gateway: Gateway, content_type: str = "image/jpeg", size: int = 1000) -> dict:
    status, body = post(gateway, "/uploads", {"content_type": content_type, "size": size})
    assert status == 200, body
    return body


def upload(ticket: dict, data: bytes, content_type: str = "image/jpeg") -> int:
    """POST the photo to S3 exactly as the page does: the signed fields, then the file."""
    response = requests.post(ticket["url"], data=ticket["fields"], files={"file": ("photo", data, content_type)}, timeout=10)
    return response.status_code


def uploads_in(s3: Any) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix="uploads/").get("Contents", [])}


def exists(s3: Any, key: str) -> bool:
    return s3.list_objects_v2(Bucket=BUCKET, Prefix=key).get("KeyCount", 0) > 0


def test_uploads_answers_a_signed_post_for_one_image_under_a_random_key(gateway: Gateway) -> None:
    first, second = presign(gateway), presign(gateway, "image/png", 5 * 1024 * 1024)
    assert first["upload"] != second["upload"]
    for ticket in (first, second):
        assert ticket["upload"].startswith("uploads/") and len(ticket["upload"]) == len("uploads/") + 32
        assert ticket["expires_in"] == 60 and ticket["max_bytes"] == PHOTO_MAX_BYTES == 10 * 1024 * 1024
        assert ticket["fields"]["key"] == ticket["upload"]
        assert ticket["fields"]["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert second["fields"]["Content-Type"] == "image/png"


def signed_policy(ticket: dict) -> dict:
    return json.loads(base64.b64decode(ticket["fields"]["policy"]))


@pytest.mark.parametrize("size", [1, 2000, 6815744, 10 * 1024 * 1024])
def test_the_signed_policy_carries_type_exact_size_key_and_one_minute(gateway: Gateway, size: int) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    ticket = presign(gateway, "image/jpeg", size)
    after = datetime.now(UTC)
    policy = signed_policy(ticket)
    conditions = policy["conditions"]
    assert {"Content-Type": "image/jpeg"} in conditions
    assert ["starts-with", "$Content-Type", "image/"] in conditions
    # S3 takes exactly the declared size: one ticket cannot carry a bigger file
    assert [c for c in conditions if isinstance(c, list) and c[0] == "content-length-range"] == [
        ["content-length-range", size, size]
    ]
    assert {"key": ticket["upload"]} in conditions and {"bucket": BUCKET} in conditions
    expires = datetime.strptime(policy["expiration"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before + timedelta(seconds=60) <= expires <= after + timedelta(seconds=60)  # a minute from the request


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ({"content_type": "text/html", "size": 100}, 415, "unsupported_image"),
        ({"content_type": "application/pdf", "size": 100}, 415, "unsupported_image"),
        ({"content_type": "image/jpeg", "size": 10 * 1024 * 1024 + 1}, 413, "image_too_large"),
        ({"content_type": "image/jpeg", "size": 0}, 400, "invalid_request"),
        ({"content_type": "image/jpeg", "size": "12"}, 400, "invalid_request"),
        ({"content_type": "image/jpeg"}, 400, "invalid_request"),
        ({"size": 100}, 400, "invalid_request"),
        (["image/jpeg", 100], 400, "invalid_request"),
    ],
)
def test_uploads_refuses_what_it_would_not_classify(gateway: Gateway, payload: Any, status: int, code: str) -> None:
    assert post(gateway, "/uploads", payload)[0] == status
    assert post(gateway, "/uploads", payload)[1]["error"]["code"] == code


def test_an_uploaded_photo_is_answered_like_a_direct_one_and_then_deleted(gateway: Gateway, s3: Any, cat_jpeg: bytes) -> None:
    ticket = presign(gateway, size=len(cat_jpeg))
    assert upload(ticket, cat_jpeg) == 204
    assert exists(s3, ticket["upload"])
    status, body = post(gateway, "/predict", {"upload": ticket["upload"], "top_k": 3})
    assert status == 200, body
    direct = post(gateway, "/predict", {"image": base64.b64encode(cat_jpeg).decode(), "top_k": 3})[1]
    assert body == direct and body["is_cat"] is True and len(body["predictions"]) == 3
    assert not exists(s3, ticket["upload"])
    status, body = post(gateway, "/predict", {"upload": ticket["upload"]})  # used already
    assert (status, body["error"]["code"]) == (404, "upload_not_found")


def test_an_upload_that_is_not_an_image_is_a_415_and_is_deleted(gateway: Gateway, s3: Any) -> None:
    ticket = presign(gateway)
    assert upload(ticket, b"<!doctype html><p>not a cat</p>") == 204
    status, body = post(gateway, "/predict", {"upload": ticket["upload"]})
    assert (status, body["error"]["code"]) == (415, "unsupported_image")
    assert not exists(s3, ticket["upload"])


def test_an_oversized_upload_is_a_413_not_a_500(gateway: Gateway, s3: Any, cat_jpeg: bytes) -> None:
    # moto lets a file past content-length-range through; S3 would refuse it. The function refuses it too.
    ticket = presign(gateway)
    assert upload(ticket, cat_jpeg + b"\0" * (PHOTO_MAX_BYTES + 1 - len(cat_jpeg))) == 204
    status, body = post(gateway, "/predict", {"upload": ticket["upload"]})
    assert (status, body["error"]["code"]) == (413, "image_too_large")
    assert not exists(s3, ticket["upload"])


@pytest.mark.parametrize("key", ["uploads/0123456789abcdef0123456789abcdef", "uploads/ffffffffffffffffffffffffffffffff"])
def test_an_unknown_or_expired_key_is_a_404(gateway: Gateway, key: str) -> None:
    status, body = post(gateway, "/predict", {"upload": key})
    assert (status, body["error"]["code"]) == (404, "upload_not_found")


@pytest.mark.parametrize(
    "key",
    [
        "photos/cat.jpg",
        "uploads/../photos/cat.jpg",
        "uploads/cat.jpg",
        "/uploads/0123456789abcdef0123456789abcdef",
        "uploads/0123456789abcdef0123456789abcdef/x",
        "",
        42,
    ],
)
def test_keys_outside_uploads_are_refused_unread(gateway: Gateway, s3: Any, cat_jpeg: bytes, key: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="photos/cat.jpg", Body=cat_jpeg, ContentType="image/jpeg")
    status, body = post(gateway, "/predict", {"upload": key})
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    assert exists(s3, "photos/cat.jpg")


def test_access_denied_reads_as_not_found(cat_jpeg: bytes) -> None:
    """Without s3:ListBucket (least privilege), S3 answers a missing key with AccessDenied."""
    from botocore.exceptions import ClientError

    class Denied:
        def get_object(self, **_: Any) -> None:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject")

    with pytest.raises(UploadNotFound):
        Uploads(BUCKET, Denied()).read("uploads/0123456789abcdef0123456789abcdef")


def test_without_a_bucket_uploads_are_not_offered(classifier: Any) -> None:
    plain = Gateway(Service(classifier))
    assert post(plain, "/uploads", {"content_type": "image/jpeg", "size": 10})[0] == 404
    assert post(plain, "/predict", {"upload": "uploads/0123456789abcdef0123456789abcdef"})[0] == 404
    status, body = post(plain, "/predict", {"upload": "photos/cat.jpg"})  # a malformed key is the caller's error first
    assert (status, body["error"]["code"]) == (400, "invalid_request")


def test_the_scripts_send_a_photo_over_the_direct_limit_through_the_upload_path(
    gateway: Gateway, s3: Any, cat_jpeg: bytes, photo_server: str, tmp_path: Any, capsys: Any
) -> None:
    big = tmp_path / "big-cat.jpg"
    big.write_bytes(cat_jpeg + b"\0" * (DIRECT_MAX_BYTES + 1 - len(cat_jpeg)))  # a cat, just over the limit
    before = uploads_in(s3)
    with serving(gateway.handle) as api:
        assert test_cloud.main([str(big), "--api", api, "--url", f"{photo_server}/cat.jpg"]) == 0
        out = capsys.readouterr().out
        assert "3 of 3 checks passed" in out and "POST /predict {\"upload\"} with big-cat.jpg: HTTP 200 ok" in out
        assert test_script.main([str(big), "--endpoint", f"{api}/predict"]) == 0
        assert len([line for line in capsys.readouterr().out.splitlines() if "%" in line]) == 5
        # the emulator's route has no uploads: the function's own 413 says what to do
        assert test_script.main([str(big), "--endpoint", f"{api}/2015-03-31/functions/function/invocations"]) == 1
        assert "image_too_large" in capsys.readouterr().out
    assert uploads_in(s3) == before  # each answered upload was deleted


def test_the_client_says_when_the_model_is_not_sure(gateway: Gateway, cat_jpeg: bytes) -> None:
    answer = post(gateway, "/predict", {"image": base64.b64encode(cat_jpeg).decode()})[1]
    for confident in (True, False):
        text = format_answer({**answer, "confident": confident})
        assert ("not sure" in text) is not confident and ("confident: yes" in text) is confident
