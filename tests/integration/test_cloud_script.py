"""test_cloud.py and test.py against the local server standing in for the deployed API: with
uploads (S3 on moto) and without; every check reported by what it sends, pass or fail, then a
summary; AWS's errors as one line."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import test_cloud
from catbreed.gateway import Gateway
from catbreed.limits import DIRECT_MAX_BYTES
from catbreed.service import Service
from catbreed.uploads import Uploads

from ..helpers import LOOPBACK_ONLY, aws_client, serving

BUCKET = "catbreed-cloud-check"


@pytest.fixture(scope="module")
def api(local_api: str) -> str:
    """An API without uploads (the local server as `make run` starts it)."""
    return local_api


@pytest.fixture(scope="module")
def api_with_uploads(classifier: Any, moto_endpoint: str) -> Iterator[str]:
    """An API whose POST /uploads hands out presigned POSTs to S3 (moto on 127.0.0.1)."""
    aws_client(moto_endpoint).create_bucket(Bucket=BUCKET)
    with serving(Gateway(Service(classifier, LOOPBACK_ONLY, uploads=Uploads(BUCKET, endpoint=moto_endpoint))).handle) as url:
        yield url


@pytest.fixture(autouse=True)
def no_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    """The local server answers in this process: its metrics records would land in the
    scripts' captured output, where a separate server's never would."""
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")


def reports(out: str) -> dict[str, str]:
    """Each check's name and its verdict, from test_cloud.py's output."""
    return dict(re.findall(r"^== (.+?): (HTTP \d+ ok|HTTP \d+ FAILED|FAILED|skipped)", out, re.MULTILINE))


def test_every_way_in_passes_against_an_api_with_uploads(
    api_with_uploads: str, moto_endpoint: str, photo_server: str, capsys: Any
) -> None:
    assert test_cloud.main(["--api", api_with_uploads, "--url", f"{photo_server}/cat.jpg"]) == 0
    out = capsys.readouterr().out
    size = f"{DIRECT_MAX_BYTES + 1:,}"
    assert reports(out) == {
        "GET /breeds": "HTTP 200 ok",
        f'POST /predict {{"url": {photo_server}/cat.jpg}}': "HTTP 200 ok",
        'POST /predict {"image": base64 of cat_chelsea.jpg}': "HTTP 200 ok",
        "POST /predict cat_chelsea.jpg as a raw image/jpeg body": "HTTP 200 ok",
        f'POST /uploads, S3, POST /predict {{"upload"}} with cat_chelsea.jpg padded to {size} B': "HTTP 200 ok",
    }
    assert out.count("probability") == 4  # four top-5 tables: URL, JSON, raw, upload
    assert out.rstrip().endswith("5 of 5 checks passed")
    assert aws_client(moto_endpoint).list_objects_v2(Bucket=BUCKET).get("KeyCount") == 0  # uploaded, answered, deleted


def test_without_uploads_the_upload_check_is_skipped_and_said(api: str, photo_server: str, capsys) -> None:
    assert test_cloud.main(["--api", api, "--url", f"{photo_server}/cat.jpg"]) == 0
    out = capsys.readouterr().out
    verdicts = reports(out)
    assert list(verdicts.values()) == ["HTTP 200 ok"] * 4 + ["skipped"]
    assert "this API has no uploads" in out
    assert out.rstrip().endswith("4 of 4 checks passed (1 skipped)")


def test_a_big_photo_that_cannot_be_sent_is_a_failed_check_with_a_summary(
    api: str, photo_server: str, tmp_path: Path, capsys: Any
) -> None:
    big = tmp_path / "big-cat.jpg"
    big.write_bytes(Path(test_cloud.DEFAULT_PHOTO).read_bytes() + bytes(DIRECT_MAX_BYTES))
    assert test_cloud.main([str(big), "--api", api, "--url", f"{photo_server}/cat.jpg"]) == 1
    out = capsys.readouterr().out
    assert list(reports(out).values()) == ["HTTP 200 ok", "HTTP 200 ok", "FAILED"]  # no direct checks for a big photo
    assert out.rstrip().endswith("2 of 3 checks passed")


def test_a_failing_check_is_reported_and_the_rest_still_run(api: str, photo_server: str, capsys) -> None:
    assert test_cloud.main(["--api", api, "--url", f"{photo_server}/missing.jpg"]) == 1
    out = capsys.readouterr().out
    assert reports(out)[f'POST /predict {{"url": {photo_server}/missing.jpg}}'] == "HTTP 502 FAILED"
    assert out.rstrip().endswith("3 of 4 checks passed (1 skipped)")


def test_an_api_that_does_not_answer_fails_every_check_in_one_line_each(capsys) -> None:
    assert test_cloud.main(["--api", "http://127.0.0.1:9/"]) == 1  # nothing listens on port 9
    out = capsys.readouterr().out
    failed = [line for line in out.splitlines() if line.startswith("== ")]
    assert len(failed) == 5 and all(": FAILED: " in line for line in failed)
    assert "Traceback" not in out and out.rstrip().endswith("0 of 5 checks passed")


def test_the_api_url_comes_from_the_environment(api: str, photo_server: str, monkeypatch) -> None:
    monkeypatch.setenv("CATBREED_API_URL", api)
    assert test_cloud.main(["--url", f"{photo_server}/cat.jpg"]) == 0


def test_a_stack_without_region_or_credentials_is_one_line(tmp_path: Path, monkeypatch, capsys) -> None:
    for name in ("CATBREED_API_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(name, str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert test_cloud.main(["--stack", "catbreed"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("test_cloud.py: no AWS region: pass --region REGION") and err.count("\n") == 1
    assert test_cloud.main(["--stack", "catbreed", "--region", "eu-west-1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("test_cloud.py: no AWS credentials: run `aws configure`") and err.count("\n") == 1


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
    assert test_script.main(["--endpoint", "http://127.0.0.1:9/"]) == 2  # nothing listens on port 9
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("test.py: nothing answers at http://127.0.0.1:9/") and "make run" in line
