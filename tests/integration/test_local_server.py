"""The local server's own guards and manners: only requests for this machine, the emulator
route only for JSON, no batch unless started with --allow-batch, JSON answers for every
route and method, one readable line per request, and a busy port said in one line."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from catbreed.feedback import FeedbackDesk
from catbreed.feedback_store import FolderStore
from catbreed.gateway import Gateway
from catbreed.limits import MAX_BODY_BYTES
from catbreed.service import Answer, Service
from catbreed_local.client import send
from catbreed_local.server import INVOKE_PATH, host_name, make_server, request_line

from ..helpers import LOOPBACK_ONLY, ROOT, b64, check_answer, running

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


def test_the_emulator_route_takes_post_only(server: str) -> None:
    """As every other route: a 405 that names the method it takes, not a 404."""
    for method in ("GET", "PUT", "DELETE"):
        status, content_type, body = ask(server, method, INVOKE_PATH)
        assert (status, content_type, body["error"]["code"]) == (405, "application/json", "method_not_allowed")
    connection = http.client.HTTPConnection("127.0.0.1", int(server.rsplit(":", 1)[1]), timeout=30)
    try:
        connection.request("GET", INVOKE_PATH)
        assert connection.getresponse().headers["Allow"] == "POST"
    finally:
        connection.close()


def test_the_local_server_routes_by_the_functions_route_table(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    """A route added to catbreed.gateway.ROUTES is the function's on the local server too."""
    from catbreed import gateway as gateway_module

    hello = gateway_module.Route("GET", "/hello/{name}", lambda service, request, part: Answer({"hello": part["name"]}))
    monkeypatch.setattr(gateway_module, "ROUTES", (*gateway_module.ROUTES, hello))
    with running(make_server(gateway.handle, "127.0.0.1", 0)) as url:
        assert ask(url, "GET", "/hello/cat")[::2] == (200, {"hello": "cat"})
        assert ask(url, "POST", "/hello/cat", b"{}", JSON)[0] == 405
        assert "GET /hello/{name}" in ask(url, "POST", "/nope", b"{}", JSON)[2]["error"]["message"]


@pytest.fixture()
def feedback_folder(tmp_path: Path) -> Path:
    return tmp_path / "feedback-local"


@pytest.fixture()
def keeping_server(classifier: Any, feedback_folder: Path) -> Iterator[str]:
    """The local server as `make run` starts it, keeping consented feedback in a folder."""
    service = Service(classifier, LOOPBACK_ONLY, feedback=FeedbackDesk(FolderStore(feedback_folder)))
    with running(make_server(Gateway(service).handle, "127.0.0.1", 0)) as url:
        yield url


def consented_feedback(url: str, cat_jpeg: bytes) -> bytes:
    """A POST /feedback body that keeps the photo (the real answer, "right", consent)."""
    answer = ask(url, "POST", "/predict", json.dumps({"image": b64(cat_jpeg)}).encode(), JSON)[2]
    return json.dumps({"answer": answer, "verdict": "right", "consent": True, "image": b64(cat_jpeg)}).encode()


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None]
)
def test_a_write_that_a_page_elsewhere_could_send_is_refused_and_keeps_nothing(
    keeping_server: str, feedback_folder: Path, cat_jpeg: bytes, content_type: str | None
) -> None:
    """A plain HTML form (or fetch with text/plain, which needs no preflight) on any site could
    post feedback to 127.0.0.1:8080 and have the photo kept; only JSON is taken."""
    body = consented_feedback(keeping_server, cat_jpeg)
    headers = {"Content-Type": content_type} if content_type else {}
    for path in ("/feedback", "/uploads", "/predict"):
        status, _, answer = ask(keeping_server, "POST", path, body, headers)
        assert (status, answer["error"]["code"]) == (400, "invalid_request"), path
        assert "application/json" in answer["error"]["message"]
    assert not feedback_folder.exists() or not any(feedback_folder.iterdir())
    assert ask(keeping_server, "POST", "/feedback", body, JSON)[2]["kept"] is True  # as JSON it is kept


@pytest.mark.parametrize("content_type", ["image/jpeg", "IMAGE/JPEG", "image/png", "application/octet-stream"])
def test_a_raw_photo_is_still_taken_on_predict(server: str, cat_jpeg: bytes, content_type: str) -> None:
    status, _, body = ask(server, "POST", "/predict", cat_jpeg, {"Content-Type": content_type})
    assert status == 200 and len(body["predictions"]) == 5


