"""Owners' feedback on an answer: POST /feedback validates it strictly and, only with the
owner's consent, keeps the photo and a record (verdict, label, the model's answer, the time;
never an address or a user agent); DELETE /feedback/{id} with the deletion token takes both
back. Without consent nothing is kept: the verdict becomes a metric (catbreed.telemetry).

Only a SHA-256 of the deletion token is stored: a leaked record cannot delete anything."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import re
import secrets
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PIL import Image

from catbreed.errors import FeedbackNotFound, InvalidRequest, WrongToken
from catbreed.feedback_store import FeedbackStore
from catbreed.limits import FEEDBACK_TEXT_MAX_CHARS
from catbreed.preprocessing import load_image
from catbreed.uploads import check_key

VERDICTS = ("right", "wrong")
OTHER_LABELS = ("mix", "not_a_cat", "other")  # besides the model card's breeds
MAX_PREDICTIONS = 5
ID = re.compile(r"^[0-9a-f]{32}$")
MODEL_FIELD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
REQUEST_FIELDS = {"answer", "verdict", "label", "label_text", "consent", "image", "upload"}
ANSWER_FIELDS = {"predictions", "model", "is_cat", "cat_score", "confident"}
RECORD_MAX_BYTES = 64 * 1024
EXTENSION_OF_FORMAT = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif", "BMP": "bmp"}


@dataclass(frozen=True)
class Verdict:
    """What an owner said about an answer: the metric's dimensions."""

    breed: str  # the breed the model answered first
    verdict: str  # "right" or "wrong"
    model_version: str  # the version of the model that answered (the answer names it); logged, never a metric dimension


@dataclass(frozen=True)
class FeedbackRequest:
    """A validated POST /feedback: the photo (when consent) is still to be fetched."""

    answer: dict
    verdict: str
    label: str | None
    label_text: str | None
    consent: bool
    image: str | None
    upload: str | None

    @property
    def answered(self) -> str:
        return self.answer["predictions"][0]["breed"]


def clean_text(value: Any) -> str:
    """The owner's words: control and format characters dropped, whitespace collapsed;
    400 when empty or longer than FEEDBACK_TEXT_MAX_CHARS."""
    if not isinstance(value, str):
        raise InvalidRequest("label_text must be the breed's name, as text.")
    text = " ".join("".join(c for c in value if not unicodedata.category(c).startswith("C")).split())
    if not text:
        raise InvalidRequest("label_text must name the breed.")
    if len(text) > FEEDBACK_TEXT_MAX_CHARS:
        raise InvalidRequest(f"label_text may be at most {FEEDBACK_TEXT_MAX_CHARS} characters.")
    return text


def check_answer(answer: Any, breeds: Sequence[str]) -> dict:
    """The model's answer the feedback is about: its model (name, version) and its top
    predictions (1 to 5, breeds of the model card, no repeats), as /predict gave them."""
    if not isinstance(answer, dict):
        raise InvalidRequest("answer must be the /predict answer the feedback is about.")
    if set(answer) - ANSWER_FIELDS:
        raise InvalidRequest(f"answer has fields /predict never gives: {sorted(set(answer) - ANSWER_FIELDS)[:3]}.")
    model, predictions = answer.get("model"), answer.get("predictions")
    fields = [model.get(k) for k in ("name", "version")] if isinstance(model, dict) else [None]
    named = all(isinstance(value, str) and MODEL_FIELD.fullmatch(value) for value in fields)
    if not named:
        raise InvalidRequest("answer.model must carry the model's name and version.")
    if not isinstance(predictions, list) or not 1 <= len(predictions) <= MAX_PREDICTIONS:
        raise InvalidRequest(f"answer.predictions must be the 1 to {MAX_PREDICTIONS} breeds /predict answered.")
    known = set(breeds)
    top = []
    for item in predictions:
        breed = item.get("breed") if isinstance(item, dict) else None
        probability = item.get("probability") if isinstance(item, dict) else None
        is_number = isinstance(probability, int | float) and not isinstance(probability, bool)
        if not isinstance(breed, str) or breed not in known or not is_number or not 0 <= probability <= 1:
            raise InvalidRequest("Each of answer.predictions must be a breed the model knows and its probability.")
        top.append({"breed": breed, "probability": float(probability)})
    if len({item["breed"] for item in top}) != len(top):
        raise InvalidRequest("answer.predictions names a breed twice.")
    checked = {"model": {"name": model["name"], "version": model["version"]}, "predictions": top}
    score = answer.get("cat_score", 0)
    if isinstance(score, bool) or not isinstance(score, int | float) or not 0 <= score <= 1:
        raise InvalidRequest("answer.cat_score must be a number from 0 to 1.")
    for flag in ("is_cat", "confident"):
        if flag in answer:
            if not isinstance(answer[flag], bool):
                raise InvalidRequest(f"answer.{flag} must be true or false.")
            checked[flag] = answer[flag]
    return checked


