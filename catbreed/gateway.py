"""Lambda events in, responses out: direct invoke, batches of stored photos (Step Functions),
API Gateway HTTP API (payload v2) and REST API proxy (payload v1). HTTP requests are routed by
ROUTES, the one table of the API's routes (the local server routes by it too). Domain errors
become the API's error bodies and status codes; anything unexpected becomes a 500 that says
nothing internal. Each request is reported once to `catbreed.telemetry`.

CORS is API Gateway's job (template.yaml); the function adds no CORS headers."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
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
    TokenRequired,
)
from catbreed.limits import DEFAULT_TOP_K, MAX_BODY_BYTES
from catbreed.service import Answer, Service
from catbreed.storage import read_photo

BEARER = re.compile(r"^Bearer\s+(\S+)$", re.IGNORECASE)
JSON_TYPE = "application/json"
PHOTO_TYPES = ("image/*", "application/octet-stream")  # a raw photo body on POST /predict


@dataclass(frozen=True)
class HttpRequest:
    """The parts of an API Gateway request the function uses; the body is decoded on demand."""

    method: str
    path: str
    headers: dict[str, str]
    raw_body: str | bytes
    base64_body: bool
    query: dict[str, str] = field(default_factory=dict)

    @property
    def content_type(self) -> str:
        """The media type of the body, lower case, without parameters ("" when none is sent)."""
        return media_type(self.headers.get("content-type", ""))

    @property
    def size(self) -> int:
        """The body's size in bytes (decoded size when it comes base64-encoded)."""
        return len(self.raw_body) * 3 // 4 if self.base64_body else len(self.raw_body)

    def body(self) -> bytes:
        """The body's bytes (400 when marked base64 but not)."""
        if self.base64_body:
            try:
                return base64.b64decode(self.raw_body, validate=True)
            except ValueError as exc:
                raise InvalidRequest("The request body is not valid base64.") from exc
        return self.raw_body.encode("utf-8") if isinstance(self.raw_body, str) else bytes(self.raw_body)

    def json(self, hint: str = "") -> Any:
        """The body as JSON (400 when it is not, with `hint` after the reason)."""
        try:
            return json.loads(self.body())
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: [[[[... nested too deep
            raise InvalidRequest(f"The request body is not valid JSON.{hint}") from exc


def media_type(content_type: str) -> str:
    """A Content-Type's media type, lower case, without parameters: image/JPEG; q=1 -> image/jpeg."""
    return content_type.split(";")[0].strip().lower()


def is_one_of(content_type: str, types: tuple[str, ...]) -> bool:
    """Whether a Content-Type is one of the media types (`image/*` stands for every image type)."""
    kind = media_type(content_type)
    return any(kind == t or (t.endswith("/*") and kind.startswith(t[:-1])) for t in types)


Respond = Callable[[Service, HttpRequest, dict[str, str]], Answer]


@dataclass(frozen=True)
class Route:
    """One route of the API: its method, its path (a `{name}` part stands for one path
    segment), the media types its body may have (none: it takes no body), and what answers it
    (the service, the request, the values of the path's `{name}` parts)."""

    method: str
    path: str
    respond: Respond
    body_types: tuple[str, ...] = ()

    def match(self, path: str) -> dict[str, str] | None:
        """The values of the `{name}` parts when `path` is this route's, else None."""
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path))
        found = re.fullmatch(pattern, path)
        return found.groupdict() if found else None

    def accepts(self, content_type: str) -> bool:
        """Whether a body of this Content-Type is one the route takes."""
        return is_one_of(content_type, self.body_types)


def predict(service: Service, request: HttpRequest, _: dict[str, str]) -> Answer:
    """POST /predict: a JSON request object, or the raw photo (an image/* or octet-stream body);
    `?top_k=N` sets top_k where the body does not."""
    top_k = query_top_k(request.query)
    if is_one_of(request.content_type, PHOTO_TYPES):
        return service.predict_bytes(request.body(), top_k)
    hint = "" if request.content_type == JSON_TYPE else " To send the photo itself, send its bytes with Content-Type: image/jpeg."
    return service.predict_payload(request.json(hint), top_k)


def query_top_k(query: dict[str, str]) -> Any:
    """`?top_k=N` as a number; anything else as sent, for the top_k check to refuse."""
    value = query.get("top_k")
    if value is None:
        return DEFAULT_TOP_K
    return int(value) if value.isascii() and value.isdigit() else value


def bearer_token(headers: dict[str, str]) -> str:
    """The token of `Authorization: Bearer <token>` (401 when there is none)."""
    match = BEARER.fullmatch(headers.get("authorization", "").strip())
    if not match:
        raise TokenRequired("This needs the deletion token POST /feedback answered: send Authorization: Bearer <token>.")
    return match.group(1)


# The API's routes, the one table of them: the gateway dispatches by it, the Allow header and
# the 404 and 405 answers come from it, and the local server routes by it.
ROUTES = (
    Route("POST", "/predict", predict, (JSON_TYPE, *PHOTO_TYPES)),
    Route("GET", "/breeds", lambda service, request, _: service.breeds()),
    Route("POST", "/uploads", lambda service, request, _: service.create_upload(request.json()), (JSON_TYPE,)),
    Route("POST", "/feedback", lambda service, request, _: service.give_feedback(request.json()), (JSON_TYPE,)),
    Route(
        "DELETE",
        "/feedback/{id}",
        lambda service, request, part: service.withdraw_feedback(part["id"], bearer_token(request.headers)),
    ),
)


def routes_at(path: str) -> list[tuple[Route, dict[str, str]]]:
    """The routes of `path` (a trailing slash aside), each with the values of its `{name}` parts."""
    path = path.rstrip("/") or "/"
    return [(route, part) for route in ROUTES if (part := route.match(path)) is not None]


def route_list() -> str:
    """The routes as people read them: "POST /predict, GET /breeds, ..."."""
    return ", ".join(f"{route.method} {route.path}" for route in ROUTES)


def find_route(method: str, path: str) -> tuple[Route, dict[str, str]]:
    """The route for a request: 404 when no route has the path, 405 when none of them the method."""
    found = routes_at(path)
    if not found:
        raise NotFound(f"There is no route {path}; the routes are {route_list()}.")
    for route, part in found:
        if route.method == method:
            return route, part
    raise MethodNotAllowed(found[0][0].path, method, tuple(route.method for route, _ in found))


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
        query={str(k): str(v) for k, v in (event.get("queryStringParameters") or {}).items()},
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
        headers = {"Content-Type": JSON_TYPE}
        try:
            if kind == "batch":
                body = run_batch(event, self.service, self.read_stored)
            elif kind == "direct":
                record.answer = self.service.predict_payload(event)
                body = record.answer.body
            else:
                request = parse_http_event(event, kind)
                record.route = f"{request.method} {request.path}"
                record.answer = self.route(request)
                body = record.answer.body
        except CatbreedError as exc:
            body, record.status, record.outcome = exc.to_body(), exc.status, exc.code
            headers.update(exc.headers)
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

    def route(self, request: HttpRequest) -> Answer:
        """Answer an HTTP request by its route; a body past MAX_BODY_BYTES is refused unread."""
        route, part = find_route(request.method, request.path)
        if request.size > MAX_BODY_BYTES:
            raise ImageTooLarge.direct(self.service.has_uploads)
        return route.respond(self.service, request, part)
