"""Local development server: the page, the API as API Gateway would call the function,
and the Lambda Runtime Interface Emulator's invoke route, all on one port.

    python -m catbreed_local.server [--host 127.0.0.1] [--port 8080] [--allow-batch] [--json-logs]

It answers only requests that name this machine in their Host header (a web page cannot reach
it through DNS rebinding), takes the emulator route only with Content-Type: application/json
(a page cannot post there without asking first), and refuses batch events, which read S3 with
the developer's credentials, unless started with --allow-batch. It prints one line per request;
the function's JSON log records and metrics only with --json-logs.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import dataclasses
import errno
import json
import logging
import mimetypes
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

from catbreed.batch import is_batch_event
from catbreed.errors import CatbreedError, ImageTooLarge, InvalidRequest, NotFound
from catbreed.gateway import MAX_BODY_BYTES

STATIC_DIR = Path(__file__).resolve().parent.parent / "static_site"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
API_ROUTES = ("/predict", "/breeds", "/uploads", "/feedback")
TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")
LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "[::1]"})
XNNPACK_NOTICE = b"INFO: Created TensorFlow Lite XNNPACK delegate"

Handler = Callable[[dict, object], dict]


def http_api_event(method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> dict:
    """The payload v2 event API Gateway's HTTP API would send for this request."""
    content_type = headers.get("content-type", "")
    is_text = not body or content_type.startswith(TEXT_TYPES)
    request_id = str(uuid.uuid4())
    return {
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
    handler: Handler, static_dir: Path = STATIC_DIR, allow_batch: bool = False, log: Callable[[str], None] | None = None
) -> type[BaseHTTPRequestHandler]:
    """An http.server request handler class bound to a Lambda handler; `log` gets one line
    per request."""

    class RequestHandler(BaseHTTPRequestHandler):
        server_version = "catbreed-local"
        protocol_version = "HTTP/1.1"
        started = 0.0  # when the request came in, for its line

        def log_message(self, format: str, *args: object) -> None:  # one line per request, from send()
            pass

        def __getattr__(self, name: str) -> Callable[[], None]:
            """Every method (do_GET, do_TRACE, ...) is dispatched: the function answers a method
            its routes do not take with the JSON 405, as behind API Gateway."""
            if name.startswith("do_"):
                return self.dispatch
            raise AttributeError(name)

        def dispatch(self) -> None:
            self.started = time.perf_counter()
            path, _, query = self.path.partition("?")
            try:
                self.check_host()
                body = self.read_body()
            except CatbreedError as exc:
                self.send_error_body(exc)
                return
            if path == INVOKE_PATH and self.command == "POST":
                self.invoke(body)
            elif path.rstrip("/") in API_ROUTES or path.startswith("/feedback/"):
                headers = {k.lower(): v for k, v in self.headers.items()}
                result = handler(http_api_event(self.command, path.rstrip("/"), query, headers, body), lambda_context())
                payload = result.get("body", "")
                data = base64.b64decode(payload) if result.get("isBase64Encoded") else payload.encode("utf-8")
                self.send(result.get("statusCode", 200), result.get("headers", {}), data)
            elif self.command in ("GET", "HEAD"):
                self.static(path)
            else:
                self.send_error_body(NotFound("No such route."))

        def check_host(self) -> None:
            """Only requests for this machine (DNS rebinding makes a page's own name point here)."""
            host = host_name(self.headers.get("Host", ""))
            if host not in LOCAL_NAMES and host != self.server.server_address[0]:
                self.close_connection = True
                raise InvalidRequest("This local server answers only requests for localhost or 127.0.0.1 (the Host header).")

        def read_body(self) -> bytes:
            declared = (self.headers.get("Content-Length") or "0").strip()
            if not declared.isdigit():
                self.close_connection = True
                raise InvalidRequest("The request's Content-Length is not a number.")
            length = int(declared)
            if length > MAX_BODY_BYTES:
                self.close_connection = True  # the body is never read
                raise ImageTooLarge.request()
            return self.rfile.read(length) if length else b""

        def send_error_body(self, error: CatbreedError) -> None:
            self.send(error.status, {"Content-Type": "application/json"}, json.dumps(error.to_body()).encode())

        def invoke(self, body: bytes) -> None:
            """The Runtime Interface Emulator's route: the body is the event itself. Only JSON
            (a page's form or text/plain post is refused), and no batch unless allowed."""
            content_type = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if content_type != "application/json":
                self.send_error_body(InvalidRequest("The emulator route takes Content-Type: application/json."))
                return
            try:
                event = json.loads(body or b"{}")
            except ValueError:
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
                if key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

    return RequestHandler


def make_server(
    handler: Handler,
    host: str = "127.0.0.1",
    port: int = 8080,
    allow_batch: bool = False,
    log: Callable[[str], None] | None = None,
) -> ThreadingHTTPServer:
    """A threading HTTP server around a Lambda handler (port 0 picks a free one)."""
    server = ThreadingHTTPServer((host, port), make_request_handler(handler, allow_batch=allow_batch, log=log))
    server.daemon_threads = True
    return server


@contextlib.contextmanager
def without_xnnpack_notice() -> Iterator[None]:
    """Hold back LiteRT's "Created ... XNNPACK delegate" line (written by C++ straight to the
    process's stderr when the model loads); anything else written meanwhile is passed on."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            for line in caught.read().splitlines(keepends=True):
                if not line.startswith(XNNPACK_NOTICE):
                    sys.stderr.buffer.write(line)
            sys.stderr.flush()


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
    parser.add_argument("--port", type=int, default=8080)
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
        server = make_server(handle, args.host, args.port, allow_batch=args.allow_batch, log=print_request_line)
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            raise
        print(f"port {args.port} is busy; try PORT={9000 if args.port != 9000 else 9001} make run", file=sys.stderr)
        return 1
    show_json_logs(args.json_logs)
    with without_xnnpack_notice():
        gateway = create_gateway(settings)
    host, port = server.server_address[:2]
    print(
        f"catbreed local server on http://{host}:{port}/  (API: POST /predict, GET /breeds; emulator: POST {INVOKE_PATH})",
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
