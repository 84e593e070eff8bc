"""The Distributed Map's batch event through the real handler, against moto's S3 on
127.0.0.1: one result per photo, the same fields as /predict, a broken photo as its own error."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

import lambda_function

from ..helpers import FIXTURES, load_event

BUCKET = "my-cat-photos"
PREFIX = "shelter/2026-11/"
PHOTOS = {"chelsea.jpg": "cat_chelsea.jpg", "coffee.jpg": "coffee.jpg", "rocket.jpg": "rocket.jpg"}


@pytest.fixture(scope="module")
def bucket(moto_endpoint: str) -> Iterator[Any]:
    from catbreed.storage import s3_client

    s3 = s3_client(moto_endpoint)
    s3.create_bucket(Bucket=BUCKET)
    for name, fixture in PHOTOS.items():
        s3.put_object(Bucket=BUCKET, Key=PREFIX + name, Body=(FIXTURES / fixture).read_bytes())
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "broken.jpg", Body=(FIXTURES / "cat_chelsea.jpg").read_bytes()[:2000])
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "notes.txt", Body=b"feed at six\n")
    s3.put_object(Bucket=BUCKET, Key=PREFIX, Body=b"")  # the console's "folder"
    yield s3


def batch_event(s3: Any) -> dict:
    """What ItemReader (ListObjectsV2) + ItemBatcher hand the function for the prefix."""
    event = copy.deepcopy(load_event("stepfunctions_batch.json"))
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=PREFIX)["Contents"]
    event["Items"] = [{"Key": o["Key"], "Size": o["Size"], "Etag": o["ETag"]} for o in listed]
    event["Items"].append({"Key": PREFIX + "gone.jpg", "Size": 10})  # deleted after it was listed
    return event


def test_the_sample_event_is_a_batch() -> None:
    from catbreed.batch import is_batch_event

    event = load_event("stepfunctions_batch.json")
    assert is_batch_event(event) and event["BatchInput"]["bucket"] and all("Key" in i for i in event["Items"])


def test_a_batch_answers_one_result_per_photo_with_the_fields_of_predict(bucket: Any) -> None:
    answer = lambda_function.lambda_handler(batch_event(bucket), None)
    results = {r["path"]: r for r in answer["results"]}
    assert set(results) == {f"s3://{BUCKET}/{PREFIX}{name}" for name in [*PHOTOS, "broken.jpg", "notes.txt", "gone.jpg"]}
    for name, fixture in PHOTOS.items():
        direct = lambda_function.lambda_handler({"image": _b64(FIXTURES / fixture)}, None)
        assert results[f"s3://{BUCKET}/{PREFIX}{name}"] == {"path": f"s3://{BUCKET}/{PREFIX}{name}", **direct}
    assert results[f"s3://{BUCKET}/{PREFIX}chelsea.jpg"]["is_cat"] is True
    assert results[f"s3://{BUCKET}/{PREFIX}coffee.jpg"]["is_cat"] is False
    for name, code in (("broken.jpg", "unsupported_image"), ("notes.txt", "unsupported_image"), ("gone.jpg", "photo_not_found")):
        result = results[f"s3://{BUCKET}/{PREFIX}{name}"]
        assert result["error"]["code"] == code and "predictions" not in result


def test_top_k_comes_from_the_batch_input(bucket: Any) -> None:
    event = batch_event(bucket)
    event["BatchInput"]["top_k"] = 2
    event["Items"] = [i for i in event["Items"] if i["Key"].endswith("chelsea.jpg")]
    (result,) = lambda_function.lambda_handler(event, None)["results"]
    assert len(result["predictions"]) == 2


@pytest.mark.parametrize("top_k", ["abc", 0, -1, "5", 2.5, True, None, "one past the breeds"])
def test_a_batch_top_k_is_refused_as_post_predict_refuses_it(bucket: Any, top_k: Any) -> None:
    """The whole batch gets the error POST /predict gives for that top_k (before: "abc" made
    every photo an internal_error, and 0 answered every photo with no breeds)."""
    if top_k == "one past the breeds":
        top_k = len(lambda_function.GATEWAY.service.classifier.breeds) + 1
    event = batch_event(bucket)
    event["BatchInput"]["top_k"] = top_k
    answer = lambda_function.lambda_handler(event, None)
    refused = lambda_function.lambda_handler({"image": _b64(FIXTURES / "cat_chelsea.jpg"), "top_k": top_k}, None)
    assert refused["error"]["code"] == "invalid_request"
    assert answer == refused


def test_an_s3_error_on_one_photo_is_that_photos_error_not_the_batchs(bucket: Any) -> None:
    """S3 throttling one read (a botocore ClientError, no OSError and no error of ours): that
    photo answers internal_error, the others their breeds."""
    from botocore.exceptions import ClientError

    from catbreed.batch import run_batch

    def read(bucket_name: str, key: str, max_bytes: int) -> bytes:
        if key.endswith("coffee.jpg"):
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "Please reduce your request rate."}}, "GetObject")
        return lambda_function.GATEWAY.read_stored(bucket_name, key, max_bytes)

    event = batch_event(bucket)
    event["Items"] = [i for i in event["Items"] if i["Key"].endswith(("chelsea.jpg", "coffee.jpg"))]
    service = lambda_function.GATEWAY.service
    answer = run_batch(event, service, read)
    results = {r["path"]: r for r in answer["results"]}
    assert results[f"s3://{BUCKET}/{PREFIX}coffee.jpg"]["error"]["code"] == "internal_error"
    assert results[f"s3://{BUCKET}/{PREFIX}chelsea.jpg"]["is_cat"] is True


def test_a_batch_without_its_bucket_is_refused_not_crashed() -> None:
    answer = lambda_function.lambda_handler({"BatchInput": {}, "Items": [{"Key": "a.jpg"}]}, None)
    assert answer["error"]["code"] == "invalid_request"


def _b64(path: Any) -> str:
    import base64

    return base64.b64encode(path.read_bytes()).decode()