def test_a_raw_photo_without_a_content_type_is_told_to_send_one(server: str, cat_jpeg: bytes) -> None:
    status, _, body = ask(server, "POST", "/predict", cat_jpeg)
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    assert "image/jpeg" in body["error"]["message"]


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "https://127.0.0.1:{port}", "http://127.0.0.1:1", "http://localhost", "null"]
)
def test_a_request_from_a_page_of_another_origin_is_refused_and_keeps_nothing(
    keeping_server: str, feedback_folder: Path, cat_jpeg: bytes, origin: str
) -> None:
    body = consented_feedback(keeping_server, cat_jpeg)
    origin = origin.format(port=keeping_server.rsplit(":", 1)[1])
    status, _, answer = ask(keeping_server, "POST", "/feedback", body, {**JSON, "Origin": origin})
    assert (status, answer["error"]["code"]) == (400, "invalid_request")
    assert "Origin" in answer["error"]["message"]
    assert not feedback_folder.exists() or not any(feedback_folder.iterdir())


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST"])
def test_the_servers_own_page_is_answered(keeping_server: str, cat_jpeg: bytes, name: str) -> None:
    """A browser sends Origin with every POST, its own page's too."""
    origin = f"http://{name}:{keeping_server.rsplit(':', 1)[1]}"
    body = consented_feedback(keeping_server, cat_jpeg)
    status, _, answer = ask(keeping_server, "POST", "/feedback", body, {**JSON, "Origin": origin})
    assert status == 200 and answer["kept"] is True


def send_chunked(url: str, path: str, body: bytes, content_type: str, chunk: int = 10_000) -> tuple[int, dict]:
    """POST `body` with Transfer-Encoding: chunked, as curl -T - or a streaming client does."""
    connection = http.client.HTTPConnection("127.0.0.1", int(url.rsplit(":", 1)[1]), timeout=60)
    try:
        pieces = (body[i : i + chunk] for i in range(0, len(body), chunk))
        connection.request("POST", path, body=pieces, headers={"Content-Type": content_type}, encode_chunked=True)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_a_photo_sent_in_chunks_is_read_as_one(server: str, cat_jpeg: bytes) -> None:
    status, body = send_chunked(server, "/predict", cat_jpeg, "image/jpeg")
    assert status == 200
    assert body == ask(server, "POST", "/predict", cat_jpeg, {"Content-Type": "image/jpeg"})[2]
    status, body = send_chunked(server, "/predict", json.dumps({"image": b64(cat_jpeg), "top_k": 2}).encode(), "application/json")
    assert status == 200 and len(body["predictions"]) == 2


def test_a_photo_sent_in_chunks_past_the_limit_is_a_413_the_client_reads(server: str) -> None:
    status, body = send_chunked(server, "/predict", b"\xff" * (MAX_BODY_BYTES + 1), "image/jpeg", chunk=1 << 20)
    assert (status, body["error"]["code"]) == (413, "image_too_large")


def test_top_k_in_the_query_of_a_raw_photo(server: str, cat_jpeg: bytes) -> None:
    status, _, body = ask(server, "POST", "/predict?top_k=2", cat_jpeg, {"Content-Type": "image/jpeg"})
    assert status == 200 and len(body["predictions"]) == 2
    status, _, body = ask(server, "POST", "/predict?top_k=abc", cat_jpeg, {"Content-Type": "image/jpeg"})
    assert (status, body["error"]["code"]) == (400, "invalid_request")


@pytest.mark.parametrize("path", ["/predict", INVOKE_PATH])
def test_a_client_still_sending_a_body_past_the_limit_reads_the_413(server: str, path: str) -> None:
    """The server refuses the body unread, then reads and drops it: a client that sends it all
    before it reads (urllib, test.py) gets the 413, not a broken pipe."""
    big = b"\xff" * (20 * 1024 * 1024)
    content_type = "image/jpeg" if path == "/predict" else "application/json"
    status, body = send(f"{server}{path}", big, content_type)
    assert (status, body["error"]["code"]) == (413, "image_too_large")
    assert "/uploads" not in body["error"]["message"]  # this server has none


def test_a_second_make_run_on_a_busy_port_says_busy_first_and_asks_nothing() -> None:
    """An earlier `make run` holds the port (here a stand-in that answers as the local server
    does): the second says the port is busy, first and alone, without setting anything up,
    and sends no photo to whatever holds the port."""
    asked: list[str] = []

    class Earlier(BaseHTTPRequestHandler):
        server_version = "catbreed-local"

        def do_GET(self) -> None:
            self.answer({"breeds": ["Old Server Breed"]})

        def do_POST(self) -> None:
            asked.append(self.path)
            self.answer({"predictions": [{"breed": "Old Server Breed", "probability": 1.0}], "is_cat": True})

        def answer(self, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with running(ThreadingHTTPServer(("127.0.0.1", 0), Earlier)) as url:
        port = url.rsplit(":", 1)[1]
        result = subprocess.run(
            ["scripts/run_local.sh"], cwd=ROOT, env={**os.environ, "PORT": port}, capture_output=True, text=True, timeout=120
        )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"port {port} is busy (an earlier make run?): stop what holds it, or try PORT=9000 make run"
    ]
    assert result.stdout == "" and asked == []
