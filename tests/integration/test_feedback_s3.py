"""Feedback on the AWS path, against moto's S3 on 127.0.0.1: with consent the re-encoded photo
and its record land under feedback/ of the upload bucket, tagged review=pending (the short
lifecycle) until a person's review marks them done; an upload is not a way in; without
consent the bucket stays empty, and only the right token deletes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from catbreed.feedback import FeedbackDesk
from catbreed.feedback_store import BucketStore
from catbreed.gateway import Gateway
from catbreed.service import Service
from catbreed.storage import s3_client
from catbreed.uploads import Uploads

from ..helpers import LOOPBACK_ONLY, b64, call_http, v2_event

BUCKET = "catbreed-feedback-test"


@pytest.fixture(scope="module")
def s3(moto_endpoint: str) -> Iterator[Any]:
    client = s3_client(moto_endpoint)
    client.create_bucket(Bucket=BUCKET)
    yield client


@pytest.fixture()
def bucket(s3: Any) -> Iterator[Any]:
    """The bucket, emptied after each test."""
    yield s3
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])


@pytest.fixture(scope="module")
def gateway(classifier: Any, s3: Any, moto_endpoint: str) -> Gateway:
    desk = FeedbackDesk(BucketStore(BUCKET, endpoint=moto_endpoint))
    return Gateway(Service(classifier, LOOPBACK_ONLY, uploads=Uploads(BUCKET, endpoint=moto_endpoint), feedback=desk))


@pytest.fixture(scope="module")
def cat_answer(gateway: Gateway, cat_jpeg: bytes) -> dict:
    return call_http(gateway, v2_event(body=json.dumps({"image": b64(cat_jpeg)})))[2]


def keys(s3: Any) -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


def review_tags(s3: Any, key: str) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in s3.get_object_tagging(Bucket=BUCKET, Key=key)["TagSet"]}


def send(gateway: Gateway, payload: dict) -> tuple[int, dict]:
    status, _, body = call_http(gateway, v2_event(path="/feedback", body=json.dumps(payload)))
    return status, body


def withdraw(gateway: Gateway, feedback_id: str, token: str) -> tuple[int, dict]:
    event = v2_event(method="DELETE", path=f"/feedback/{feedback_id}", body=None, content_type=None)
    event["headers"]["authorization"] = f"Bearer {token}"
    status, _, body = call_http(gateway, event)
    return status, body


def test_a_kept_photo_and_record_are_under_feedback_and_only_the_right_token_deletes(
    gateway: Gateway, bucket: Any, cat_jpeg: bytes, cat_answer: dict
) -> None:
    status, receipt = send(
        gateway, {"answer": cat_answer, "verdict": "wrong", "label": "Korat", "consent": True, "image": b64(cat_jpeg)}
    )
    assert status == 200 and receipt["kept"]
    prefix = f"feedback/{receipt['id']}/"
    assert keys(bucket) == [prefix + "photo.jpg", prefix + "record.json"]
    photo = bucket.get_object(Bucket=BUCKET, Key=prefix + "photo.jpg")
    assert photo["ContentType"] == "image/jpeg" and photo["Body"].read().startswith(b"\xff\xd8")
    assert review_tags(bucket, prefix + "photo.jpg") == review_tags(bucket, prefix + "record.json") == {"review": "pending"}
    record = json.loads(bucket.get_object(Bucket=BUCKET, Key=prefix + "record.json")["Body"].read())
    assert (record["verdict"], record["label"]) == ("wrong", "Korat")

    status, body = withdraw(gateway, receipt["id"], "a" * 43)
    assert (status, body["error"]["code"]) == (403, "wrong_token")
    assert len(keys(bucket)) == 2
    assert withdraw(gateway, receipt["id"], receipt["token"]) == (200, {"id": receipt["id"], "deleted": True})
    assert keys(bucket) == []
    status, body = withdraw(gateway, receipt["id"], receipt["token"])
    assert (status, body["error"]["code"]) == (404, "feedback_not_found")


def test_without_consent_the_bucket_stays_empty(gateway: Gateway, bucket: Any, cat_answer: dict) -> None:
    status, receipt = send(gateway, {"answer": cat_answer, "verdict": "wrong", "label": "Korat", "consent": False})
    assert status == 200 and receipt == {"id": receipt["id"], "kept": False}
    assert keys(bucket) == []


def test_an_upload_is_not_a_way_to_give_feedback(gateway: Gateway, bucket: Any, cat_jpeg: bytes, cat_answer: dict) -> None:
    upload = f"uploads/{uuid.uuid4().hex}"
    bucket.put_object(Bucket=BUCKET, Key=upload, Body=cat_jpeg)  # as the presigned POST leaves it
    status, body = send(gateway, {"answer": cat_answer, "verdict": "right", "consent": True, "upload": upload})
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    assert keys(bucket) == [upload]  # nothing under feedback/; the upload expires with its day


def test_a_photo_that_is_not_an_image_is_refused_and_nothing_stays(gateway: Gateway, bucket: Any, cat_answer: dict) -> None:
    payload = {"answer": cat_answer, "verdict": "right", "consent": True, "image": b64(b"<html>not a photo</html>")}
    status, body = send(gateway, payload)
    assert (status, body["error"]["code"]) == (415, "unsupported_image")
    assert keys(bucket) == []


@pytest.mark.parametrize("key", ["feedback/" + "0" * 32, "results/" + "0" * 32, "uploads/../feedback/x"])
def test_an_upload_key_outside_uploads_is_refused(
    gateway: Gateway, bucket: Any, cat_answer: dict, cat_jpeg: bytes, key: str
) -> None:
    bucket.put_object(Bucket=BUCKET, Key="feedback/" + "0" * 32, Body=cat_jpeg)  # it exists, yet may not be named
    status, body = send(gateway, {"answer": cat_answer, "verdict": "right", "consent": True, "upload": key})
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    assert keys(bucket) == ["feedback/" + "0" * 32]


def test_the_export_script_reads_the_bucket(gateway: Gateway, bucket: Any, cat_jpeg: bytes, cat_answer: dict, tmp_path) -> None:
    from catbreed_local.feedback_export import main

    _, receipt = send(
        gateway, {"answer": cat_answer, "verdict": "wrong", "label": "Korat", "consent": True, "image": b64(cat_jpeg)}
    )
    send(gateway, {"answer": cat_answer, "verdict": "wrong", "label": "Havana", "consent": False})
    main([str(tmp_path / "out"), "--bucket", BUCKET, "--since", "2026-01-01"])
    assert [p.name for p in (tmp_path / "out").rglob("*.jpg")] == [f"{receipt['id']}.jpg"]
    kept = bucket.get_object(Bucket=BUCKET, Key=f"feedback/{receipt['id']}/photo.jpg")["Body"].read()
    assert (tmp_path / "out" / "Korat" / f"{receipt['id']}.jpg").read_bytes() == kept


def test_only_the_photos_a_person_kept_after_review_are_marked_reviewed(
    gateway: Gateway, bucket: Any, cat_jpeg: bytes, cat_answer: dict, tmp_path
) -> None:
    from catbreed_local.feedback_export import MARKER, main

    payload = {"answer": cat_answer, "verdict": "wrong", "label": "Korat", "consent": True, "image": b64(cat_jpeg)}
    kept, rejected = send(gateway, payload)[1]["id"], send(gateway, payload)[1]["id"]
    out = tmp_path / "out"
    assert main([str(out), "--bucket", BUCKET]) == 0
    assert main([str(out), "--bucket", BUCKET, "--reviewed"]) == 2  # not while NOT_REVIEWED.txt is there
    assert review_tags(bucket, f"feedback/{kept}/photo.jpg") == {"review": "pending"}
    (out / "Korat" / f"{rejected}.jpg").unlink()  # the reviewer's call
    (out / MARKER).unlink()
    assert main([str(out), "--bucket", BUCKET, "--reviewed"]) == 0
    assert review_tags(bucket, f"feedback/{kept}/photo.jpg") == review_tags(bucket, f"feedback/{kept}/record.json") == {
        "review": "done"
    }
    assert review_tags(bucket, f"feedback/{rejected}/photo.jpg") == {"review": "pending"}  # expires with the short rule
