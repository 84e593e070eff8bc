"""Owners' feedback through the gateway, kept in a local folder (as `make run` keeps it): with
consent a re-encoded photo (no metadata, no trailing bytes, bounded size) and a record (the
client's claim and the model's own answer for the kept photo) appear, and the deletion token
takes both back; without consent nothing is written, only the metric; bad input is refused
from the error table and stores nothing. Every answer is checked against docs/openapi.yaml."""

from __future__ import annotations

import io
import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import ExifTags, Image

from catbreed.feedback import KEPT_MAX_BYTES, KEPT_MAX_SIDE, FeedbackDesk, reencode, token_hash
from catbreed.feedback_store import FolderStore
from catbreed.gateway import Gateway
from catbreed.limits import FEEDBACK_TEXT_MAX_CHARS
from catbreed.service import Service

from ..helpers import FIXTURES, LOOPBACK_ONLY, b64, call_http, encode, metric_values, v2_event


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    return tmp_path / "feedback-local"


@pytest.fixture()
def gateway(classifier: Any, folder: Path) -> Gateway:
    return Gateway(Service(classifier, LOOPBACK_ONLY, feedback=FeedbackDesk(FolderStore(folder))))


@pytest.fixture()
def cat_answer(gateway: Gateway, cat_jpeg: bytes) -> dict:
    """The real model's answer for the cat photo, as the page got it."""
    status, _, body = call_http(gateway, v2_event(body=json.dumps({"image": b64(cat_jpeg)})))
    assert status == 200
    return body


def send(gateway: Gateway, payload: Any) -> tuple[int, dict]:
    status, _, body = call_http(gateway, v2_event(path="/feedback", body=json.dumps(payload)))
    return status, body


def withdraw(gateway: Gateway, feedback_id: str, token: str | None) -> tuple[int, dict]:
    event = v2_event(method="DELETE", path=f"/feedback/{feedback_id}", body=None, content_type=None)
    if token is not None:
        event["headers"]["authorization"] = f"Bearer {token}"
    status, _, body = call_http(gateway, event)
    return status, body


def files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_no_its_a_korat_with_consent_keeps_photo_and_record_until_withdrawn(
    gateway: Gateway, folder: Path, cat_jpeg: bytes, cat_answer: dict
) -> None:
    assert cat_answer["predictions"][0]["breed"] != "Korat"
    status, receipt = send(
        gateway, {"answer": cat_answer, "verdict": "wrong", "label": "Korat", "consent": True, "image": b64(cat_jpeg)}
    )
    assert status == 200 and receipt["kept"] is True
    feedback_id, token = receipt["id"], receipt["token"]
    assert files(folder) == [f"{feedback_id}/photo.jpg", f"{feedback_id}/record.json"]
    for name in ("photo.jpg", "record.json"):  # the owner's photo: readable by this user alone
        assert (folder / feedback_id / name).stat().st_mode & 0o777 == 0o600
    kept = Image.open(folder / feedback_id / "photo.jpg")
    assert kept.format == "JPEG" and kept.size == Image.open(io.BytesIO(cat_jpeg)).size  # small: not resized
    record = json.loads((folder / feedback_id / "record.json").read_text())
    assert set(record) == {"id", "time", "verdict", "label", "label_text", "answer", "server_answer", "photo", "token_sha256"}
    assert (record["verdict"], record["label"], record["label_text"]) == ("wrong", "Korat", None)
    assert record["answer"]["model"] == {"name": cat_answer["model"]["name"], "version": cat_answer["model"]["version"]}
    assert [p["breed"] for p in record["answer"]["predictions"]] == [p["breed"] for p in cat_answer["predictions"]]
    assert record["token_sha256"] == token_hash(token) and token not in json.dumps(record)
    stored = (folder / feedback_id / "record.json").read_text()
    assert "203.0.113.7" not in stored and "curl" not in stored  # the event's source IP and user agent

    for wrong in ("not-the-token", token[:-1]):
        status, body = withdraw(gateway, feedback_id, wrong)
        assert (status, body["error"]["code"]) == (403, "wrong_token")
    assert withdraw(gateway, feedback_id, None)[0] == 401  # no token at all: test_no_token_is_a_401_that_asks_for_one
    assert len(files(folder)) == 2  # a wrong token, or none, changes nothing
    assert withdraw(gateway, feedback_id, token) == (200, {"id": feedback_id, "deleted": True})
    assert files(folder) == [] and not (folder / feedback_id).exists()  # no empty <id>/ folder left behind
    status, body = withdraw(gateway, feedback_id, token)
    assert (status, body["error"]["code"]) == (404, "feedback_not_found")


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "token-without-scheme"])
def test_no_token_is_a_401_that_asks_for_one(
    gateway: Gateway, folder: Path, cat_jpeg: bytes, cat_answer: dict, authorization: str | None
) -> None:
    """No Authorization header, or one without a Bearer token: 401 token_required (with
    WWW-Authenticate: Bearer), not the 403 of a wrong token; nothing is deleted."""
    receipt = send(gateway, {"answer": cat_answer, "verdict": "right", "consent": True, "image": b64(cat_jpeg)})[1]
    event = v2_event(method="DELETE", path=f"/feedback/{receipt['id']}", body=None, content_type=None)
    if authorization is not None:
        event["headers"]["authorization"] = authorization
    status, headers, body = call_http(gateway, event)
    assert (status, body["error"]["code"], headers.get("WWW-Authenticate")) == (401, "token_required", "Bearer")
    assert "Authorization: Bearer" in body["error"]["message"]
    assert len(files(folder / receipt["id"])) == 2
    assert withdraw(gateway, receipt["id"], receipt["token"])[0] == 200


