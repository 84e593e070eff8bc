"""lambda_function.py under the real `awslambdaric` client, as in the container image,
against a Lambda Runtime API served on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import os
import queue
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ..helpers import running, v2_event

ROOT = Path(__file__).resolve().parents[2]


class RuntimeApi(BaseHTTPRequestHandler):
    """The three Runtime API routes a Python runtime uses."""

    protocol_version = "HTTP/1.1"
    events: queue.Queue
    results: dict[str, tuple[str, object]]
    done: threading.Event

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if not self.path.endswith("/runtime/invocation/next"):
            self.send_error(404)
            return
        request_id, event = self.events.get()  # blocks once every event was handed out
        data = json.dumps(event).encode()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 60_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:catbreed")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = self.path.strip("/").split("/")  # 2018-06-01/runtime/invocation/<id>/<kind> or .../init/error
        kind = parts[-1]
        request_id = parts[-2] if "invocation" in parts else "init"
        self.results[request_id] = (kind, json.loads(body or b"null"))
        self.send_response(202)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")
        if len(self.results) >= self.expected:
            self.done.set()


def test_handler_runs_under_the_runtime_interface_client(cat_jpeg: bytes) -> None:
    events = {
        "ok-direct": {"image": base64.b64encode(cat_jpeg).decode()},
        "ok-http": v2_event(body=json.dumps({"image": base64.b64encode(cat_jpeg).decode(), "top_k": 3})),
        "bad-direct": {"url": "gopher://x.test/cat.jpg"},
        "bad-http": v2_event(body="{not json"),
    }
    RuntimeApi.events = queue.Queue()
    for item in events.items():
        RuntimeApi.events.put(item)
    RuntimeApi.results, RuntimeApi.done, RuntimeApi.expected = {}, threading.Event(), len(events)
    server = ThreadingHTTPServer(("127.0.0.1", 0), RuntimeApi)
    server.daemon_threads = True
    with running(server) as url:
        env = {
            **os.environ,
            "AWS_LAMBDA_RUNTIME_API": url.removeprefix("http://"),
            "LAMBDA_TASK_ROOT": str(ROOT),
            "PYTHONPATH": str(ROOT),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", "lambda_function.lambda_handler"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            finished = RuntimeApi.done.wait(timeout=120)
        finally:
            process.kill()
            output = process.communicate()[0].decode(errors="replace")
            RuntimeApi.events.put(("", {}))  # releases a poll still waiting, so the server can stop
    assert finished, f"the runtime client did not answer every event:\n{output[-3000:]}"
    results = RuntimeApi.results
    assert "init" not in results, output[-3000:]

    kind, body = results["ok-direct"]
    assert kind == "response" and len(body["predictions"]) == 5 and body["is_cat"] is True
    kind, response = results["ok-http"]
    assert kind == "response" and response["statusCode"] == 200
    assert len(json.loads(response["body"])["predictions"]) == 3
    kind, body = results["bad-direct"]
    assert kind == "response" and body["error"]["code"] == "invalid_url"
    kind, response = results["bad-http"]
    assert kind == "response" and response["statusCode"] == 400
    assert json.loads(response["body"])["error"]["code"] == "invalid_request"
    records = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    requests = [r for r in records if r.get("message") == "request"]
    assert [r["request_id"] for r in requests] == list(events)  # one record each, in order, under Lambda's id
    assert [r["cold_start"] for r in requests] == [True, False, False, False]
    assert {r["level"] for r in requests} == {"INFO"} and all(r["timestamp"] for r in requests)
    assert any(r.get("_aws", {}).get("CloudWatchMetrics") for r in records)  # metrics in EMF
