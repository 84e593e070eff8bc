"""Lambda events in, responses out: direct invoke, API Gateway HTTP API (payload v2) and
REST API proxy (payload v1). Domain errors become the API's error bodies and status codes;
anything unexpected becomes a 500 that says nothing internal. One JSON log line a request."""

from __future__ import annotations

import base64
import json
import logging
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from catbreed.batch import is_batch_event, run_batch
from catbreed.errors import (
    INTERNAL_ERROR_BODY,
    CatbreedError,
    ImageTooLarge,
    InvalidRequest,
    MethodNotAllowed,
    NotFound,
)
from catbreed.service import DIRECT_MAX_BYTES, Outcome, Service

MAX_BODY_BYTES = DIRECT_MAX_BYTES * 4 // 3 + 64 * 1024  # a direct photo as base64 JSON fits; more is refused unread
ROUTES = {"/predict": ("POST",), "/breeds": ("GET",), "/uploads": ("POST",)}

log = logging.getLogger("catbreed.requests")
if not log.handlers:
    _handler = logging.StreamHandler(sys.stdout)
    _handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(_handler)
    log.setLevel(logging.INFO)
    log.propagate = False


@dataclass
class HttpRequest:
    """The parts of an API Gateway request the function uses."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    request_id: str = ""
    origin: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


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
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    raw = event.get("body") or ""
    if event.get("isBase64Encoded"):
        if len(raw) * 3 // 4 > MAX_BODY_BYTES:
            raise ImageTooLarge.request()
        try:
            body = base64.b64decode(raw, validate=True)
        except ValueError as exc:
            raise InvalidRequest("The request body is not valid base64.") from exc
    else:
        body = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
    return HttpRequest(
        method.upper(),
        path.rstrip("/") or "/",
        headers,
        body,
        request_id=context.get("requestId", ""),
        origin=headers.get("origin", ""),
    )


def json_body(request: HttpRequest) -> Any:
    """The request body as JSON (400 when it is not)."""
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidRequest("The request body is not valid JSON.") from exc


class Gateway:
    """Turns any supported event into a response from the Service."""

    def __init__(self, service: Service, allowed_origins: str | None = None) -> None:
        self.service = service
        origins = allowed_origins if allowed_origins is not None else os.environ.get("ALLOWED_ORIGINS", "*")
        self.allowed_origins = [o.strip() for o in origins.split(",") if o.strip()]

    # --- entry point -------------------------------------------------------------------
    def handle(self, event: Any, context: Any = None) -> dict:
        """The Lambda handler's whole job."""
        started = time.perf_counter()
        kind = event_kind(event)
        outcome = Outcome()
        request_id = getattr(context, "aws_request_id", "") or ""
        route, status, code = "direct", 200, "ok"
        request: HttpRequest | None = None
        try:
            if kind == "direct":
                body = self.service.predict_payload(event, outcome)
                response = body
            elif kind == "batch":
                route, outcome.source = "batch", "s3"
                response = run_batch(event, self.service.predict_stored)
            else:
                request = parse_http_event(event, kind)
                request_id = request_id or request.request_id
                route = f"{request.method} {request.path}"
                body, status, extra_headers = self.route(request, outcome)
                response = self.http_response(status, body, request.origin, extra_headers)
        except CatbreedError as exc:
            status, code = exc.status, exc.code
            response = self.error_response(kind, exc.status, exc.to_body(), request)
        except Exception:
            status, code = 500, "internal_error"
            log.exception("unhandled error")
            response = self.error_response(kind, 500, INTERNAL_ERROR_BODY, request)
        self.log_request(request_id or str(uuid.uuid4()), kind, route, status, code, outcome, started)
        return response

    # --- HTTP routing -----------------------------------------------------------------
    def route(self, request: HttpRequest, outcome: Outcome) -> tuple[dict | None, int, dict]:
        """Dispatch an HTTP request to its route: (body, status, extra headers)."""
        methods = ROUTES.get(request.path)
        if methods is None:
            raise NotFound(f"There is no route {request.path}; use POST /predict, POST /uploads or GET /breeds.")
        if request.method == "OPTIONS":
            return None, 204, {"Access-Control-Max-Age": "600"}
        if request.method not in methods:
            raise MethodNotAllowed(f"{request.path} takes {' or '.join(methods)}, not {request.method}.")
        if request.path == "/breeds":
            return self.service.breeds(), 200, {}
        if request.path == "/uploads":
            return self.service.create_upload(json_body(request)), 200, {}
        return self.predict(request, outcome), 200, {}

    def predict(self, request: HttpRequest, outcome: Outcome) -> dict:
        """POST /predict: a JSON request object, or a raw image/* body."""
        if len(request.body) > MAX_BODY_BYTES:
            raise ImageTooLarge.request()
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type.startswith("image/") or content_type == "application/octet-stream":
            return self.service.predict_bytes(request.body, outcome)
        return self.service.predict_payload(json_body(request), outcome)

    # --- responses --------------------------------------------------------------------
    def cors_headers(self, origin: str) -> dict[str, str]:
        if "*" in self.allowed_origins:
            allow = "*"
        elif origin in self.allowed_origins:
            allow = origin
        else:
            return {}
        return {
            "Access-Control-Allow-Origin": allow,
            "Access-Control-Allow-Methods": "GET,POST,OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
            "Vary": "Origin",
        }

    def http_response(self, status: int, body: dict | None, origin: str, extra: dict | None = None) -> dict:
        headers = {"Content-Type": "application/json", **self.cors_headers(origin), **(extra or {})}
        return {
            "statusCode": status,
            "headers": headers,
            "isBase64Encoded": False,
            "body": "" if body is None else json.dumps(body),
        }

    def error_response(self, kind: str, status: int, body: dict, request: HttpRequest | None) -> dict:
        if kind in ("direct", "batch"):
            return body
        return self.http_response(status, body, request.origin if request else "")

    @staticmethod
    def log_request(request_id: str, kind: str, route: str, status: int, code: str, outcome: Outcome, started: float) -> None:
        """One structured line a request; never the photo."""
        log.info(
            json.dumps(
                {
                    "request_id": request_id,
                    "event": kind,
                    "route": route,
                    "status": status,
                    "outcome": code,
                    "source": outcome.source,
                    "photo_bytes": outcome.photo_bytes,
                    "timings_ms": {**outcome.timings_ms, "total": round((time.perf_counter() - started) * 1000, 2)},
                }
            )
        )