def test_without_consent_nothing_is_written_only_the_metric(
    gateway: Gateway, folder: Path, cat_answer: dict, telemetry_records
) -> None:
    telemetry_records()
    status, receipt = send(gateway, {"answer": cat_answer, "verdict": "wrong", "label": "mix", "consent": False})
    assert status == 200 and receipt["kept"] is False and "token" not in receipt
    assert files(folder) == []
    metrics = metric_values(telemetry_records())
    breed = cat_answer["predictions"][0]["breed"]
    assert metrics["Feedback"] == [(1, {"service": "catbreed", "breed": breed, "verdict": "wrong"})]
    assert metrics["ReportedRight"] == [(0, {"service": "catbreed", "breed": breed})]


def test_a_right_verdict_counts_as_right(gateway: Gateway, cat_answer: dict, telemetry_records) -> None:
    telemetry_records()
    assert send(gateway, {"answer": cat_answer, "verdict": "right", "consent": False})[0] == 200
    metrics = metric_values(telemetry_records())
    breed = cat_answer["predictions"][0]["breed"]
    assert metrics["Feedback"] == [(1, {"service": "catbreed", "breed": breed, "verdict": "right"})]
    assert metrics["ReportedRight"] == [(1, {"service": "catbreed", "breed": breed})]


def test_another_breed_in_the_owners_words_is_stripped(gateway: Gateway, folder: Path, cat_jpeg: bytes, cat_answer: dict) -> None:
    words = "  Thai\x00 \n\u200b cat\t "
    payload = {
        "answer": cat_answer,
        "verdict": "wrong",
        "label": "other",
        "label_text": words,
        "consent": True,
        "image": b64(cat_jpeg),
    }
    status, receipt = send(gateway, payload)
    assert status == 200
    record = json.loads((folder / receipt["id"] / "record.json").read_text())
    assert (record["label"], record["label_text"]) == ("other", "Thai cat")


