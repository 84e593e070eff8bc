"""Bounded load test of the local server, on 127.0.0.1 only.

    python -m bench.load [--requests 2000] [--concurrency 8]

Starts the local server with the shipped model in a child process, warms it up, then sends
real photos as raw bytes from `concurrency` clients until `requests` were answered (or a
time limit passes). Passes (exit 0) with zero errors and the server's resident memory
after the run within 10% of its memory after warm-up. Prints a JSON summary.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


def photos() -> list[bytes]:
    """The bundled photos plus resized and re-encoded variants (JPEG, PNG, WebP)."""
    found = []
    for path in sorted(FIXTURES.glob("*.jpg")):
        image = Image.open(path).convert("RGB")
        for scale, fmt in ((1.0, "JPEG"), (0.6, "PNG"), (1.5, "WEBP"), (0.4, "JPEG")):
            buffer = io.BytesIO()
            image.resize((int(image.width * scale), int(image.height * scale))).save(buffer, fmt)
            found.append(buffer.getvalue())
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(port: int) -> subprocess.Popen:
    """The local server in a child process, quiet (no request records), returned once it
    says it is listening (its first line of output)."""
    quiet = {**os.environ, "POWERTOOLS_LOG_LEVEL": "WARNING", "POWERTOOLS_METRICS_DISABLED": "true"}
    process = subprocess.Popen(
        [sys.executable, "-m", "catbreed_local.server", "--port", str(port)],
        cwd=ROOT,
        env=quiet,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    banner = process.stdout.readline()  # printed after the port is bound; "" if the server died
    if "local server on" not in banner:
        process.kill()
        raise SystemExit(f"the local server did not start (exit {process.wait()}): {banner}")
    return process


def post(port: int, photo: bytes) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", "/predict", body=photo, headers={"Content-Type": "image/jpeg"})
        response = connection.getresponse()
        body = json.loads(response.read())
        return response.status if len(body.get("predictions", [])) == 5 else 599
    except OSError:
        return 598
    finally:
        connection.close()


def run(requests: int, concurrency: int, warmup: int, time_limit: float) -> dict:
    import psutil  # the dev setup's: the benchmark's pure parts (tests/unit) import without it

    port = free_port()
    server = start_server(port)
    process = psutil.Process(server.pid)
    pool = photos()
    try:
        with ThreadPoolExecutor(concurrency) as executor:  # warm up as the run will load it
            list(executor.map(lambda i: post(port, pool[i % len(pool)]), range(warmup)))
        rss_warm = process.memory_info().rss
        started = time.monotonic()
        deadline = started + time_limit
        statuses: list[int] = []

        def client(worker: int) -> list[int]:
            mine = []
            for i in range(worker, requests, concurrency):
                if time.monotonic() > deadline:
                    break
                mine.append(post(port, pool[i % len(pool)]))
            return mine

        with ThreadPoolExecutor(concurrency) as executor:
            for result in executor.map(client, range(concurrency)):
                statuses += result
        elapsed = time.monotonic() - started
        rss_after = process.memory_info().rss
    finally:
        server.terminate()
        server.wait(timeout=10)
    errors = sum(status != 200 for status in statuses)
    growth = (rss_after - rss_warm) / rss_warm
    return {
        "requests": len(statuses),
        "asked": requests,
        "concurrency": concurrency,
        "errors": errors,
        "seconds": round(elapsed, 1),
        "requests_per_second": round(len(statuses) / elapsed, 1),
        "rss_after_warmup_mb": round(rss_warm / 2**20, 1),
        "rss_after_run_mb": round(rss_after / 2**20, 1),
        "rss_growth": round(growth, 4),
        "passed": errors == 0 and len(statuses) == requests and growth <= 0.10,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--time-limit", type=float, default=600, help="stop sending after this many seconds")
    args = parser.parse_args(argv)
    summary = run(args.requests, args.concurrency, args.warmup, args.time_limit)
    print(json.dumps(summary))
    return 0 if summary["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
