"""Schemathesis over docs/openapi.yaml against the local server on 127.0.0.1: every check,
positive and negative cases, uploads backed by moto's S3 on 127.0.0.1. The URL mode never
reaches further: connections beyond loopback are refused at the socket.

Bounded: FUZZ_EXAMPLES cases an operation (about a minute of CI time); CATBREED_FUZZ_SEED
replays a run, FUZZ_EXAMPLES=500 digs deeper."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from catbreed.download import DEFAULT_LIMITS
from catbreed.gateway import Gateway
from catbreed.service import Service
from catbreed.storage import s3_client
from catbreed.uploads import Uploads

from ..helpers import CONTRACT, ROOT, schema, serving

BUCKET = "catbreed-fuzz-uploads"
CONFIG = ROOT / "tests" / "schemathesis.toml"  # which statuses count as an answer, and why
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
SEED = os.environ.get("CATBREED_FUZZ_SEED", "15")


@pytest.fixture()
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Connections beyond loopback are refused (the downloader answers download_failed),
    instead of failing the request with the network guard's AssertionError."""
    real_connect = socket.socket.connect

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not ipaddress.ip_address(address[0].split("%")[0]).is_loopback:
            raise ConnectionRefusedError(f"the fuzz test reaches no further than loopback: {address}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


@pytest.fixture()
def api(classifier: Any, moto_endpoint: str, loopback_only: None) -> Iterator[str]:
    """The local server around a gateway built like the function's: default download limits
    (no private address), uploads into moto's S3."""
    s3_client(moto_endpoint).create_bucket(Bucket=BUCKET)
    with serving(Gateway(Service(classifier, DEFAULT_LIMITS, uploads=Uploads(BUCKET, endpoint=moto_endpoint))).handle) as url:
        yield url


def test_the_local_server_keeps_the_contract_under_fuzzing(api: str, tmp_path: Any) -> None:
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run", str(CONTRACT), "--url", api,
        "--checks", "all", "--mode", "all", "--max-examples", str(EXAMPLES), "--seed", SEED,
        "--workers", "1", "--generation-database", "none", "--no-color", "--report-dir", str(tmp_path),
    ]  # fmt: skip
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=600)  # its cache: this run only
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


KEY = "uploads/0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    "payload",
    [{}, {"top_k": 3}, {"url": "http://a.test/", "image": "AAAA"}, {"url": "http://a.test/", "upload": KEY},
     {"image": "AAAA", "upload": KEY}, {"url": None, "image": "AAAA"}],
)  # fmt: skip
def test_the_contract_says_exactly_one_of_url_image_and_upload(payload: dict) -> None:
    """What the function refuses for its shape is invalid by the schema too (the fuzzer allows
    400 for schema-valid photos and URLs, which no schema can tell good from bad)."""
    assert not schema("PredictRequest").is_valid(payload)
    for field, value in (("url", "http://a.test/"), ("image", "AAAA"), ("upload", KEY)):
        assert schema("PredictRequest").is_valid({field: value, "top_k": 3})
