"""Local development server: the page, the API as API Gateway would call the function,
and the Lambda Runtime Interface Emulator's invoke route, all on one port.

    python -m catbreed_local.server [--host 127.0.0.1] [--port 8080]
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import json
import mimetypes
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

from catbreed.errors import CatbreedError, ImageTooLarge, InvalidRequest, NotFound
from catbreed.gateway import MAX_BODY_BYTES

STATIC_DIR = Path(__file__).resolve().parent.parent / "static_site"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
API_ROUTES = ("/predict", "/breeds", "/uploads", "/feedback")
TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")

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


def make_request_handler(handler: Handler, static_dir: Path = STATIC_DIR) -> type[BaseHTTPRequestHandler]:
    """An http.server request handler class bound to a Lambda handler."""

    class RequestHandler(BaseHTTPRequestHandler):
        server_version = "catbreed-local"
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # the handler logs JSON already
            pass

        def do_GET(self) -> None:
            self.dispatch()

        def do_POST(self) -> None:
            self.dispatch()

        def do_OPTIONS(self) -> None:
            self.dispatch()

        def do_PUT(self) -> None:
            self.dispatch()

        def do_DELETE(self) -> None:
            self.dispatch()

        def dispatch(self) -> None:
            path, _, query = self.path.partition("?")
            try:
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
            """The Runtime Interface Emulator's route: the body is the event itself."""
            try:
                event = json.loads(body or b"{}")
            except ValueError:
                event = body.decode("utf-8", "replace")  # the handler answers invalid_request
            result = handler(event, lambda_context())
            self.send(200, {"Content-Type": "application/json"}, json.dumps(result).encode())

        def static(self, path: str) -> None:
            relative = path.lstrip("/") or "index.html"
            target = (static_dir / relative).resolve()
            if target.is_dir():
                target = target / "index.html"
            if static_dir.resolve() not in target.parents or not target.is_file():
                self.send(404, {"Content-Type": "text/plain"}, b"not found")
                return
            content_type = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            self.send(200, {"Content-Type": content_type, "Cache-Control": "no-cache"}, target.read_bytes())

        def send(self, status: int, headers: dict[str, str], data: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                if key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

    return RequestHandler


def make_server(handler: Handler, host: str = "127.0.0.1", port: int = 8080) -> ThreadingHTTPServer:
    """A threading HTTP server around a Lambda handler (port 0 picks a free one)."""
    server = ThreadingHTTPServer((host, port), make_request_handler(handler))
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="catbreed local server: page, API and emulator route")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--model-dir", default=None, help="default: model/ (or CATBREED_MODEL_DIR)")
    args = parser.parse_args(argv)
    from catbreed.app import create_gateway
    from catbreed.settings import Settings

    settings = Settings.from_env()
    if args.model_dir:
        settings = dataclasses.replace(settings, model_dir=Path(args.model_dir))
    gateway = create_gateway(settings)
    server = make_server(gateway.handle, args.host, args.port)
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


if __name__ == "__main__":
    main()
