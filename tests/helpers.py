"""Test helpers: where the fixture photos are, events built from the samples in events/,
calls through each way in with every answer checked against docs/openapi.yaml, a loopback
server, photo bytes, the metrics in the function's log records, and boto3 clients for moto's
server."""

from __future__ import annotations

import base64
import copy
import io
import ipaddress
import json
import os
import re
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from openapi_core import OpenAPI
from openapi_core.testing import MockRequest, MockResponse
from openapi_schema_validator import OAS30Validator
from PIL import Image

from catbreed.download import DownloadLimits
from catbreed.errors import STATUS_OF_CODE
from catbreed_local.server import make_server

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
DOGS = sorted(path.name for path in FIXTURES.glob("dog_*.jpg"))
SHARED_CATS = ROOT.parent / "shared" / "data" / "cats"
LOOPBACK_ONLY = DownloadLimits(allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),), connect_timeout=1.0, total_timeout=2.0)
EVENTS = ROOT / "events"
CONTRACT = ROOT / "docs" / "openapi.yaml"
SHAPES = ("direct", "v2", "v1")


# --- the contract -------------------------------------------------------------------------
@cache
def contract() -> OpenAPI:
    return OpenAPI.from_file_path(str(CONTRACT))


@cache
def contract_document() -> dict:
    return yaml.safe_load(CONTRACT.read_text())


@cache
def schema(name: str) -> OAS30Validator:
    """A validator for one of the contract's component schemas."""
    return OAS30Validator({"$ref": f"#/components/schemas/{name}", "components": contract_document()["components"]})


def check_schema(name: str, body: Any) -> None:
    errors = [error.message for error in schema(name).iter_errors(body)]
    assert not errors, f"not a {name} of docs/openapi.yaml: {errors}: {json.dumps(body)[:300]}"


def contract_path(path: str) -> str:
    """The contract's path for a request path: itself, or the template it fills (/feedback/{id})."""
    for template in contract_document()["paths"]:
        if re.fullmatch(re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)), path):
            return template
    return path


def check_answer(method: str, path: str, status: int, body: dict) -> None:
    """Fail unless docs/openapi.yaml allows this answer of an HTTP route. Routes and methods
    it does not describe (the 404 and 405 answers) must be the error schema of their status."""
    template = contract_path(path)
    if method.lower() not in contract_document()["paths"].get(template, {}):
        check_schema(f"Error{status}", body)
        return
    request = MockRequest("http://localhost", method.lower(), path, path_pattern=template)
    response = MockResponse(json.dumps(body).encode(), status_code=status, content_type="application/json")
    contract().validate_response(request, response)


def check_direct(body: Any) -> None:
    """Fail unless a direct invoke's answer is a prediction or an error of the contract."""
    if isinstance(body, dict) and "error" in body:
        check_schema(f"Error{STATUS_OF_CODE[body['error']['code']]}", body)
    else:
        check_schema("Prediction", body)


# --- events and calls ---------------------------------------------------------------------
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
    body: str | bytes | None = None,
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


def call_http(gateway: Any, event: dict) -> tuple[int, dict, dict]:
    """Send an HTTP event: (status, headers, body), the answer checked against the contract."""
    response = gateway.handle(event)
    body = json.loads(response["body"])
    method = event.get("httpMethod") or event["requestContext"]["http"]["method"]
    check_answer(method, event.get("rawPath") or event["path"], response["statusCode"], body)
    return response["statusCode"], response["headers"], body


def call(gateway: Any, shape: str, payload: Any) -> tuple[int | None, dict]:
    """Send a JSON request object one way in: (HTTP status, body). A direct invoke answers
    the bare body, so its status is None."""
    if shape == "direct":
        body = gateway.handle(copy.deepcopy(payload))
        check_direct(body)
        return None, body
    status, _, body = call_http(gateway, (v2_event if shape == "v2" else v1_event)(body=json.dumps(payload)))
    return status, body


def answer(gateway: Any, shape: str, payload: Any) -> dict:
    """The successful answer to `payload` sent one way in."""
    status, body = call(gateway, shape, payload)
    assert "error" not in body, body
    assert status == (None if shape == "direct" else 200)
    return body


def refusal(gateway: Any, shape: str, payload: Any, status: int, code: str) -> dict:
    """The error body `payload` gets one way in, checked: its code, and the HTTP status where
    the way in has one."""
    got, body = call(gateway, shape, payload)
    assert body.get("error", {}).get("code") == code, body
    assert got == (None if shape == "direct" else status), body
    return body


# --- a loopback server --------------------------------------------------------------------
@contextmanager
def running(server: Any) -> Iterator[str]:
    """Serve `server` (an http.server on 127.0.0.1) on a thread; yields its base URL."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def serving(handler: Callable[[dict, object], dict]) -> Iterator[str]:
    """The local server around a Lambda handler on a free 127.0.0.1 port; yields its base URL."""
    with running(make_server(handler, "127.0.0.1", 0)) as url:
        yield url


# --- photo bytes --------------------------------------------------------------------------
def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    """An image as file bytes in the given format."""
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def decompression_bomb(width: int, height: int, bit_depth: int = 8, color_type: int = 2) -> bytes:
    """A tiny PNG whose header declares width x height pixels (8-bit RGB unless told)."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def metric_values(records: list[dict]) -> dict[str, list]:
    """Each EMF metric's values, with the dimensions of its record."""
    values: dict[str, list] = {}
    for record in records:
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
            dimensions = {name: record[name] for group in directive["Dimensions"] for name in group}
            for metric in directive["Metrics"]:
                values.setdefault(metric["Name"], []).extend((value, dimensions) for value in record[metric["Name"]])
    return values


# --- AWS on 127.0.0.1 (moto's server: the moto_endpoint fixture) ---------------------------
# Fake credentials so boto3 never looks further than the environment.
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


def aws_client(endpoint: str, service: str = "s3") -> Any:
    """A boto3 client for moto's server."""
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")


def outside_make() -> dict[str, str]:
    """The environment without what a running make passes to its children (MAKELEVEL,
    MAKEFLAGS...): `make test` runs pytest, and a make started by a test must behave as one
    started by a person (no "Entering directory" lines, no inherited flags)."""
    return {k: v for k, v in os.environ.items() if k not in {"MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"}}