def bad_requests(answer: dict, cat: str, not_an_image: str) -> dict[str, tuple[dict, int, str]]:
    """Each bad request, with the status and code it must get."""
    korat = {"answer": answer, "verdict": "wrong", "label": "Korat", "consent": True, "image": cat}
    unknown_breed = {**answer, "predictions": [{"breed": "Dragon", "probability": 0.9}]}
    return {
        "unknown label": ({**korat, "label": "Dragon"}, 400, "invalid_request"),
        "label text of 10 kB": ({**korat, "label": "other", "label_text": "x" * 10_240}, 400, "invalid_request"),
        "text one over the cap": (
            {**korat, "label": "other", "label_text": "y" * (FEEDBACK_TEXT_MAX_CHARS + 1)},
            400,
            "invalid_request",
        ),
        "blank text": ({**korat, "label": "other", "label_text": " \x00 "}, 400, "invalid_request"),
        "text with a breed label": ({**korat, "label_text": "Korat"}, 400, "invalid_request"),
        "missing model answer": ({k: v for k, v in korat.items() if k != "answer"}, 400, "invalid_request"),
        "answer without a model": ({**korat, "answer": {"predictions": answer["predictions"]}}, 400, "invalid_request"),
        "answer naming an unknown breed": ({**korat, "answer": unknown_breed}, 400, "invalid_request"),
        "a breed that is an object": (
            {**korat, "answer": {**answer, "predictions": [{"breed": {}, "probability": 0.9}]}},
            400,
            "invalid_request",
        ),
        "six predictions": ({**korat, "answer": {**answer, "predictions": answer["predictions"] * 2}}, 400, "invalid_request"),
        "a cat score of 2": ({**korat, "answer": {**answer, "cat_score": 2}}, 400, "invalid_request"),
        "is_cat as text": ({**korat, "answer": {**answer, "is_cat": "yes"}}, 400, "invalid_request"),
        "unknown verdict": ({**korat, "verdict": "maybe"}, 400, "invalid_request"),
        "wrong, naming the answered breed": ({**korat, "label": answer["predictions"][0]["breed"]}, 400, "invalid_request"),
        "right with a label": ({**korat, "verdict": "right"}, 400, "invalid_request"),
        "consent missing": ({k: v for k, v in korat.items() if k != "consent"}, 400, "invalid_request"),
        "consent as a string": ({**korat, "consent": "yes"}, 400, "invalid_request"),
        "a photo without consent": ({**korat, "consent": False}, 400, "invalid_request"),
        "consent without a photo": ({k: v for k, v in korat.items() if k != "image"}, 400, "invalid_request"),
        "an unknown field": ({**korat, "ip": "203.0.113.7"}, 400, "invalid_request"),
        "a non-image": ({**korat, "image": not_an_image}, 415, "unsupported_image"),
        "bad base64": ({**korat, "image": "not base64!"}, 400, "invalid_request"),
        "an upload key not in uploads/": (
            {**{k: v for k, v in korat.items() if k != "image"}, "upload": "feedback/" + "0" * 32},
            400,
            "invalid_request",
        ),
        "an upload instead of the image": (
            {**{k: v for k, v in korat.items() if k != "image"}, "upload": "uploads/" + "0" * 32},
            400,
            "invalid_request",
        ),
    }


@pytest.mark.parametrize("case", list(bad_requests({"predictions": [{"breed": ""}], "model": {}}, "", "")))
def test_bad_input_gets_its_error_and_stores_nothing(
    gateway: Gateway, folder: Path, cat_jpeg: bytes, cat_answer: dict, case: str, telemetry_records
) -> None:
    payload, status, code = bad_requests(cat_answer, b64(cat_jpeg), b64(b"GIF89a this is not an image at all"))[case]
    telemetry_records()
    got, body = send(gateway, payload)
    assert (got, body["error"]["code"]) == (status, code), body
    assert files(folder) == []
    assert "Feedback" not in metric_values(telemetry_records())  # a refused verdict is not counted


def test_withdrawing_an_id_that_is_not_one_is_not_found_and_never_leaves_the_folder(gateway: Gateway, folder: Path) -> None:
    folder.mkdir()
    outside = folder.parent  # a record beside the folder, as a path trick would reach it
    (outside / "photo.jpg").write_bytes(b"someone else's file")
    (outside / "record.json").write_text(json.dumps({"photo": "../photo.jpg", "token_sha256": token_hash("token")}))
    for feedback_id in ("..", "0" * 32, "record.json"):
        status, body = withdraw(gateway, feedback_id, "token")
        assert (status, body["error"]["code"]) == (404, "feedback_not_found")
    assert (outside / "photo.jpg").exists() and (outside / "record.json").exists()


