"""Local development server: the page, the API as API Gateway would call the function,
and the Lambda Runtime Interface Emulator's invoke route, all on one port.

    python -m catbreed_local.server [--host 127.0.0.1] [--port 8080] [--allow-batch] [--json-logs]

It routes the API by the function's own table (catbreed.gateway.ROUTES). It answers only
requests that name this machine in their Host header (a web page cannot reach it through DNS
rebinding) and that come from no other site (an Origin header other than its own is refused);
it takes API writes only as the route's JSON (or, on POST /predict, the photo as image/* or
application/octet-stream), and the emulator route only as application/json: a page elsewhere
cannot post a form or text/plain to it. It refuses batch events, which read S3 with the
developer's credentials, unless started with --allow-batch. A body sent in chunks is read as
one. It prints one line per request; the function's JSON log records and metrics only with
--json-logs.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import errno
import json
import logging
import mimetypes
import os
import sys
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import BinaryIO
from urllib.parse import parse_qs, urlsplit

from catbreed.batch import is_batch_event
from catbreed.errors import CatbreedError, ImageTooLarge, InvalidRequest, MethodNotAllowed, NotFound
from catbreed.gateway import find_route, media_type, route_list, routes_at
from catbreed.limits import MAX_BODY_BYTES
from catbreed_local.client import INVOKE_PATH, LOCAL_PORT
from catbreed_local.litert_notice import without_xnnpack_notice

STATIC_DIR = Path(__file__).resolve().parent.parent / "static_site"
TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")
LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
# A refused body is still read (and dropped), up to this much, so that the client, still
# sending, gets the answer instead of a broken connection; past it the connection is closed.
DISCARD_MAX_BYTES = 64 * 1024 * 1024
DISCARD_TIMEOUT_S = 10.0

Handler = Callable[[dict, object], dict]


class BodyTooLarge(Exception):
    """A chunked body ran past the byte limit (the rest has been read and dropped)."""


def http_api_event(method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> dict:
    """The payload v2 event API Gateway's HTTP API would send for this request."""
    content_type = headers.get("content-type", "")
    is_text = not body or content_type.startswith(TEXT_TYPES)
    request_id = str(uuid.uuid4())
    event = {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1"},
            "requestId": request_id,
            "stage": "$default",
        },
        "body": body.decode("utf-8", "replace") if is_text else base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": not is_text,
    }
    if query:  # as API Gateway does: repeated names joined by commas
        event["queryStringParameters"] = {k: ",".join(v) for k, v in parse_qs(query, keep_blank_values=True).items()}
    return event


def read_chunked(stream: BinaryIO, keep_max: int, read_max: int = DISCARD_MAX_BYTES) -> bytes:
    """A `Transfer-Encoding: chunked` body as one. Past `keep_max` bytes the rest is read and
    dropped (up to `read_max`, then reading stops) and BodyTooLarge is raised."""
    chunks: list[bytes] = []
    size = 0
    while True:
        line = stream.readline(1024)
        try:
            length = int(line.split(b";")[0].strip(), 16)
        except ValueError:
            raise InvalidRequest("The request's chunked body is malformed.") from None
        if length == 0:
            break
        size += length
        if size > read_max:
            raise BodyTooLarge()
        data = stream.read(length)
        if len(data) < length:
            raise InvalidRequest("The request's chunked body ends early.")
        if size <= keep_max:
            chunks.append(data)
        stream.readline(1024)  # the CRLF after the chunk
    while stream.readline(1024) not in (b"\r\n", b"\n", b""):
        pass  # trailer fields, unused
    if size > keep_max:
        raise BodyTooLarge()
    return b"".join(chunks)


def lambda_context(name: str = "catbreed-local") -> SimpleNamespace:
    """Enough of a Lambda context object for the handler."""
    return SimpleNamespace(
        aws_request_id=str(uuid.uuid4()), function_name=name, memory_limit_in_mb=1024, get_remaining_time_in_millis=lambda: 30_000
    )


def host_name(host_header: str) -> str:
    """The name of a Host header without its port ("[::1]:8080" -> "[::1]")."""
    name = host_header.strip().lower()
    if name.startswith("["):
        return name.partition("]")[0] + "]"
    return name.rpartition(":")[0] if name.count(":") == 1 else name


def request_line(method: str, path: str, status: int, body: bytes, ms: float) -> str:
    """The one line a request prints: method, path, status, the top breed or the error code, time."""
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    outcome = ""
    if isinstance(answer, dict) and isinstance(answer.get("error"), dict):
        outcome = str(answer["error"].get("code", ""))
    elif isinstance(answer, dict) and answer.get("predictions"):
        outcome = str(answer["predictions"][0].get("breed", ""))
    return " ".join(part for part in (method, path, str(status), outcome, f"{ms:.0f} ms") if part)


