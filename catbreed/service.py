"""The classifier service: validates a request, gets the photo, answers per docs/API.md.

It knows nothing of Lambda or HTTP; `catbreed.gateway` adapts events to it.
"""

from __future__ import annotations

import base64
import binascii
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from catbreed.download import DEFAULT_LIMITS, DownloadLimits, download
from catbreed.errors import ImageTooLarge, InvalidRequest, NotFound
from catbreed.feedback import MAX_PREDICTIONS, FeedbackDesk, Verdict, parse_feedback
from catbreed.limits import DEFAULT_TOP_K, DIRECT_MAX_BYTES, PHOTO_MAX_BYTES
from catbreed.model import Classifier
from catbreed.uploads import Uploads, check_key

DATA_URL_PREFIX = re.compile(r"^data:image/[a-zA-Z0-9.+-]+;base64,")
WHITESPACE = re.compile(r"\s+")


@dataclass
class PredictRequest:
    """A validated request: exactly one of `url`, `image` (decoded bytes) and `upload` (a key)."""

    url: str | None
    image: bytes | None
    top_k: int
    upload: str | None = None


@dataclass(frozen=True)
class Answer:
    """What every Service method answers: the body, and what the request's log record and
    metrics say about it (a prediction's photo and timings; an owner's verdict)."""

    body: dict
    source: str = ""  # a prediction's photo: "url", "image" or "stored"; "" for the other routes
    photo_bytes: int = 0
    timings_ms: dict[str, float] = field(default_factory=dict)
    verdict: Verdict | None = None  # POST /feedback's

    @property
    def is_prediction(self) -> bool:
        return bool(self.source)


def check_top_k(top_k: Any, breeds: int) -> int:
    """How many breeds to answer: a whole number from 1 to `breeds` (400 otherwise)."""
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= breeds:
        raise InvalidRequest(f"top_k must be a whole number from 1 to {breeds}.")
    return top_k


def decode_base64_image(text: str, uploads: bool) -> bytes:
    """Standard base64 (a `data:image/...;base64,` prefix and line breaks allowed) to bytes,
    at most the direct limit (the 413 says to upload when `uploads`, else to send the URL)."""
    text = WHITESPACE.sub("", DATA_URL_PREFIX.sub("", text.strip(), count=1))
    if len(text) * 3 // 4 > DIRECT_MAX_BYTES + 3:
        raise ImageTooLarge.direct(uploads)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest("The image field is not valid base64.") from exc
    if len(data) > DIRECT_MAX_BYTES:
        raise ImageTooLarge.direct(uploads)
    return data


def parse_request(payload: Any, breeds: int, uploads: bool, top_k: Any = DEFAULT_TOP_K) -> PredictRequest:
    """Validate the JSON request object of API.md (`top_k`: when the object has none)."""
    if not isinstance(payload, dict):
        raise InvalidRequest("The request must be a JSON object with a url, an image or an upload.")
    if sum(name in payload for name in ("url", "image", "upload")) != 1:  # a null counts as sent
        raise InvalidRequest("Send exactly one of url, image and upload.")
    url, image, upload = payload.get("url"), payload.get("image"), payload.get("upload")
    top_k = check_top_k(payload.get("top_k", top_k), breeds)
    if "url" in payload:
        if not isinstance(url, str):
            raise InvalidRequest("The url must be a string.", code="invalid_url")
        return PredictRequest(url=url, image=None, top_k=top_k)
    if "upload" in payload:
        if not isinstance(upload, str):
            raise InvalidRequest("The upload must be the key POST /uploads answered.")
        return PredictRequest(url=None, image=None, top_k=top_k, upload=upload)
    if not isinstance(image, str) or not image:
        raise InvalidRequest("The image must be a non-empty base64 string.")
    return PredictRequest(url=None, image=decode_base64_image(image, uploads), top_k=top_k)


