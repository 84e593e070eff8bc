"""The classifier service: validates a request, gets the photo, answers per ../shared/API.md.

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
from catbreed.errors import ImageTooLarge, InvalidRequest
from catbreed.model import Classifier

DATA_URL_PREFIX = re.compile(r"^data:image/[a-zA-Z0-9.+-]+;base64,")
WHITESPACE = re.compile(r"\s+")


@dataclass
class PredictRequest:
    """A validated request: exactly one of `url` and `image` (decoded bytes)."""

    url: str | None
    image: bytes | None
    top_k: int


@dataclass
class Outcome:
    """What the log line reports about one request."""

    source: str = ""
    photo_bytes: int = 0
    timings_ms: dict[str, float] = field(default_factory=dict)


def decode_base64_image(text: str, max_bytes: int) -> bytes:
    """Standard base64 (a `data:image/...;base64,` prefix and line breaks allowed) to bytes."""
    text = WHITESPACE.sub("", DATA_URL_PREFIX.sub("", text.strip(), count=1))
    if len(text) * 3 // 4 > max_bytes + 3:
        raise ImageTooLarge.over(max_bytes)
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidRequest("The image field is not valid base64.") from exc
    if len(data) > max_bytes:
        raise ImageTooLarge.over(max_bytes)
    return data


def parse_request(payload: Any, breeds: int, max_bytes: int) -> PredictRequest:
    """Validate the JSON request object of API.md."""
    if not isinstance(payload, dict):
        raise InvalidRequest("The request must be a JSON object with a url or an image.")
    url, image, top_k = payload.get("url"), payload.get("image"), payload.get("top_k", 5)
    if (url is None) == (image is None):
        raise InvalidRequest("Send exactly one of url and image.")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= breeds:
        raise InvalidRequest(f"top_k must be a whole number from 1 to {breeds}.")
    if url is not None:
        if not isinstance(url, str):
            raise InvalidRequest("The url must be a string.", code="invalid_url")
        return PredictRequest(url=url, image=None, top_k=top_k)
    if not isinstance(image, str) or not image:
        raise InvalidRequest("The image must be a non-empty base64 string.")
    return PredictRequest(url=None, image=decode_base64_image(image, max_bytes), top_k=top_k)


class Service:
    """Predictions and the breed list, over one loaded Classifier."""

    def __init__(
        self,
        classifier: Classifier,
        limits: DownloadLimits = DEFAULT_LIMITS,
        fetch: Callable[[str, DownloadLimits], bytes] = download,
    ) -> None:
        self.classifier = classifier
        self.limits = limits
        self.fetch = fetch

    def breeds(self) -> dict:
        """Body of GET /breeds."""
        return {"breeds": list(self.classifier.breeds), "model": dict(self.classifier.info)}

    def predict_payload(self, payload: Any, outcome: Outcome) -> dict:
        """Body of a successful prediction for a JSON request object."""
        request = parse_request(payload, len(self.classifier.breeds), self.limits.max_bytes)
        return self.predict(request, outcome)

    def predict_bytes(self, photo: bytes, outcome: Outcome, top_k: int = 5) -> dict:
        """Body of a successful prediction for a raw photo upload."""
        if len(photo) > self.limits.max_bytes:
            raise ImageTooLarge.over(self.limits.max_bytes)
        return self.predict(PredictRequest(url=None, image=photo, top_k=top_k), outcome)

    def predict(self, request: PredictRequest, outcome: Outcome) -> dict:
        """Get the photo, classify it, shape the answer."""
        started = time.perf_counter()
        if request.url is not None:
            outcome.source = "url"
            photo = self.fetch(request.url, self.limits)
            outcome.timings_ms["download"] = _ms_since(started)
        else:
            outcome.source = "image"
            photo = request.image or b""
        outcome.photo_bytes = len(photo)
        inference_started = time.perf_counter()
        prediction = self.classifier.predict(photo)
        outcome.timings_ms["classify"] = _ms_since(inference_started)
        return {
            "predictions": self.classifier.top_k(prediction, request.top_k),
            "is_cat": self.classifier.is_cat(prediction),
            "cat_score": round(prediction.cat_score, 4),
            "model": dict(self.classifier.info),
        }


def _ms_since(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)