def test_feedback_routes_take_only_their_methods(gateway: Gateway) -> None:
    status, _, body = call_http(gateway, v2_event(method="GET", path="/feedback", body=None))
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")
    status, _, body = call_http(gateway, v2_event(method="POST", path="/feedback/" + "0" * 32, body="{}"))
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")


def test_a_real_non_cat_photo_can_be_kept_as_not_a_cat(gateway: Gateway, folder: Path) -> None:
    coffee = (FIXTURES / "coffee.jpg").read_bytes()
    _, _, answer = call_http(gateway, v2_event(body=json.dumps({"image": b64(coffee)})))
    status, receipt = send(
        gateway, {"answer": answer, "verdict": "wrong", "label": "not_a_cat", "consent": True, "image": b64(coffee)}
    )
    assert status == 200 and Image.open(folder / receipt["id"] / "photo.jpg").format == "JPEG"
    record = json.loads((folder / receipt["id"] / "record.json").read_text())
    assert record["server_answer"]["is_cat"] is False  # the model's own call on the kept photo


def test_the_sample_event_is_counted_and_stores_nothing(gateway: Gateway, folder: Path) -> None:
    from ..helpers import load_event

    status, _, body = call_http(gateway, load_event("http_api_v2_feedback.json"))
    assert (status, body["kept"]) == (200, False)
    assert files(folder) == []


def phone_photo(cat_jpeg: bytes) -> bytes:
    """The cat as a phone sends it: 2400x1600 stored sideways (EXIF orientation 6), with GPS."""
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees to show it
    exif[ExifTags.IFD.GPSInfo] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 0.0)}
    buffer = io.BytesIO()
    Image.open(io.BytesIO(cat_jpeg)).resize((2400, 1600)).save(buffer, "JPEG", quality=90, exif=exif)
    return buffer.getvalue()


