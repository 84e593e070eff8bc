"""bulk.py: a folder of real photos classified like POST /predict would, a damaged file as an
error row, a resumed run that only adds what is missing; and the S3 way's two ends against
moto on 127.0.0.1 (starting the state machine, and reading a Distributed Map's ResultWriter
output made from real batch answers of the handler)."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

import bulk
import lambda_function

from ..aws import client, moto_endpoint  # noqa: F401 - the fixture
from ..conftest import FIXTURES
from ..helpers import b64, call

PHOTOS = ["cat_chelsea.jpg", "coffee.jpg", "rocket.jpg"]


def read_rows(out: Path) -> list[dict]:
    with out.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def expected_row(gateway: Any, path: str, photo: bytes) -> dict:
    """The CSV row POST /predict's answer makes (the HTTP API, payload v2)."""
    status, answer = call(gateway, "v2", {"image": b64(photo), "top_k": 5})
    assert status == 200
    return {k: str(v) for k, v in bulk.row_for(path, answer).items()}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    photos = tmp_path / "photos"
    (photos / "litter").mkdir(parents=True)
    for name in PHOTOS:
        shutil.copy(FIXTURES / name, photos / name)
    shutil.copy(FIXTURES / "cat_chelsea.jpg", photos / "litter" / "chelsea-again.jpg")
    (photos / "damaged.jpg").write_bytes((FIXTURES / "cat_chelsea.jpg").read_bytes()[:1500])
    (photos / "notes.txt").write_text("feed at six\n")
    (photos / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    return photos


def test_a_folder_gets_the_answers_of_predict_and_error_rows(gateway: Any, folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    assert bulk.main([str(folder), "--out", str(out), "--workers", "2"]) == 0
    rows = {row["path"]: row for row in read_rows(out)}
    assert list(read_rows(out)[0]) == bulk.COLUMNS
    assert set(rows) == {str(folder / n) for n in [*PHOTOS, "litter/chelsea-again.jpg", "damaged.jpg", "notes.txt"]}
    for name in [*PHOTOS, "litter/chelsea-again.jpg"]:
        path = str(folder / name)
        assert rows[path] == expected_row(gateway, path, (folder / name).read_bytes())
        assert rows[path]["error"] == ""
    assert rows[str(folder / "cat_chelsea.jpg")]["is_cat"] == "True"
    assert rows[str(folder / "coffee.jpg")]["is_cat"] == "False"
    for name in ("damaged.jpg", "notes.txt"):
        row = rows[str(folder / name)]
        assert row["error"].startswith("unsupported_image: ") and row["breed_1"] == "" and row["is_cat"] == ""


def test_a_second_run_adds_only_the_missing_rows(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.csv"
    assert bulk.run_local(folder, out, workers=2) == 6
    first = read_rows(out)
    with out.open("w", newline="", encoding="utf-8") as handle:  # as if the run had died before its last row
        writer = csv.DictWriter(handle, fieldnames=bulk.COLUMNS)
        writer.writeheader()
        writer.writerows(first[:-1])
    shutil.copy(FIXTURES / "rocket.jpg", folder / "litter" / "rocket-2.jpg")
    assert bulk.run_local(folder, out, workers=2) == 2
    again = read_rows(out)
    assert again[:-2] == first[:-1]
    assert {r["path"] for r in again[-2:]} == {first[-1]["path"], str(folder / "litter" / "rocket-2.jpg")}
    assert len({r["path"] for r in again}) == len(again) == 7
    assert bulk.run_local(folder, out, workers=2) == 0


def test_an_output_that_is_not_ours_is_left_alone(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "other.csv"
    out.write_text("name,score\nx,1\n")
    with pytest.raises(SystemExit):
        bulk.main([str(folder), "--out", str(out)])
    assert out.read_text() == "name,score\nx,1\n"


# --- the S3 way ------------------------------------------------------------------------------
BUCKET, RESULTS = "shelter-archive", "catbreed-stack-uploads"


@pytest.fixture(scope="module")
def s3(moto_endpoint: str) -> Any:  # noqa: F811
    s3 = client(moto_endpoint)
    for bucket in (BUCKET, RESULTS):
        s3.create_bucket(Bucket=bucket)
    for name in PHOTOS:
        s3.put_object(Bucket=BUCKET, Key=f"photos/{name}", Body=(FIXTURES / name).read_bytes())
    s3.put_object(Bucket=BUCKET, Key="photos/damaged.jpg", Body=(FIXTURES / "cat_chelsea.jpg").read_bytes()[:1500])
    return s3


def batch(keys: list[str]) -> dict:
    return {"BatchInput": {"bucket": BUCKET, "top_k": 5}, "Items": [{"Key": k, "Size": 1} for k in keys]}


def test_results_written_by_the_map_become_the_same_rows(s3: Any, tmp_path: Path) -> None:
    good = batch([f"photos/{n}" for n in PHOTOS] + ["photos/damaged.jpg"])
    answer = lambda_function.lambda_handler(good, None)  # what the Map's task returns (OutputPath $.Payload)
    failed = batch(["photos/later-1.jpg", "photos/later-2.jpg"])
    prefix = "results/0f3c2a1e-8b7d-4c6e-9a5f-1d2e3c4b5a69/"
    s3.put_object(Bucket=RESULTS, Key=prefix + "SUCCEEDED_0.json", Body=json.dumps(
        [{"Status": "SUCCEEDED", "Input": json.dumps(good), "Output": json.dumps(answer)}]))
    s3.put_object(Bucket=RESULTS, Key=prefix + "FAILED_0.json", Body=json.dumps(
        [{"Status": "FAILED", "Input": json.dumps(failed), "Error": "States.Timeout", "Cause": "the batch ran out of time"}]))
    manifest = {"DestinationBucket": RESULTS, "ResultFiles": {
        "SUCCEEDED": [{"Key": prefix + "SUCCEEDED_0.json", "Size": 1}],
        "FAILED": [{"Key": prefix + "FAILED_0.json", "Size": 1}], "PENDING": []}}
    s3.put_object(Bucket=RESULTS, Key=prefix + "manifest.json", Body=json.dumps(manifest))

    execution = {"status": "FAILED"}  # no output: the manifest is found under the result prefix
    location = bulk.manifest_location(s3, execution, RESULTS, "results/")
    assert location == (RESULTS, prefix + "manifest.json")
    out = tmp_path / "s3.csv"
    assert bulk.write_new(out, bulk.result_rows(s3, *location)) == 6
    rows = {row["path"]: row for row in read_rows(out)}
    for name in PHOTOS:
        direct = lambda_function.lambda_handler({"image": b64((FIXTURES / name).read_bytes())}, None)
        path = f"s3://{BUCKET}/photos/{name}"
        assert rows[path] == {k: str(v) for k, v in bulk.row_for(path, direct).items()}
    assert rows[f"s3://{BUCKET}/photos/damaged.jpg"]["error"].startswith("unsupported_image: ")
    assert rows[f"s3://{BUCKET}/photos/later-1.jpg"]["error"] == "States.Timeout: the batch ran out of time"
    assert bulk.write_new(out, bulk.result_rows(s3, *location)) == 0  # fetched twice, written once


def test_the_s3_way_starts_the_stacks_machine_on_the_prefix(moto_endpoint: str) -> None:  # noqa: F811
    sfn, iam = client(moto_endpoint, "stepfunctions"), client(moto_endpoint, "iam")
    role = iam.create_role(RoleName="bulk", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    machine = sfn.create_state_machine(
        name="catbreed-bulk", roleArn=role, definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    )["stateMachineArn"]
    outputs = {"BulkStateMachineArn": machine, "BulkInputBucket": BUCKET, "BulkInputPrefix": "photos/"}
    execution = bulk.start(sfn, outputs, BUCKET, "photos/2026/")
    assert json.loads(sfn.describe_execution(executionArn=execution)["input"]) == {"prefix": "photos/2026/"}
    for bucket, prefix in ((BUCKET, "private/"), ("someone-else", "photos/")):
        with pytest.raises(SystemExit):
            bulk.start(sfn, outputs, bucket, prefix)
    with pytest.raises(SystemExit):
        bulk.start(sfn, {}, BUCKET, "photos/")
    assert bulk.parse_s3("s3://shelter-archive/photos/2026/") == ("shelter-archive", "photos/2026/")


def test_the_s3_way_end_to_end_on_moto(moto_endpoint: str, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """run_s3: start, watch, find the manifest, write the CSV. moto never runs a Distributed Map,
    so the run is stopped as soon as it starts and its results are the ones put here by hand."""
    sfn = client(moto_endpoint, "stepfunctions")
    role = client(moto_endpoint, "iam").create_role(RoleName="bulk-e2e", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    machine = sfn.create_state_machine(name="catbreed-bulk-e2e", roleArn=role, definition=definition)["stateMachineArn"]
    outputs = {"BulkStateMachineArn": machine, "BulkInputBucket": BUCKET, "BulkInputPrefix": "photos/",
               "UploadBucketName": RESULTS, "BulkResultPrefix": "e2e/"}
    prefix = "e2e/7d1e6b0a-3c2f-4e5d-8a9b-0c1d2e3f4a5b/"
    answer = lambda_function.lambda_handler(batch(["photos/coffee.jpg"]), None)
    real_start = bulk.start

    def start_then_stop(sfn: Any, outputs: dict, bucket: str, prefix_: str) -> str:
        arn = real_start(sfn, outputs, bucket, prefix_)
        s3.put_object(Bucket=RESULTS, Key=prefix + "SUCCEEDED_0.json", Body=json.dumps(
            [{"Status": "SUCCEEDED", "Input": json.dumps(batch(["photos/coffee.jpg"])), "Output": json.dumps(answer)}]))
        s3.put_object(Bucket=RESULTS, Key=prefix + "manifest.json", Body=json.dumps(
            {"ResultFiles": {"SUCCEEDED": [{"Key": prefix + "SUCCEEDED_0.json", "Size": 1}]}}))
        sfn.stop_execution(executionArn=arn)
        return arn

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setattr(bulk, "stack_outputs", lambda session, stack: outputs)
    monkeypatch.setattr(bulk, "start", start_then_stop)
    out = tmp_path / "s3.csv"
    # the run was stopped: its results are fetched, and the exit status says it did not finish
    assert bulk.main([f"s3://{BUCKET}/photos/", "--stack", "catbreed", "--out", str(out), "--region", "us-east-1"]) == 1
    (row,) = read_rows(out)
    assert row["path"] == f"s3://{BUCKET}/photos/coffee.jpg" and row["is_cat"] == "False" and row["breed_5"]


class Listing:
    """An S3 client stub whose listing holds manifests of two runs."""

    def __init__(self, objects: list[dict]) -> None:
        self.objects = objects

    def list_objects_v2(self, **_: Any) -> dict:
        return {"Contents": self.objects}


def test_a_failed_run_never_takes_an_earlier_runs_results() -> None:
    from datetime import datetime

    def at(second: int) -> datetime:
        return datetime(2026, 11, 23, 20, 0, second, tzinfo=UTC)

    earlier = {"Key": "results/run-1/manifest.json", "LastModified": at(5)}
    this = {"Key": "results/run-2/manifest.json", "LastModified": at(30)}
    execution = {"status": "FAILED", "startDate": at(30).replace(microsecond=400_000)}
    assert bulk.manifest_location(Listing([earlier, this]), execution, RESULTS, "results/") == (RESULTS, this["Key"])
    with pytest.raises(SystemExit, match="no results of this run"):
        bulk.manifest_location(Listing([earlier]), execution, RESULTS, "results/")
