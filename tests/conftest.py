"""Shared fixtures: the shipped model, real photos, a photo server on 127.0.0.1, moto's S3
and Step Functions on 127.0.0.1, the function's log records and metrics, and a network guard
that fails any test which tries to reach beyond loopback. Shared helpers and constants live
in tests/helpers.py."""

from __future__ import annotations

import contextlib
import io
import ipaddress
import json
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar
from urllib.parse import unquote

import pytest

from catbreed import telemetry
from catbreed.app import create_gateway
from catbreed.gateway import Gateway
from catbreed.model import DEFAULT_MODEL_DIR, Classifier
from catbreed.service import Service

from .helpers import FAKE_AWS, FIXTURES, LOOPBACK_ONLY, running, serving

# Names the tests resolve without DNS, to every address listed; only loopback is ever connected to.
FAKE_DNS: dict[str, tuple[str, ...]] = {
    "photos.test": ("127.0.0.1",),
    "intranet.test": ("10.1.2.3",),
    "rebind.test": ("192.168.0.10",),
    "metadata.test": ("169.254.169.254",),
    "v6-local.test": ("::1",),
    "public.test": ("93.184.215.14",),
    "public-then-private.test": ("93.184.215.14", "10.1.2.3"),
    "six-to-four.test": ("2002:7f00:1::1",),
}


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"


def _addrinfo(address: str, port: int) -> tuple:
    if ":" in address:
        return (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0))
    return (socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))


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
            return [_addrinfo(address, int(port or 0)) for address in FAKE_DNS[name]]
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
    with serving(gateway.handle) as url:
        yield url


@pytest.fixture(scope="session")
def cat_jpeg() -> bytes:
    return (FIXTURES / "cat_chelsea.jpg").read_bytes()


@pytest.fixture(scope="session")
def coffee_jpeg() -> bytes:
    return (FIXTURES / "coffee.jpg").read_bytes()


@pytest.fixture()
def telemetry_records(capsys: pytest.CaptureFixture) -> Iterator[Callable[[], list[dict]]]:
    """The JSON records the function wrote since the last call: its log records (through the
    Powertools formatter) and its metrics (printed)."""
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    handler.setFormatter(telemetry.logger.registered_handler.formatter)
    logging.getLogger(telemetry.SERVICE).addHandler(handler)
    capsys.readouterr()

    def records() -> list[dict]:
        lines = logs.getvalue().splitlines() + capsys.readouterr().out.splitlines()
        logs.seek(0)
        logs.truncate()
        return [json.loads(line) for line in lines if line.startswith("{")]

    yield records
    logging.getLogger(telemetry.SERVICE).removeHandler(handler)


class PhotoServer(BaseHTTPRequestHandler):
    """Routes for download tests; `files` maps a path to (content type, bytes). The slow
    routes wait on `stop`, which the fixture sets when the session ends."""

    files: ClassVar[dict[str, tuple[str, bytes]]] = {}
    stop: ClassVar[threading.Event] = threading.Event()
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def head(self, status: int, **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()

    def send_file(self, content_type: str, data: bytes) -> None:
        self.head(200, Content_Type=content_type, Content_Length=str(len(data)))
        self.wfile.write(data)

    def trickle_headers(self) -> None:
        """A 404's header a few bytes every 50 ms for 4 s, then its end."""
        with contextlib.suppress(OSError):
            self.wfile.write(b"HTTP/1.1 404 Not Found\r\nX-Padding: ")
            for _ in range(80):
                if self.stop.wait(0.05):
                    return
                self.wfile.write(b"abc")
                self.wfile.flush()
            self.wfile.write(b"\r\nContent-Length: 0\r\n\r\n")

    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path == "/redirect":  # ?to=URL, or ?code=303&to=URL
            params = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
            self.head(int(params.get("code", 302)), Location=unquote(params["to"]), Content_Length="0")
        elif path.startswith("/hops/"):  # /hops/N redirects N times, then serves the cat
            left = int(path.removeprefix("/hops/"))
            if left:
                self.head(302, Location=f"/hops/{left - 1}", Content_Length="0")
            else:
                self.send_file(*self.files["/cat.jpg"])
        elif path == "/headers":  # what the downloader sent, as the "photo"
            data = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
            self.send_file("image/jpeg", data)
        elif path == "/loop":
            self.head(301, Location="/loop", Content_Length="0")
        elif path == "/slow":  # one byte a tick, never all 100
            self.head(200, Content_Type="image/jpeg", Content_Length="100")
            with contextlib.suppress(OSError):
                while not self.stop.wait(0.05):
                    self.wfile.write(b"x")
                    self.wfile.flush()
        elif path == "/slow-no-length":  # the cat's first bytes, then one byte a tick; its end would come only at close
            self.head(200, Content_Type="image/jpeg", Connection="close")
            with contextlib.suppress(OSError):
                self.wfile.write(self.files["/cat.jpg"][1][:2048])
                self.wfile.flush()
                while not self.stop.wait(0.05):
                    self.wfile.write(b"x")
                    self.wfile.flush()
            self.close_connection = True
        elif path == "/hang":  # headers never come
            self.stop.wait()
        elif path == "/trickled-headers":
            self.trickle_headers()
        elif path.startswith("/slow-hops/"):  # /slow-hops/N: each hop answers after 0.6 s, N redirects then the cat
            left = int(path.removeprefix("/slow-hops/"))
            if self.stop.wait(0.6):
                return
            if left:
                self.head(302, Location=f"/slow-hops/{left - 1}", Content_Length="0")
            else:
                self.send_file(*self.files["/cat.jpg"])
        elif path == "/huge-no-length":
            self.head(200, Content_Type="image/jpeg", Connection="close")
            with contextlib.suppress(OSError):
                for _ in range(15 * 16):  # 15 MB, no Content-Length
                    self.wfile.write(b"\xff" * 65536)
            self.close_connection = True
        elif path == "/huge-with-length":
            self.head(200, Content_Type="image/jpeg", Content_Length=str(15 * 1024 * 1024))
            self.close_connection = True
        elif path == "/lying-length":  # says 1000 bytes, sends 12 MB chunked (chunked wins in HTTP/1.1)
            self.head(200, Content_Type="image/jpeg", Content_Length="1000", Transfer_Encoding="chunked", Connection="close")
            chunk = b"\xff" * 65536
            with contextlib.suppress(OSError):
                for _ in range(12 * 16):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                self.wfile.write(b"0\r\n\r\n")
            self.close_connection = True
        elif path == "/cat-no-length":  # the photo, its end known only when the connection closes
            self.head(200, Content_Type="image/jpeg", Connection="close")
            self.wfile.write(self.files["/cat.jpg"][1])
            self.close_connection = True
        elif path in self.files:
            self.send_file(*self.files[path])
        else:
            self.head(404, Content_Length="0")


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
    with running(server) as url:
        yield url
        PhotoServer.stop.set()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """Base URL of moto's server (S3, Step Functions, IAM) on a free 127.0.0.1 port, with fake
    credentials in the environment and CATBREED_S3_ENDPOINT pointing at it; the handler's
    gateway is built again in that environment, as Lambda builds it at import."""
    from moto.server import ThreadedMotoServer

    import lambda_function
    from catbreed.storage import s3_client

    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_AWS.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        patch.setenv("CATBREED_S3_ENDPOINT", endpoint)
        patch.setattr(lambda_function, "GATEWAY", create_gateway())
        s3_client.cache_clear()
        try:
            yield endpoint
        finally:
            s3_client.cache_clear()
            server.stop()
