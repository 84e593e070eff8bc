"""Building events from the checked-in samples in events/, and calling the gateway."""

from __future__ import annotations

import base64
import copy
import io
import json
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from PIL import Image

from catbreed_local.server import make_server

EVENTS = Path(__file__).resolve().parent.parent / "events"
SHAPES = ("direct", "v2", "v1")
STATUS_OF_CODE = {
    "invalid_request": 400,
    "invalid_url": 400,
    "forbidden_url": 400,
    "image_too_large": 413,
    "unsupported_image": 415,
    "download_failed": 502,
    "download_timeout": 504,
    "internal_error": 500,
}


def load_event(name: str) -> dict:
    return json.loads((EVENTS / name).read_text())


def v2_event(
    method: str = "POST",
    path: str = "/predict",
    body: str | bytes | None = None,
    content_type: str | None = "application/json",
    base64_body: bool = False,
) -> dict:
    event = copy.deepcopy(load_event("http_api_v2_predict_json.json"))
    event["routeKey"] = f"{method} {path}"
    event["rawPath"] = path
    event["requestContext"]["http"].update(method=method, path=path)
    if content_type is None:
        event["headers"].pop("content-type", None)
    else:
        event["headers"]["content-type"] = content_type
    if base64_body:
        event["body"] = base64.b64encode(body if isinstance(body, bytes) else body.encode()).decode()
    else:
        event["body"] = body.decode() if isinstance(body, bytes) else body
    event["isBase64Encoded"] = base64_body
    return event


def v1_event(
    method: str = "POST",
    path: str = "/predict",
    body: str | None = None,
    content_type: str = "application/json",
    base64_body: bool = False,
) -> dict:
    event = copy.deepcopy(load_event("rest_api_v1_predict_json.json"))
    event.update(httpMethod=method, path=path, resource=path)
    event["requestContext"].update(httpMethod=method, path=f"/prod{path}", resourcePath=path)
    event["headers"]["Content-Type"] = content_type
    event["body"] = base64.b64encode(body if isinstance(body, bytes) else body.encode()).decode() if base64_body else body
    event["isBase64Encoded"] = base64_body
    return event


def call(gateway: Any, shape: str, payload: Any) -> tuple[int, dict]:
    """Send a JSON request object through one way in: (HTTP status, body)."""
    if shape == "direct":
        body = gateway.handle(copy.deepcopy(payload))
        status = STATUS_OF_CODE[body["error"]["code"]] if "error" in body else 200
        return status, body
    event = (v2_event if shape == "v2" else v1_event)(body=json.dumps(payload))
    response = gateway.handle(event)
    return response["statusCode"], json.loads(response["body"])


def call_http(gateway: Any, event: dict) -> tuple[int, dict, dict]:
    response = gateway.handle(event)
    body = json.loads(response["body"]) if response["body"] else {}
    return response["statusCode"], response["headers"], body


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    """An image as file bytes in the given format."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


@contextmanager
def serving(handler: Callable[[dict, object], dict]) -> Iterator[str]:
    """The local server around a handler on a free 127.0.0.1 port; yields its base URL."""
    server = make_server(handler, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def decompression_bomb(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width x height pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
