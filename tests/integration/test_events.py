"""Every sample in events/ gets the answer events/README.md promises, through the gateway
the handler builds (the photo URL is fetched from the fixtures, the upload bucket is moto's);
each answer is checked against docs/openapi.yaml by the helpers."""

from __future__ import annotations

import re
from typing import Any

import pytest

from catbreed.download import check_url
from catbreed.gateway import Gateway
from catbreed.service import Service
from catbreed.storage import reader, s3_client
from catbreed.uploads import Uploads

from ..helpers import EVENTS, ROOT, call_http, check_direct, load_event

BUCKET = "catbreed-events-test"
URL = load_event("direct_url.json")["url"]


@pytest.fixture(scope="module")
def events_gateway(classifier: Any, cat_jpeg: bytes, moto_endpoint: str) -> Gateway:
    """No download leaves the machine: the sample's URL is checked as usual, then answered
    with the fixture cat."""

    def fetch(url: str, limits: object) -> bytes:
        check_url(url)
        assert url == URL
        return cat_jpeg

    s3_client(moto_endpoint).create_bucket(Bucket=BUCKET)
    return Gateway(Service(classifier, fetch=fetch, uploads=Uploads(BUCKET, endpoint=moto_endpoint)), reader(moto_endpoint))


@pytest.mark.parametrize("name", ["direct_image.json", "direct_url.json"])
def test_direct_events_get_the_cats_breeds(events_gateway: Gateway, name: str) -> None:
    body = events_gateway.handle(load_event(name))
    check_direct(body)
    assert body["is_cat"] is True and len(body["predictions"]) == load_event(name).get("top_k", 5)


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("http_api_v2_predict_json.json", 200),
        ("http_api_v2_predict_raw_image.json", 200),
        ("rest_api_v1_predict_json.json", 200),
        ("http_api_v2_breeds.json", 200),
        ("http_api_v2_uploads.json", 200),
        ("http_api_v2_predict_upload.json", 404),  # nothing was uploaded under the sample's key
    ],
)
def test_http_events_get_their_answer(events_gateway: Gateway, name: str, status: int) -> None:
    got, _, body = call_http(events_gateway, load_event(name))
    assert got == status, body


def test_every_event_is_exercised_by_a_test_and_listed_in_the_readme() -> None:
    names = {path.name for path in EVENTS.glob("*.json")}
    tests = "".join(path.read_text() for path in (ROOT / "tests").rglob("test_*.py"))
    assert {name for name in names if name not in tests} == set()
    listed = set(re.findall(r"^\| `([\w.]+\.json)` \|", (EVENTS / "README.md").read_text(), flags=re.MULTILINE))
    assert listed == names