def test_a_photo_with_gps_and_a_zip_behind_it_is_kept_as_a_clean_small_jpeg(
    gateway: Gateway, folder: Path, cat_jpeg: bytes, cat_answer: dict, telemetry_records
) -> None:
    sent = phone_photo(cat_jpeg) + b"PK\x03\x04" + random.Random(0).randbytes(3 * 1024 * 1024)
    assert Image.open(io.BytesIO(sent)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the GPS is there to lose
    telemetry_records()
    status, receipt = send(gateway, {"answer": cat_answer, "verdict": "right", "consent": True, "image": b64(sent)})
    assert status == 200 and receipt["kept"]
    data = (folder / receipt["id"] / "photo.jpg").read_bytes()
    assert len(data) <= KEPT_MAX_BYTES and b"PK\x03\x04" not in data and data.endswith(b"\xff\xd9")
    kept = Image.open(io.BytesIO(data))
    assert kept.format == "JPEG" and not kept.getexif() and "exif" not in kept.info and "icc_profile" not in kept.info
    assert kept.size == (round(KEPT_MAX_SIDE * 1600 / 2400), KEPT_MAX_SIDE)  # upright (taller than wide), longest side 1,024
    record = (folder / receipt["id"] / "record.json").read_bytes()
    metrics = metric_values(telemetry_records())
    assert metrics["FeedbackKeptBytes"] == [(len(data) + len(record), {"service": "catbreed"})]


def test_without_consent_no_bytes_are_counted_as_kept(gateway: Gateway, cat_answer: dict, telemetry_records) -> None:
    telemetry_records()
    assert send(gateway, {"answer": cat_answer, "verdict": "right", "consent": False})[0] == 200
    assert "FeedbackKeptBytes" not in metric_values(telemetry_records())


@pytest.mark.parametrize("max_bytes", [KEPT_MAX_BYTES, 300_000, 40_000])
def test_even_noise_is_kept_within_the_byte_cap(max_bytes: int) -> None:
    """Noise is what JPEG compresses worst: at 1,024 px it fits 1 MiB at the first quality;
    under smaller caps the lower qualities, then smaller sides, are taken until it fits."""
    noise = np.random.default_rng(0).integers(0, 256, (1500, 2000, 3), dtype=np.uint8)
    kept = reencode(encode(Image.fromarray(noise), "PNG"), max_bytes)
    side = max(Image.open(io.BytesIO(kept)).size)
    assert len(kept) <= max_bytes and side <= KEPT_MAX_SIDE
    assert (side == KEPT_MAX_SIDE) is (max_bytes > 40_000)  # only the smallest cap needs a smaller side


def test_the_record_keeps_the_models_own_answer_beside_the_clients_claim(
    gateway: Gateway, folder: Path, cat_jpeg: bytes, cat_answer: dict
) -> None:
    claimed = "Persian" if cat_answer["predictions"][0]["breed"] != "Persian" else "Korat"
    claim = {"model": cat_answer["model"], "predictions": [{"breed": claimed, "probability": 0.99}], "is_cat": True}
    status, receipt = send(gateway, {"answer": claim, "verdict": "right", "consent": True, "image": b64(cat_jpeg)})
    assert status == 200
    record = json.loads((folder / receipt["id"] / "record.json").read_text())
    assert record["answer"]["predictions"] == [{"breed": claimed, "probability": 0.99}]  # what the client said
    kept = (folder / receipt["id"] / "photo.jpg").read_bytes()
    _, _, own = call_http(gateway, v2_event(body=json.dumps({"image": b64(kept)})))  # the model, on the kept photo
    assert record["server_answer"] == {k: own[k] for k in ("predictions", "is_cat", "confident", "cat_score", "focus", "model")}
    assert record["server_answer"]["predictions"][0]["breed"] != claimed


def test_withdrawing_with_a_lower_case_bearer_scheme_works(
    gateway: Gateway, folder: Path, cat_jpeg: bytes, cat_answer: dict
) -> None:
    _, receipt = send(gateway, {"answer": cat_answer, "verdict": "right", "consent": True, "image": b64(cat_jpeg)})
    event = v2_event(method="DELETE", path=f"/feedback/{receipt['id']}", body=None, content_type=None)
    event["headers"]["authorization"] = f"bearer   {receipt['token']}"  # the scheme is case-insensitive (RFC 7235)
    status, _, body = call_http(gateway, event)
    assert (status, body) == (200, {"id": receipt["id"], "deleted": True})
    assert files(folder) == []


def test_a_record_naming_a_photo_outside_its_folder_deletes_only_itself(
    gateway: Gateway, folder: Path, cat_jpeg: bytes, cat_answer: dict
) -> None:
    _, receipt = send(gateway, {"answer": cat_answer, "verdict": "right", "consent": True, "image": b64(cat_jpeg)})
    other = folder / ("0" * 32) / "photo.jpg"
    other.parent.mkdir()
    other.write_bytes(b"another owner's photo")
    record_file = folder / receipt["id"] / "record.json"
    record_file.write_text(json.dumps({**json.loads(record_file.read_text()), "photo": f"{'0' * 32}/photo.jpg"}))
    assert withdraw(gateway, receipt["id"], receipt["token"])[0] == 200
    assert other.read_bytes() == b"another owner's photo" and not record_file.exists()


@pytest.mark.parametrize("name", ["../outside.txt", "/etc/passwd", "a/../../outside.txt", "."])
def test_the_folder_store_refuses_names_that_leave_its_folder(tmp_path: Path, name: str) -> None:
    store = FolderStore(tmp_path / "feedback-local")
    (tmp_path / "outside.txt").write_text("not the store's")
    for act in (lambda: store.delete(name), lambda: store.put(name, b"x", "text/plain"), lambda: store.get(name, 10)):
        with pytest.raises(ValueError, match="not a name inside"):
            act()
    assert (tmp_path / "outside.txt").read_text() == "not the store's"
