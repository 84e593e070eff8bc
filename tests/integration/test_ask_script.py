"""test.py, the command that asks a running function about a photo: it finds `make run`'s
server without a flag, takes an endpoint typed without http://, reports what the server
answered (a 413 too) rather than "nothing answers", and says "not a cat" first."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import test as test_script
from catbreed.gateway import Gateway
from catbreed_local.client import INVOKE_PATH

from ..helpers import DOGS, FIXTURES, ROOT, serving


@pytest.fixture(scope="module")
def local(gateway: Gateway) -> Iterator[str]:
    with serving(gateway.handle) as url:
        yield url


def printed(capsys: Any) -> tuple[list[str], str]:
    """What test.py printed: its stdout lines (the in-process function's JSON records left
    out) and its stderr."""
    out, err = capsys.readouterr()
    return [line for line in out.splitlines() if not line.startswith("{")], err


def test_without_a_flag_it_asks_the_emulator_route_of_make_run(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    """The README's quick start (`make run`, then `test.py PHOTO`) needs no --endpoint."""
    port = re.search(r"^PORT \?= (\d+)$", (ROOT / "Makefile").read_text(), flags=re.MULTILINE).group(1)
    asked = []
    unavailable = (503, {"error": {"code": "internal_error", "message": "not really asked"}})
    monkeypatch.setattr(test_script, "send", lambda endpoint, data: (asked.append(endpoint), unavailable)[1])
    test_script.main([str(FIXTURES / "cat_chelsea.jpg")])
    assert asked == [f"http://127.0.0.1:{port}{INVOKE_PATH}"]


def test_an_endpoint_typed_without_http_is_an_http_one(local: str, capsys: Any) -> None:
    endpoint = local.removeprefix("http://") + INVOKE_PATH
    assert test_script.main([str(FIXTURES / "cat_chelsea.jpg"), "--endpoint", endpoint]) == 0
    assert len([line for line in printed(capsys)[0] if "%" in line]) == 5


def test_a_photo_too_big_for_the_emulator_route_is_reported_with_the_servers_413(
    local: str, tmp_path: Path, cat_jpeg: bytes, capsys: Any
) -> None:
    """6 MB is past what the server reads at all: it answers 413 while the client is still
    sending, and the client still gets to read it."""
    big = tmp_path / "big-cat.jpg"
    big.write_bytes(cat_jpeg + b"\0" * (6_000_000 - len(cat_jpeg)))
    assert test_script.main([str(big), "--endpoint", f"{local}{INVOKE_PATH}"]) == 1
    out, err = printed(capsys)
    assert out[0].startswith("error (image_too_large): The photo is larger than the 4 MiB limit")
    assert "nothing answers" not in err


def test_nothing_listening_is_said_as_such(capsys: Any) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]  # bound, not listening: the connection is refused
        assert test_script.main([str(FIXTURES / "cat_chelsea.jpg"), "--endpoint", f"127.0.0.1:{port}{INVOKE_PATH}"]) == 2
    assert "nothing answers at http://127.0.0.1:" in capsys.readouterr().err


@pytest.mark.parametrize("photo", [DOGS[0], "coffee.jpg"])
def test_a_photo_that_is_not_a_cat_says_so_first(local: str, capsys: Any, photo: str) -> None:
    assert test_script.main([str(FIXTURES / photo), "--endpoint", f"{local}{INVOKE_PATH}"]) == 0
    first, *rest = printed(capsys)[0]
    assert first.startswith("not a cat:")
    assert len([line for line in rest if "%" in line]) == 5  # the guesses still follow


def test_a_cat_is_not_called_anything_else(local: str, capsys: Any) -> None:
    assert test_script.main([str(FIXTURES / "cat_chelsea.jpg"), "--endpoint", f"{local}{INVOKE_PATH}"]) == 0
    out = printed(capsys)[0]
    assert out[0].startswith("breed ") and not any("not a cat" in line for line in out)


def test_a_cat_says_where_in_the_photo_the_model_found_it(local: str, capsys: Any) -> None:
    assert test_script.main([str(FIXTURES / "cat_chelsea.jpg"), "--endpoint", f"{local}{INVOKE_PATH}"]) == 0
    out = printed(capsys)[0]
    (where,) = [line for line in out if line.startswith("where:")]
    numbers = [int(n) for n in where.replace("(", " ").replace(")", " ").replace(",", " ").split() if n.isdigit()]
    left, top, right, bottom = numbers
    assert 0 <= left < right <= 451 and 0 <= top < bottom <= 300  # inside the 451 x 300 photo


def test_a_photo_with_no_cat_says_nowhere(local: str, capsys: Any) -> None:
    assert test_script.main([str(FIXTURES / "coffee.jpg"), "--endpoint", f"{local}{INVOKE_PATH}"]) == 0
    assert not any(line.startswith("where:") for line in printed(capsys)[0])
