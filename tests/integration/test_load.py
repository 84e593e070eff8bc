"""The bounded load test (bench/load.py) passes: 2,000 real photos from 8 clients
against the local server on 127.0.0.1, zero errors, no memory growth past 10%."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_load_of_2000_requests_has_no_errors_and_no_leak() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench.load", "--requests", "2000", "--concurrency", "8"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    print(summary)
    assert summary["requests"] == 2000
    assert summary["errors"] == 0
    assert summary["rss_growth"] <= 0.10
    assert run.returncode == 0