class Service:
    """Predictions and the breed list, over one loaded Classifier."""

    def __init__(
        self,
        classifier: Classifier,
        limits: DownloadLimits = DEFAULT_LIMITS,
        fetch: Callable[[str, DownloadLimits], bytes] = download,
        uploads: Uploads | None = None,
        feedback: FeedbackDesk | None = None,
    ) -> None:
        self.classifier = classifier
        self.limits = limits
        self.fetch = fetch
        self.uploads = uploads
        self.feedback = feedback

    @property
    def has_uploads(self) -> bool:
        """Whether POST /uploads is offered (an upload bucket is set)."""
        return self.uploads is not None

    def check_top_k(self, top_k: Any) -> int:
        """`top_k` if it is a whole number from 1 to the model's breeds (400 otherwise)."""
        return check_top_k(top_k, len(self.classifier.breeds))

    def breeds(self) -> Answer:
        """GET /breeds: the labels, the model, and the photo limits (the page reads them)."""
        return Answer(
            {
                "breeds": list(self.classifier.breeds),
                "model": dict(self.classifier.info),
                "limits": {"direct_max_bytes": DIRECT_MAX_BYTES, "photo_max_bytes": PHOTO_MAX_BYTES},
            }
        )

    def predict_payload(self, payload: Any, top_k: Any = DEFAULT_TOP_K) -> Answer:
        """A prediction for a JSON request object (`top_k`: when the object has none)."""
        request = parse_request(payload, len(self.classifier.breeds), self.has_uploads, top_k)
        if request.upload is None:
            return self.predict(request)
        check_key(request.upload)  # a malformed key is the caller's 400, whether or not uploads are enabled
        uploads = self._uploads()
        photo = uploads.read(request.upload)
        try:
            return self.predict_stored(photo, request.top_k)
        finally:
            uploads.delete(request.upload)  # answered (or refused): the upload has done its job

    def predict_bytes(self, photo: bytes, top_k: Any = DEFAULT_TOP_K) -> Answer:
        """A prediction for a raw photo body (the direct limit)."""
        top_k = self.check_top_k(top_k)
        if len(photo) > DIRECT_MAX_BYTES:
            raise ImageTooLarge.direct(self.has_uploads)
        return self.predict(PredictRequest(url=None, image=photo, top_k=top_k))

    def predict_stored(self, photo: bytes, top_k: int = DEFAULT_TOP_K) -> Answer:
        """A prediction for a photo read from S3 or disk (the photo limit)."""
        if len(photo) > PHOTO_MAX_BYTES:
            raise ImageTooLarge.over(PHOTO_MAX_BYTES)
        return self.predict(PredictRequest(url=None, image=photo, top_k=top_k), source="stored")

    def create_upload(self, payload: Any) -> Answer:
        """POST /uploads."""
        return Answer(self._uploads().create(payload))

    def give_feedback(self, payload: Any) -> Answer:
        """POST /feedback, with the verdict for the metrics. The photo comes only with consent,
        in base64 within the direct limit; the model answers again for the photo kept."""
        request = parse_feedback(payload, self.classifier.breeds)
        desk = self._feedback()
        photo = None if request.image is None else decode_base64_image(request.image, self.has_uploads)
        body, kept_bytes = desk.keep(request, photo, self._answer_for)
        verdict = Verdict(request.answered, request.verdict, request.answer["model"]["version"], kept_bytes)
        return Answer(body, verdict=verdict)

    def _answer_for(self, photo: bytes) -> dict:
        """The /predict answer for photo bytes, with as many breeds as feedback takes."""
        return self.predict(PredictRequest(url=None, image=photo, top_k=MAX_PREDICTIONS)).body

    def withdraw_feedback(self, feedback_id: str, token: str) -> Answer:
        """Withdraw kept feedback (its route: the DELETE of catbreed.gateway.ROUTES)."""
        return Answer(self._feedback().withdraw(feedback_id, token))

    def _feedback(self) -> FeedbackDesk:
        if self.feedback is None:
            raise NotFound("Feedback is not enabled here.")
        return self.feedback

    def _uploads(self) -> Uploads:
        if self.uploads is None:
            raise NotFound("Uploads are not enabled here (no upload bucket); send the photo or its URL.")
        return self.uploads

    def predict(self, request: PredictRequest, source: str = "image") -> Answer:
        """Get the photo, classify it, shape the answer."""
        timings_ms = {}
        started = time.perf_counter()
        if request.url is not None:
            source = "url"
            photo = self.fetch(request.url, self.limits)
            timings_ms["download"] = _ms_since(started)
        else:
            photo = request.image or b""
        inference_started = time.perf_counter()
        prediction = self.classifier.predict(photo)
        timings_ms["classify"] = _ms_since(inference_started)
        is_cat = self.classifier.is_cat(prediction)
        body = {
            "predictions": self.classifier.top_k(prediction, request.top_k),
            "is_cat": is_cat,
            "confident": self.classifier.is_confident(prediction),
            "cat_score": round(prediction.cat_score, 4),
            "focus": {"box": list(prediction.focus)} if is_cat and prediction.focus else None,
            "model": dict(self.classifier.info),
        }
        return Answer(body, source, len(photo), timings_ms)


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)
