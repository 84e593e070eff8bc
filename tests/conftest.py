"""Shared fixtures: the shipped model, real photos, a photo server on 127.0.0.1, and a
network guard that fails any test which tries to reach beyond loopback."""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote

import pytest

from catbreed.app import create_gateway
from catbreed.download import DownloadLimits
from catbreed.gateway import Gateway
from catbreed.model import DEFAULT_MODEL_DIR, Classifier
from catbreed.service import Service

FIXTURES = Path(__file__).parent / "fixtures"
SHARED_CATS = Path(__file__).resolve().parents[2] / "shared" / "data" / "cats"
LOOPBACK_ONLY = DownloadLimits(allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),), connect_timeout=1.0, total_timeout=2.0)
# Names the tests resolve without DNS; nothing here is ever connected to.
FAKE_DNS = {
    "photos.test": "127.0.0.1",
    "intranet.test": "10.1.2.3",
    "rebind.test": "192.168.0.10",
    "metadata.test": "169.254.169.254",
    "v6-local.test": "::1",
    "public.test": "93.184.215.14",
}


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> Iterator[list]:
    """Only loopback connections; fake names resolve from FAKE_DNS, others fail to resolve."""
    attempts: list = []
    real_connect, real_connect_ex, real_getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def check(sock: socket.socket, address: object) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_loopback(str(address[0])):
            attempts.append(address)
            raise AssertionError(f"a test tried to connect beyond loopback: {address}")

    def connect(sock: socket.socket, address: object) -> None:
        check(sock, address)
        return real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: object) -> int:
        check(sock, address)
        return real_connect_ex(sock, address)

    def getaddrinfo(host: object, port: object, *args: object, **kwargs: object) -> list:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in FAKE_DNS:
            address = FAKE_DNS[name]
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, int(port or 0), 0, 0) if family == socket.AF_INET6 else (address, int(port or 0))
            return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]
        try:  # numeric addresses (any notation the C resolver takes) need no DNS
            return real_getaddrinfo(host, port, *args, **{**kwargs, "flags": socket.AI_NUMERICHOST})
        except socket.gaierror:
            if name != "localhost":
                raise socket.gaierror(socket.EAI_NONAME, f"{name}: not resolved in tests") from None
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield attempts
    assert not attempts, f"connections beyond loopback were attempted: {attempts}"


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return Classifier(DEFAULT_MODEL_DIR)


@pytest.fixture(scope="session")
def gateway(classifier: Classifier) -> Gateway:
    """The handler's gateway over the shipped model, allowed to fetch from 127.0.0.1 only."""
    return Gateway(Service(classifier, LOOPBACK_ONLY))


@pytest.fixture(scope="session")
def default_gateway() -> Gateway:
    """Built exactly as lambda_function.py builds it: no private address allowed."""
    return create_gateway()


@pytest.fixture(scope="session")
def local_api(gateway: Gateway) -> Iterator[str]:
    """The local server (page + API) around the test gateway, allowed to fetch from 127.0.0.1."""
    from .helpers import serving

    with serving(gateway.handle) as url:
        yield url


@pytest.fixture(scope="session")
def cat_jpeg() -> bytes:
    return (FIXTURES / "cat_chelsea.jpg").read_bytes()


@pytest.fixture(scope="session")
def coffee_jpeg() -> bytes:
    return (FIXTURES / "coffee.jpg").read_bytes()


class PhotoServer(BaseHTTPRequestHandler):
    """Routes for download tests; `files` maps a path to (content type, bytes)."""

    files: ClassVar[dict[str, tuple[str, bytes]]] = {}
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == "/redirect":
            self.send_response(302)
            self.send_header("Location", unquote(query.removeprefix("to=")))
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/loop":
            self.send_response(301)
            self.send_header("Location", "/loop")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/slow":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(1)
        elif path == "/hang":
            time.sleep(30)
        elif path == "/huge-no-length":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Connection", "close")
            self.end_headers()
            chunk = b"\xff" * 65536
            try:
                for _ in range(15 * 16):  # 15 MB, no Content-Length
                    self.wfile.write(chunk)
            except OSError:
                pass
            self.close_connection = True
        elif path == "/huge-with-length":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(15 * 1024 * 1024))
            self.end_headers()
            self.close_connection = True
        elif path == "/lying-length":
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", "1000")
            self.send_header("Connection", "close")
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(b"\xff" * (12 * 1024 * 1024))
            self.close_connection = True
        elif path in self.files:
            content_type, data = self.files[path]
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()


@pytest.fixture(scope="session")
def photo_server(cat_jpeg: bytes, coffee_jpeg: bytes) -> Iterator[str]:
    """Base URL of a photo server on 127.0.0.1."""
    PhotoServer.files = {
        "/cat.jpg": ("image/jpeg", cat_jpeg),
        "/coffee.jpg": ("image/jpeg", coffee_jpeg),
        "/page.html": ("image/jpeg", b"<!doctype html><html><body>not a photo</body></html>"),
        "/empty.jpg": ("image/jpeg", b""),
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), PhotoServer)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