def make_request_handler(
    handler: Handler,
    static_dir: Path = STATIC_DIR,
    allow_batch: bool = False,
    log: Callable[[str], None] | None = None,
    uploads: bool = False,
) -> type[BaseHTTPRequestHandler]:
    """An http.server request handler class bound to a Lambda handler; `log` gets one line
    per request; `uploads` says whether the function offers POST /uploads (a 413 says so)."""

    class RequestHandler(BaseHTTPRequestHandler):
        server_version = "catbreed-local"
        protocol_version = "HTTP/1.1"
        started = 0.0  # when the request came in, for its line
        body_read = False  # a request refused before its body is read still reads it (discard_body)

        def log_message(self, format: str, *args: object) -> None:  # one line per request, from send()
            pass

        def __getattr__(self, name: str) -> Callable[[], None]:
            """Every method (do_GET, do_TRACE, ...) is dispatched: the function answers a method
            its routes do not take with the JSON 405, as behind API Gateway."""
            if name.startswith("do_"):
                return self.dispatch
            raise AttributeError(name)

        def handle_expect_100(self) -> bool:
            """No "100 Continue" for a body too large for any route: the 413 answers at once."""
            if self.declared_length() > MAX_BODY_BYTES:
                return True
            return super().handle_expect_100()

        def dispatch(self) -> None:
            self.started = time.perf_counter()
            self.body_read = False
            path, _, query = self.path.partition("?")
            try:
                self.check_host()
                self.check_origin()
                self.check_route(path)
                body = self.read_body()
            except CatbreedError as exc:
                self.close_connection = True
                self.send_error_body(exc)
                self.discard_body()
                return
            if path == INVOKE_PATH:
                self.invoke(body)
            elif routes_at(path) or self.command not in ("GET", "HEAD"):  # the function answers its 404s and 405s
                self.api(path, query, body)
            else:
                self.static(path)

        def check_host(self) -> None:
            """Only requests for this machine (DNS rebinding makes a page's own name point here)."""
            if host_name(self.headers.get("Host", "")) not in self.local_names():
                raise InvalidRequest("This local server answers only requests for localhost or 127.0.0.1 (the Host header).")

        def check_origin(self) -> None:
            """Only this server's own page, when the request names the page it comes from."""
            origin = self.headers.get("Origin")
            if origin is None:
                return
            port = self.server.server_address[1]
            try:
                parts = urlsplit(origin.strip().lower())
                own = parts.scheme == "http" and host_name(parts.netloc) in self.local_names() and (parts.port or 80) == port
            except ValueError:
                own = False
            if not own:
                raise InvalidRequest(
                    f"This local server answers only its own page (http://127.0.0.1:{port}/), not a page of another site "
                    f"(the Origin header: {origin[:100]})."
                )

        def local_names(self) -> set[str]:
            return {*LOCAL_NAMES, self.server.server_address[0]}

        def check_route(self, path: str) -> None:
            """The emulator route takes POST only, and JSON; an API route that takes a body takes
            only its own types (a page elsewhere may post a form or text/plain without asking)."""
            content_type = self.headers.get("Content-Type", "")
            if path == INVOKE_PATH:
                if self.command != "POST":
                    raise MethodNotAllowed(INVOKE_PATH, self.command, ("POST",))
                if media_type(content_type) != "application/json":
                    raise InvalidRequest("The emulator route takes Content-Type: application/json.")
                return
            try:
                route, _ = find_route(self.command, path)
            except CatbreedError:
                return  # no such route or method: the function answers its 404 or 405
            if route.body_types and not route.accepts(content_type):
                photo = " (a photo: its own type, such as image/jpeg)" if "image/*" in route.body_types else ""
                raise InvalidRequest(
                    f"{route.method} {route.path} takes Content-Type: {' or '.join(route.body_types)}{photo}, "
                    f"not {media_type(content_type) or 'none'}."
                )

        def declared_length(self) -> int:
            declared = (self.headers.get("Content-Length") or "0").strip()
            return int(declared) if declared.isdigit() else 0

        def is_chunked(self) -> bool:
            return self.headers.get("Transfer-Encoding", "").split(",")[-1].strip().lower() == "chunked"

        def read_body(self) -> bytes:
            """The body, by its Content-Length or in chunks; 413 past MAX_BODY_BYTES."""
            if "Transfer-Encoding" in self.headers:
                self.body_read = True  # read here, or the connection is closed
                if not self.is_chunked():
                    raise InvalidRequest("This server reads no Transfer-Encoding but chunked.")
                try:
                    return read_chunked(self.rfile, MAX_BODY_BYTES)
                except BodyTooLarge:
                    raise ImageTooLarge.direct(uploads) from None
            declared = (self.headers.get("Content-Length") or "0").strip()
            if not declared.isdigit():
                raise InvalidRequest("The request's Content-Length is not a number.")
            if int(declared) > MAX_BODY_BYTES:
                raise ImageTooLarge.direct(uploads)
            self.body_read = True
            return self.rfile.read(int(declared)) if int(declared) else b""

        def discard_body(self) -> None:
            """Read and drop the body of a refused request (up to DISCARD_MAX_BYTES, for at
            most DISCARD_TIMEOUT_S a read), so that a client still sending it reads the answer
            instead of a broken connection. Not when the client waits for "100 Continue"."""
            waiting = "100-continue" in self.headers.get("Expect", "").lower() and self.declared_length() > MAX_BODY_BYTES
            if self.body_read or waiting:
                return
            self.connection.settimeout(DISCARD_TIMEOUT_S)
            try:
                if self.is_chunked():
                    read_chunked(self.rfile, 0)
                    return
                left = min(self.declared_length(), DISCARD_MAX_BYTES)
                while left > 0 and (chunk := self.rfile.read(min(left, 65536))):
                    left -= len(chunk)
            except (OSError, BodyTooLarge, InvalidRequest):
                pass  # the connection closes anyway

        def send_error_body(self, error: CatbreedError) -> None:
            self.send(error.status, {"Content-Type": "application/json", **error.headers}, json.dumps(error.to_body()).encode())

        def api(self, path: str, query: str, body: bytes) -> None:
            """The request as API Gateway's HTTP API would hand it to the function."""
            headers = {k.lower(): v for k, v in self.headers.items()}
            result = handler(http_api_event(self.command, path, query, headers, body), lambda_context())
            payload = result.get("body", "")
            data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode("utf-8")
            self.send(result.get("statusCode", 200), result.get("headers", {}), data)

        def invoke(self, body: bytes) -> None:
            """The Runtime Interface Emulator's route: the body is the event itself (JSON, see
            check_route), and no batch unless allowed."""
            try:
                event = json.loads(body or b"{}")
            except (ValueError, RecursionError):
                event = body.decode("utf-8", "replace")  # the handler answers invalid_request
            if is_batch_event(event) and not allow_batch:
                self.send_error_body(
                    InvalidRequest("Batch events read S3 with your AWS credentials; start the local server with --allow-batch.")
                )
                return
            self.send(200, {"Content-Type": "application/json"}, json.dumps(handler(event, lambda_context())).encode())

        def static(self, path: str) -> None:
            relative = path.lstrip("/") or "index.html"
            target = (static_dir / relative).resolve()
            if target.is_dir():
                target = target / "index.html"
            if static_dir.resolve() not in target.parents or not target.is_file():
                self.send_error_body(NotFound(f"There is no page {path}."))
                return
            content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            self.send(200, {"Content-Type": content_type, "Cache-Control": "no-cache"}, target.read_bytes())

        def send(self, status: int, headers: dict[str, str], data: bytes) -> None:
            if log:  # before the answer leaves: whoever reads it may look for the line
                ms = (time.perf_counter() - self.started) * 1000
                log(request_line(self.command, self.path.partition("?")[0], status, data, ms))
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() not in ("content-length", "connection"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

    return RequestHandler


def make_server(
    handler: Handler,
    host: str = "127.0.0.1",
    port: int = LOCAL_PORT,
    allow_batch: bool = False,
    log: Callable[[str], None] | None = None,
    uploads: bool = False,
) -> ThreadingHTTPServer:
    """A threading HTTP server around a Lambda handler (port 0 picks a free one)."""
    request_handler = make_request_handler(handler, allow_batch=allow_batch, log=log, uploads=uploads)
    server = ThreadingHTTPServer((host, port), request_handler)
    server.daemon_threads = True
    return server


def print_request_line(line: str) -> None:
    """A request's line goes to stderr, as http.server's own would (stdout is the banner's)."""
    print(line, file=sys.stderr, flush=True)


def show_json_logs(enabled: bool) -> None:
    """The function's JSON log records and metrics (what Lambda shows) only when asked for;
    its error records always."""
    if not enabled:
        os.environ["POWERTOOLS_METRICS_DISABLED"] = "true"
        logging.getLogger("catbreed").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="catbreed local server: page, API and emulator route")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=LOCAL_PORT)
    parser.add_argument("--model-dir", default=None, help="default: model/ (or CATBREED_MODEL_DIR)")
    parser.add_argument("--allow-batch", action="store_true", help="let the emulator route take batch events (they read S3)")
    parser.add_argument("--json-logs", action="store_true", help="print the function's JSON log records and metrics")
    args = parser.parse_args(argv)
    from catbreed.app import create_gateway
    from catbreed.settings import Settings

    settings = Settings.from_env()
    if args.model_dir:
        settings = dataclasses.replace(settings, model_dir=Path(args.model_dir))
    gateway = None

    def handle(event: dict, context: object) -> dict:
        return gateway.handle(event, context)

    try:  # bind before the model loads: a busy port stops the start at once
        uploads = bool(settings.upload_bucket)
        server = make_server(handle, args.host, args.port, allow_batch=args.allow_batch, log=print_request_line, uploads=uploads)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(f"port {args.port} is busy; try PORT={9000 if args.port != 9000 else 9001} make run", file=sys.stderr)
        return 1
    show_json_logs(args.json_logs)
    with without_xnnpack_notice():
        gateway = create_gateway(settings)
    host, port = server.server_address[:2]
    print(f"catbreed local server on http://{host}:{port}/  (API: {route_list()}; emulator: POST {INVOKE_PATH})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
