"""Lambda events in, responses out: direct invoke, batches of stored photos (Step Functions),
API Gateway HTTP API (payload v2) and REST API proxy (payload v1). Domain errors become the
API's error bodies and status codes; anything unexpected becomes a 500 that says nothing
internal. Each request is reported once to `catbreed.telemetry`.

CORS is API Gateway's job (template.yaml); the function adds no CORS headers."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from catbreed import telemetry
from catbreed.batch import Read, is_batch_event, run_batch
from catbreed.errors import (
    INTERNAL_ERROR_BODY,
    CatbreedError,
    ImageTooLarge,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
)
from catbreed.feedback import Verdict
from catbreed.service import DIRECT_MAX_BYTES, Answer, Service
from catbreed.storage import read_photo

MAX_BODY_BYTES = DIRECT_MAX_BYTES * 4 // 3 + 64 * 1024  # a direct photo as base64 JSON fits; more is refused unread
ROUTES = {"/predict": ("POST",), "/breeds": ("GET",), "/uploads": ("POST",), "/feedback": ("POST",)}
FEEDBACK_ITEM = re.compile(r"^/feedback/([^/]+)$")  # DELETE /feedback/{id}
BEARER = re.compile(r"^Bearer\s+(\S+)$", re.IGNORECASE)


@dataclass(frozen=True)
class HttpRequest:
    """The parts of an API Gateway request the function uses; the body is decoded on demand."""

    method: str
    path: str
    headers: dict[str, str]
    raw_body: str | bytes
    base64_body: bool

    def body(self) -> bytes:
        """The body's bytes: 413 past MAX_BODY_BYTES, 400 when marked base64 but not."""
        if self.base64_body:
            if len(self.raw_body) * 3 // 4 > MAX_BODY_BYTES:
                raise ImageTooLarge.request()
            try:
                data = base64.b64decode(self.raw_body, validate=True)
            except ValueError as exc:
                raise InvalidRequest("The request body is not valid base64.") from exc
        else:
            data = self.raw_body.encode("utf-8") if isinstance(self.raw_body, str) else bytes(self.raw_body)
        if len(data) > MAX_BODY_BYTES:
            raise ImageTooLarge.request()
        return data

    def json(self) -> Any:
        """The body as JSON (400 when it is not)."""
        try:
            return json.loads(self.body())
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidRequest("The request body is not valid JSON.") from exc


def bearer_token(headers: dict[str, str]) -> str:
    """The deletion token of `Authorization: Bearer <token>` ("" when there is none)."""
    match = BEARER.fullmatch(headers.get("authorization", "").strip())
    return match.group(1) if match else ""


def event_kind(event: Any) -> str:
    """'v2', 'v1', 'batch' (Step Functions' ItemBatcher) or 'direct'."""
    if is_batch_event(event):
        return "batch"
    if isinstance(event, dict) and isinstance(event.get("requestContext"), dict):
        if event.get("version") == "2.0" or "http" in event["requestContext"]:
            return "v2"
        if "httpMethod" in event:
            return "v1"
    return "direct"


def parse_http_event(event: dict, kind: str) -> HttpRequest:
    """Normalize a v1 or v2 proxy event."""
    context = event.get("requestContext") or {}
    if kind == "v2":
        method = (context.get("http") or {}).get("method", "GET")
        path = event.get("rawPath") or (context.get("http") or {}).get("path") or "/"
    else:
        method = event.get("httpMethod", "GET")
        path = event.get("path") or "/"
    stage = context.get("stage")
    if stage and stage != "$default" and path.startswith(f"/{stage}/"):
        path = path[len(stage) + 1 :]
    return HttpRequest(
        method=method.upper(),
        path=path.rstrip("/") or "/",
        headers={str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()},
        raw_body=event.get("body") or "",
        base64_body=bool(event.get("isBase64Encoded")),
    )


def request_id(event: Any, kind: str, context: Any) -> str:
    """Lambda's id for the invocation, else API Gateway's, else a new one."""
    if getattr(context, "aws_request_id", ""):
        return context.aws_request_id
    if kind in ("v1", "v2") and event["requestContext"].get("requestId"):
        return str(event["requestContext"]["requestId"])
    return str(uuid.uuid4())


class Gateway:
    """Turns any supported event into a response from the Service."""

    def __init__(self, service: Service, read_stored: Read = read_photo) -> None:
        self.service = service
        self.read_stored = read_stored  # a batch's photos, from S3

    def handle(self, event: Any, context: Any = None) -> dict:
        """The Lambda handler's whole job: answer the event, report the request once."""
        started = time.perf_counter()
        kind = event_kind(event)
        record = telemetry.Record(request_id=request_id(event, kind, context), event=kind, route=kind)
        headers = {"Content-Type": "application/json"}
        try:
            if kind == "batch":
                body = run_batch(event, lambda photo, top_k: self.service.predict_stored(photo, top_k).body, self.read_stored)
            elif kind == "direct":
                record.answer = self.service.predict_payload(event)
                body = record.answer.body
            else:
                request = parse_http_event(event, kind)
                record.route = f"{request.method} {request.path}"
                body, outcome = self.route(request)
                if isinstance(outcome, Verdict):
                    record.verdict = outcome
                else:
                    record.answer = outcome
        except CatbreedError as exc:
            body, record.status, record.outcome = exc.to_body(), exc.status, exc.code
            if isinstance(exc, MethodNotAllowed) and exc.allow:
                headers["Allow"] = ", ".join(exc.allow)
        except Exception:
            body, record.status, record.outcome = INTERNAL_ERROR_BODY, 500, "internal_error"
            telemetry.logger.exception("unhandled error", extra={"request_id": record.request_id, "route": record.route})
        record.total_ms = round((time.perf_counter() - started) * 1000, 2)
        telemetry.report(record)
        if kind in ("direct", "batch"):
            return body
        return {
            "statusCode": record.status,
            "headers": headers,
            "isBase64Encoded": False,
            "body": json.dumps(body),
        }

    def route(self, request: HttpRequest) -> tuple[dict, Answer | Verdict | None]:
        """Dispatch an HTTP request to its route: (body, the prediction or the feedback's
        verdict when there is one)."""
        item = FEEDBACK_ITEM.fullmatch(request.path)
        if item:
            if request.method != "DELETE":
                raise MethodNotAllowed(f"/feedback/{{id}} takes DELETE, not {request.method}.", allow=("DELETE",))
            return self.service.withdraw_feedback(item.group(1), bearer_token(request.headers)), None
        methods = ROUTES.get(request.path)
        if methods is None:
            raise NotFound(f"There is no route {request.path}; use POST /predict, POST /uploads or GET /breeds.")
        if request.method not in methods:
            raise MethodNotAllowed(f"{request.path} takes {' or '.join(methods)}, not {request.method}.", allow=methods)
        if request.path == "/breeds":
            return self.service.breeds(), None
        if request.path == "/uploads":
            return self.service.create_upload(request.json()), None
        if request.path == "/feedback":
            return self.service.give_feedback(request.json())
        answer = self.predict(request)
        return answer.body, answer

    def predict(self, request: HttpRequest) -> Answer:
        """POST /predict: a JSON request object, or a raw image/* body."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type.startswith("image/") or content_type == "application/octet-stream":
            return self.service.predict_bytes(request.body())
        return self.service.predict_payload(request.json())
