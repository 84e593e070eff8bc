"""The local server's own guards and manners: only requests for this machine, the emulator
route only for JSON, no batch unless started with --allow-batch, JSON answers for every
route and method, one readable line per request, and a busy port said in one line."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from catbreed.gateway import Gateway
from catbreed_local.server import INVOKE_PATH, host_name, make_server, request_line

from ..helpers import ROOT, check_answer, running

BATCH = {"BatchInput": {"bucket": "photos"}, "Items": [{"Key": "cats/a.jpg", "Size": 1}]}
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return []


@pytest.fixture(scope="module")
def server(gateway: Gateway, lines: list[str]) -> Iterator[str]:
    """The local server as `make run` starts it: without --allow-batch, a line per request."""
    with running(make_server(gateway.handle, "127.0.0.1", 0, log=lines.append)) as url:
        yield url


def ask(url: str, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, str, dict]:
    """(status, content type, JSON body) of one request sent as written (Host included)."""
    connection = http.client.HTTPConnection("127.0.0.1", int(url.rsplit(":", 1)[1]), timeout=30)
    try:
        connection.putrequest(method, path, skip_host=True)
        for name, value in {"Host": url.removeprefix("http://"), "Content-Length": str(len(body)), **(headers or {})}.items():
            connection.putheader(name, value)
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.headers.get("Content-Type", ""), json.loads(response.read() or b"null")
    finally:
        connection.close()


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8080", "127.0.0.1.nip.io", "192.168.1.20:8080", ""])
def test_requests_for_other_hosts_are_refused(server: str, host: str) -> None:
    """DNS rebinding: a page on evil.example points its name at 127.0.0.1; its requests still say evil.example."""
    status, _, body = ask(server, "GET", "/breeds", headers={"Host": host})
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    assert "Host" in body["error"]["message"]


@pytest.mark.parametrize("host", ["localhost", "localhost:8080", "127.0.0.1:8080", "[::1]:8080", "LOCALHOST"])
def test_requests_for_this_machine_are_answered(server: str, host: str) -> None:
    status, _, body = ask(server, "GET", "/breeds", headers={"Host": host})
    assert status == 200 and body["breeds"]


def test_the_host_names_are_read_without_their_port() -> None:
    assert [host_name(h) for h in ("localhost:80", "[::1]:8080", "[::1]", "127.0.0.1", "a:b:c")] == [
        "localhost", "[::1]", "[::1]", "127.0.0.1", "a:b:c"
    ]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_the_emulator_route_takes_json_only(server: str, cat_jpeg: bytes, content_type: str | None) -> None:
    """A page may post text/plain or a form anywhere without asking first; it may not post JSON."""
    headers = {"Content-Type": content_type} if content_type else {}
    status, _, body = ask(server, "POST", INVOKE_PATH, json.dumps({"url": "http://photos.test/cat.jpg"}).encode(), headers)
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    assert "application/json" in body["error"]["message"]


def test_batch_events_are_refused_unless_allowed(server: str, gateway: Gateway) -> None:
    status, _, body = ask(server, "POST", INVOKE_PATH, json.dumps(BATCH).encode(), JSON)
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    assert "--allow-batch" in body["error"]["message"]
    with running(make_server(gateway.handle, "127.0.0.1", 0, allow_batch=True)) as allowed:
        status, _, body = ask(allowed, "POST", INVOKE_PATH, json.dumps({**BATCH, "Items": []}).encode(), JSON)
    assert (status, body) == (200, {"results": []})


@pytest.mark.parametrize("method", ["TRACE", "PATCH", "PUT", "DELETE", "HEAD", "OPTIONS", "BREW"])
@pytest.mark.parametrize(
    ("path", "allow"),
    [("/predict", "POST"), ("/breeds", "GET"), ("/uploads", "POST"), ("/feedback", "POST"), ("/feedback/abc", "DELETE")],
)
def test_undeclared_methods_get_the_functions_json_405(server: str, method: str, path: str, allow: str) -> None:
    method = "GET" if method == allow else method  # DELETE is the feedback item's own method
    connection = http.client.HTTPConnection("127.0.0.1", int(server.rsplit(":", 1)[1]), timeout=30)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        status, headers, data = response.status, response.headers, response.read()
    finally:
        connection.close()
    assert (status, headers["Content-Type"], headers["Allow"]) == (405, "application/json", allow)
    body = json.loads(data or b"null")
    if method != "HEAD":  # HEAD answers carry no body
        check_answer(method, path, status, body)
        assert body["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_paths_are_a_json_404_whatever_the_method(server: str, method: str) -> None:
    status, content_type, body = ask(server, method, "/nope")
    assert (status, content_type, body["error"]["code"]) == (404, "application/json", "not_found")


def test_each_request_prints_one_readable_line(server: str, cat_jpeg: bytes, lines: list[str]) -> None:
    lines.clear()
    ask(server, "POST", "/predict", cat_jpeg, {"Content-Type": "image/jpeg"})
    ask(server, "POST", "/predict", b"{", {"Content-Type": "application/json"})
    assert len(lines) == 2
    method, path, status, *breed, ms, unit = lines[0].split(" ")
    assert (method, path, status, unit) == ("POST", "/predict", "200", "ms") and float(ms) >= 0
    answer = ask(server, "POST", "/predict", cat_jpeg, {"Content-Type": "image/jpeg"})[2]
    assert " ".join(breed) == answer["predictions"][0]["breed"]
    assert lines[1].startswith("POST /predict 400 invalid_request ")


def test_the_line_names_the_error_code_or_the_top_breed() -> None:
    assert request_line("GET", "/breeds", 200, b'{"breeds": []}', 1.4) == "GET /breeds 200 1 ms"
    prediction = b'{"predictions": [{"breed": "Maine Coon"}]}'
    assert request_line("POST", "/predict", 200, prediction, 12.6) == "POST /predict 200 Maine Coon 13 ms"
    assert request_line("GET", "/app.js", 200, b"\xff\xd8 not json", 0.2) == "GET /app.js 200 0 ms"


def test_a_busy_port_is_said_in_one_line_at_once() -> None:
    """No traceback, no wait: the server binds before it loads the model."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [sys.executable, "-m", "catbreed_local.server", "--port", str(port)]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == f"port {port} is busy; try PORT=9000 make run"
    assert result.stdout == ""


def test_the_started_server_shows_one_line_a_request_and_nothing_else() -> None:
    """`make run`'s terminal: the banner, then a line per request; no JSON records, no
    metrics blobs, no LiteRT notice (those are Lambda's, or --json-logs')."""
    command = [sys.executable, "-m", "catbreed_local.server", "--port", "0"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        banner = process.stdout.readline()
        url = banner.split()[4].rstrip("/")
        assert url.startswith("http://127.0.0.1:")
        assert ask(url, "POST", "/predict", b"{", JSON)[0] == 400
        assert ask(url, "GET", "/breeds")[0] == 200
    finally:
        process.terminate()
        out, err = process.communicate(timeout=30)
    assert out == ""
    assert err.splitlines() == [
        line for line in err.splitlines() if line.startswith(("POST /predict 400 invalid_request ", "GET /breeds 200 "))
    ]
    assert len(err.splitlines()) == 2
