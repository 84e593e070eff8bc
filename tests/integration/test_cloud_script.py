"""test_cloud.py against the local server standing in for the deployed API."""

from __future__ import annotations

import os

import pytest

import test_cloud


@pytest.fixture(scope="module")
def api(local_api: str) -> str:
    return local_api


@pytest.fixture(autouse=True)
def no_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local server answers in this process: its metrics records would land in the
    scripts' captured output, where a separate server's never would."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")


def test_cloud_check_passes_against_a_working_api(api: str, photo_server: str, capsys) -> None:
    assert test_cloud.main(["--api", api, "--url", f"{photo_server}/cat.jpg"]) == 0
    out = capsys.readouterr().out
    assert "4 of 4 checks passed" in out
    assert out.count("probability") == 3  # three top-5 tables: URL, JSON upload, raw upload


def test_cloud_check_reads_the_api_from_the_environment(api: str, photo_server: str, monkeypatch) -> None:
    monkeypatch.setenv("CATBREED_API_URL", api)
    assert test_cloud.main(["--url", f"{photo_server}/cat.jpg"]) == 0


def test_cloud_check_fails_on_any_failure(api: str, photo_server: str, capsys) -> None:
    assert test_cloud.main(["--api", api, "--url", f"{photo_server}/missing.jpg"]) == 1
    assert "FAILED" in capsys.readouterr().out
    assert test_cloud.main(["--api", "http://127.0.0.1:9/"]) == 2  # nothing listens on port 9


def test_test_py_prints_the_table_from_the_emulator_route(api: str, capsys) -> None:
    import test as test_script

    endpoint = f"{api}/2015-03-31/functions/function/invocations"
    assert test_script.main(["--endpoint", endpoint]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["breed", "probability"]
    assert len([line for line in out.splitlines() if "%" in line]) == 5
    assert test_script.main(["ftp://x.test/cat.jpg", "--endpoint", endpoint]) == 1
    assert "invalid_url" in capsys.readouterr().out
    assert os.path.exists(test_script.DEFAULT_PHOTO)