def parse_feedback(payload: Any, breeds: Sequence[str]) -> FeedbackRequest:
    """Validate the JSON body of POST /feedback (docs/API.md)."""
    if not isinstance(payload, dict):
        raise InvalidRequest("Send a JSON object with answer, verdict and consent.")
    if set(payload) - REQUEST_FIELDS:
        raise InvalidRequest(f"Unknown fields: {sorted(set(payload) - REQUEST_FIELDS)[:3]}.")
    if "answer" not in payload:
        raise InvalidRequest("answer is missing: send the /predict answer the feedback is about.")
    answer = check_answer(payload["answer"], breeds)
    verdict, label, consent = payload.get("verdict"), payload.get("label"), payload.get("consent")
    if verdict not in VERDICTS:
        raise InvalidRequest('verdict must be "right" or "wrong".')
    if verdict == "right" and (label is not None or "label_text" in payload):
        raise InvalidRequest('A "right" verdict takes no label.')
    label_text = None
    if verdict == "wrong":
        if label not in OTHER_LABELS and label not in breeds:
            raise InvalidRequest('label must be a breed of GET /breeds, "mix", "not_a_cat" or "other".')
        if label == answer["predictions"][0]["breed"]:
            raise InvalidRequest('A "wrong" verdict cannot name the breed that was answered; send "right".')
        if label == "other":
            label_text = clean_text(payload.get("label_text"))
        elif "label_text" in payload:
            raise InvalidRequest('label_text goes only with the label "other".')
    if not isinstance(consent, bool):
        raise InvalidRequest("consent must be true or false.")
    image, upload = payload.get("image"), payload.get("upload")
    if not consent and (image is not None or upload is not None):
        raise InvalidRequest("Send the photo only with consent: true.")
    if consent and [image, upload].count(None) != 1:
        raise InvalidRequest("With consent: true, send the photo: exactly one of image and upload.")
    if image is not None and (not isinstance(image, str) or not image):
        raise InvalidRequest("The image must be a non-empty base64 string.")
    if upload is not None:
        check_key(upload)
    return FeedbackRequest(answer, verdict, label, label_text, consent, image, upload)


def photo_extension(photo: bytes) -> str:
    """The file extension of a photo that decodes (415 otherwise)."""
    load_image(photo)
    return EXTENSION_OF_FORMAT[Image.open(io.BytesIO(photo)).format]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class FeedbackDesk:
    """Keeps consented feedback in a store, and gives it back on request."""

    def __init__(self, store: FeedbackStore, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.clock = clock

    def keep(self, request: FeedbackRequest, photo: bytes | None) -> dict:
        """Body of POST /feedback: an id; with a kept photo, also its deletion token. The
        photo (given only with consent, already within its size limit) must decode."""
        feedback_id = uuid.uuid4().hex
        if not request.consent or photo is None:
            return {"id": feedback_id, "kept": False}
        photo_name = f"{feedback_id}/photo.{photo_extension(photo)}"
        token = secrets.token_urlsafe(32)
        record = {
            "id": feedback_id,
            "time": self.clock().isoformat(timespec="seconds"),
            "verdict": request.verdict,
            "label": request.label,
            "label_text": request.label_text,
            "answer": request.answer,
            "photo": photo_name,
            "token_sha256": token_hash(token),
        }
        self.store.put(photo_name, photo, "application/octet-stream")
        self.store.put(f"{feedback_id}/record.json", json.dumps(record, indent=1).encode(), "application/json")
        return {"id": feedback_id, "kept": True, "token": token}

    def withdraw(self, feedback_id: str, token: str) -> dict:
        """Body of DELETE /feedback/{id}: the photo, then the record, are gone. 404 for an id
        with nothing kept, 403 for a token that is not its own (then nothing changes)."""
        if not ID.fullmatch(feedback_id):
            raise FeedbackNotFound("There is no kept feedback with that id.")
        stored = self.store.get(f"{feedback_id}/record.json", RECORD_MAX_BYTES)
        if stored is None:
            raise FeedbackNotFound("There is no kept feedback with that id (it may have been deleted already).")
        record = json.loads(stored)
        if not token or not hmac.compare_digest(token_hash(token), record["token_sha256"]):
            raise WrongToken("That deletion token is not the one this feedback was given.")
        self.store.delete(record["photo"])
        self.store.delete(f"{feedback_id}/record.json")
        return {"id": feedback_id, "deleted": True}
