"""Owners' feedback on an answer: POST /feedback validates it strictly and, only with the
owner's consent, keeps the photo and a record (verdict, label, the answer the client says the
model gave, the answer the model gives the kept photo here, the time; never an address or a
user agent); a DELETE of the feedback with its deletion token takes both back. Without consent
nothing is kept: the verdict becomes a metric (catbreed.telemetry).

What is kept is never the bytes that were sent: the photo is decoded and written again as a
JPEG of at most KEPT_MAX_SIDE pixels a side and KEPT_MAX_BYTES, so EXIF (GPS), comments and
anything appended after the image are gone, and each kept photo costs a bounded size.

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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from PIL import Image

from catbreed.errors import FeedbackNotFound, InvalidRequest, WrongToken
from catbreed.feedback_store import FeedbackStore
from catbreed.limits import DEFAULT_TOP_K, FEEDBACK_TEXT_MAX_CHARS
from catbreed.preprocessing import load_image

VERDICTS = ("right", "wrong")
OTHER_LABELS = ("mix", "not_a_cat", "other")  # besides the model card's breeds
MAX_PREDICTIONS = DEFAULT_TOP_K  # the page's answers list the default number of breeds
ID = re.compile(r"^[0-9a-f]{32}$")
MODEL_FIELD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
REQUEST_FIELDS = {"answer", "verdict", "label", "label_text", "consent", "image"}
ANSWER_FIELDS = {"predictions", "model", "is_cat", "cat_score", "confident", "focus"}  # focus: taken, not kept
RECORD_MAX_BYTES = 64 * 1024
# The kept photo: a JPEG, its longest side at most KEPT_MAX_SIDE, at most KEPT_MAX_BYTES; the
# first quality that fits (a detailed photo needs a lower one; noise may need a smaller side).
KEPT_MAX_SIDE = 1024
KEPT_MAX_BYTES = 1024 * 1024
KEPT_QUALITIES = (88, 75, 60, 45)
PHOTO_NAME = "photo.jpg"
# A record's own photo: under its id; records kept before re-encoding may name the sent format.
OWN_PHOTO = re.compile(r"^(?P<id>[0-9a-f]{32})/photo\.(jpg|png|webp|gif|bmp)$")


@dataclass(frozen=True)
class Verdict:
    """What an owner said about an answer: the metrics' dimensions, and what was kept."""

    breed: str  # the breed the model answered first
    verdict: str  # "right" or "wrong"
    model_version: str  # the version of the model that answered (the answer names it); logged, never a metric dimension
    kept_bytes: int = 0  # the photo and record written (0 without consent)


@dataclass(frozen=True)
class FeedbackRequest:
    """A validated POST /feedback: the photo (when consent) is still to be fetched."""

    answer: dict
    verdict: str
    label: str | None
    label_text: str | None
    consent: bool
    image: str | None

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
    if "upload" in payload:
        raise InvalidRequest("POST /feedback takes the photo as image (base64, within the direct limit), not an upload.")
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
    image = payload.get("image")
    if not consent and image is not None:
        raise InvalidRequest("Send the photo only with consent: true.")
    if consent and image is None:
        raise InvalidRequest("With consent: true, send the photo as image.")
    if image is not None and (not isinstance(image, str) or not image):
        raise InvalidRequest("The image must be a non-empty base64 string.")
    return FeedbackRequest(answer, verdict, label, label_text, consent, image)


def reencode(photo: bytes, max_bytes: int = KEPT_MAX_BYTES) -> bytes:
    """The photo as it is kept: decoded upright (415 when it does not decode), its longest
    side at most KEPT_MAX_SIDE, written as a new JPEG with no metadata of at most `max_bytes`
    (at 1,024 px even noise stays under 1 MiB; the loop is the guarantee). Nothing of the sent
    bytes survives but the pixels."""
    image = load_image(photo, min_side=KEPT_MAX_SIDE)
    side = KEPT_MAX_SIDE
    while True:
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
        for quality in KEPT_QUALITIES:
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=quality, optimize=True)  # no exif=, icc_profile=: none written
            if buffer.tell() <= max_bytes:
                return buffer.getvalue()
        side //= 2


def server_answer(body: Mapping[str, Any]) -> dict:
    """The fields of a /predict answer a record keeps (the same as the client's claim)."""
    return {field: value for field, value in body.items() if field in ANSWER_FIELDS}


def own_photo(record: Mapping[str, Any]) -> str | None:
    """The record's photo name when it is its own (`<id>/photo.<ext>` of the record's id), else None."""
    match = OWN_PHOTO.fullmatch(str(record.get("photo", "")))
    return match.group(0) if match and match["id"] == record.get("id") else None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class FeedbackDesk:
    """Keeps consented feedback in a store, and gives it back on request."""

    def __init__(self, store: FeedbackStore, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.clock = clock

    def keep(self, request: FeedbackRequest, photo: bytes | None, classify: Callable[[bytes], dict]) -> tuple[dict, int]:
        """Body of POST /feedback (an id; with a kept photo, also its deletion token), and the
        bytes kept. The photo (given only with consent, within its size limit) must decode; it
        is kept re-encoded (`reencode`), and `classify` (the service's /predict answer for
        photo bytes) answers for the kept photo itself, beside what the client claims."""
        feedback_id = uuid.uuid4().hex
        if not request.consent or photo is None:
            return {"id": feedback_id, "kept": False}, 0
        kept = reencode(photo)
        photo_name = f"{feedback_id}/{PHOTO_NAME}"
        token = secrets.token_urlsafe(32)
        record = {
            "id": feedback_id,
            "time": self.clock().isoformat(timespec="seconds"),
            "verdict": request.verdict,
            "label": request.label,
            "label_text": request.label_text,
            "answer": request.answer,
            "server_answer": server_answer(classify(kept)),
            "photo": photo_name,
            "token_sha256": token_hash(token),
        }
        data = json.dumps(record, indent=1).encode()
        self.store.put(photo_name, kept, "image/jpeg")
        self.store.put(f"{feedback_id}/record.json", data, "application/json")
        return {"id": feedback_id, "kept": True, "token": token}, len(kept) + len(data)

    def withdraw(self, feedback_id: str, token: str) -> dict:
        """Body of the feedback's DELETE: the photo, then the record, are gone. 404 for an id
        with nothing kept, 403 for a token that is not its own (then nothing changes)."""
        if not ID.fullmatch(feedback_id):
            raise FeedbackNotFound("There is no kept feedback with that id.")
        stored = self.store.get(f"{feedback_id}/record.json", RECORD_MAX_BYTES)
        if stored is None:
            raise FeedbackNotFound("There is no kept feedback with that id (it may have been deleted already).")
        record = json.loads(stored)
        if not token or not hmac.compare_digest(token_hash(token), record["token_sha256"]):
            raise WrongToken("That deletion token is not the one this feedback was given.")
        photo = own_photo(record)
        if photo is not None:  # a record naming another photo deletes only itself
            self.store.delete(photo)
        self.store.delete(f"{feedback_id}/record.json")
        return {"id": feedback_id, "deleted": True}
