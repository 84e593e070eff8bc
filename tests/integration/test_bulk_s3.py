"""bulk.py on an S3 prefix: starting the stack's state machine (moto on 127.0.0.1), watching
its Map Run (a Step Functions stub that lists one, since moto lists none), and turning a
Distributed Map's ResultWriter output, made from real batch answers of the handler, into the
same rows as /predict; photos of failed or unfinished batches get an error row and a later
run retries them; AWS's errors are one line."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import bulk
import lambda_function
from catbreed_local import bulk_s3
from catbreed_local.bulk_rows import BulkError, row_for, write_new

from ..helpers import FIXTURES, aws_client, b64

PHOTOS = ["cat_chelsea.jpg", "coffee.jpg", "rocket.jpg"]
BUCKET, RESULTS = "shelter-archive", "catbreed-stack-uploads"
NO_REGION = "no AWS region: pass --region REGION (or set AWS_DEFAULT_REGION, or run `aws configure`)"
NO_CREDENTIALS = "no AWS credentials: run `aws configure` (or `aws sso login`), or set AWS_PROFILE"


def read_rows(out: Path) -> list[dict]:
    with out.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def s3(moto_endpoint: str) -> Any:
    s3 = aws_client(moto_endpoint)
    for bucket in (BUCKET, RESULTS):
        s3.create_bucket(Bucket=bucket)
    for name in PHOTOS:
        s3.put_object(Bucket=BUCKET, Key=f"photos/{name}", Body=(FIXTURES / name).read_bytes())
    s3.put_object(Bucket=BUCKET, Key="photos/damaged.jpg", Body=(FIXTURES / "cat_chelsea.jpg").read_bytes()[:1500])
    return s3


def batch(keys: list[str]) -> dict:
    return {"BatchInput": {"bucket": BUCKET, "top_k": 5}, "Items": [{"Key": k, "Size": 1} for k in keys]}


def store_results(s3: Any, prefix: str, children: dict[str, list[dict]]) -> str:
    """ResultWriter's output: one result file per status, and the manifest listing them."""
    files: dict[str, list] = {}
    for status, entries in children.items():
        key = f"{prefix}{status}_0.json"
        s3.put_object(Bucket=RESULTS, Key=key, Body=json.dumps(entries))
        files[status] = [{"Key": key, "Size": 1}]
    manifest = {"DestinationBucket": RESULTS, "ResultFiles": files}
    s3.put_object(Bucket=RESULTS, Key=prefix + "manifest.json", Body=json.dumps(manifest))
    return prefix + "manifest.json"


def test_results_written_by_the_map_become_the_same_rows(s3: Any, tmp_path: Path) -> None:
    good = batch([f"photos/{n}" for n in PHOTOS] + ["photos/damaged.jpg", "photos/gone.jpg"])
    answer = lambda_function.lambda_handler(good, None)  # what the Map's task returns (OutputPath $.Payload)
    failed = batch(["photos/later-1.jpg", "photos/later-2.jpg"])
    prefix = "results/0f3c2a1e-8b7d-4c6e-9a5f-1d2e3c4b5a69/"
    store_results(s3, prefix, {
        "SUCCEEDED": [{"Status": "SUCCEEDED", "Input": json.dumps(good), "Output": json.dumps(answer)}],
        "FAILED": [{"Status": "FAILED", "Input": json.dumps(failed),
                    "Error": "States.Timeout", "Cause": "the batch ran out of time"}],
    })  # fmt: skip

    execution = {"status": "FAILED"}  # no output: the manifest is found under the result prefix
    location = bulk_s3.manifest_location(s3, execution, RESULTS, "results/")
    assert location == (RESULTS, prefix + "manifest.json")
    out = tmp_path / "s3.csv"
    assert write_new(out, bulk_s3.result_rows(s3, *location)).rows == 7
    rows = {row["path"]: row for row in read_rows(out)}
    for name in PHOTOS:
        direct = lambda_function.lambda_handler({"image": b64((FIXTURES / name).read_bytes())}, None)
        path = f"s3://{BUCKET}/photos/{name}"
        assert rows[path] == {k: str(v) for k, v in row_for(path, direct).items()}
    assert rows[f"s3://{BUCKET}/photos/damaged.jpg"]["error"].startswith("unsupported_image: ")
    assert rows[f"s3://{BUCKET}/photos/gone.jpg"]["error"].startswith("photo_not_found: There is no photo s3://")
    later = rows[f"s3://{BUCKET}/photos/later-1.jpg"]["error"]
    assert later.startswith("batch_failed: States.Timeout: the batch ran out of time")
    # fetched twice: the answered photos are written once; the failed batch's two are tried again
    assert write_new(out, bulk_s3.result_rows(s3, *location)).rows == 2
    assert sorted(row["path"] for row in read_rows(out)) == sorted(rows)


def test_photos_of_unfinished_batches_get_rows_and_a_later_run_classifies_them(s3: Any, tmp_path: Path) -> None:
    """ResultWriter lists the batches still running when the run ended as PENDING."""
    done, unfinished = batch(["photos/coffee.jpg"]), batch(["photos/cat_chelsea.jpg", "photos/rocket.jpg"])
    first = store_results(s3, "pending/run-1/", {
        "SUCCEEDED": [{"Status": "SUCCEEDED", "Input": json.dumps(done),
                       "Output": json.dumps(lambda_function.lambda_handler(done, None))}],
        "PENDING": [{"Status": "PENDING", "Input": json.dumps(unfinished)}],
    })  # fmt: skip
    out = tmp_path / "s3.csv"
    assert write_new(out, bulk_s3.result_rows(s3, RESULTS, first)).rows == 3
    rows = {row["path"]: row for row in read_rows(out)}
    for name in ("cat_chelsea.jpg", "rocket.jpg"):
        assert rows[f"s3://{BUCKET}/photos/{name}"]["error"].startswith("batch_unfinished: "), rows

    again = store_results(s3, "pending/run-2/", {
        "SUCCEEDED": [{"Status": "SUCCEEDED", "Input": json.dumps(unfinished),
                       "Output": json.dumps(lambda_function.lambda_handler(unfinished, None))}],
    })  # fmt: skip
    assert write_new(out, bulk_s3.result_rows(s3, RESULTS, again)).rows == 2  # the unfinished ones, now answered
    rows = read_rows(out)
    assert sorted(row["path"] for row in rows) == sorted(f"s3://{BUCKET}/photos/{n}" for n in PHOTOS)  # one row each
    assert all(row["error"] == "" and row["breed_1"] for row in rows)


def test_the_s3_way_starts_the_stacks_machine_on_the_prefix_only(moto_endpoint: str) -> None:
    sfn, iam = aws_client(moto_endpoint, "stepfunctions"), aws_client(moto_endpoint, "iam")
    role = iam.create_role(RoleName="bulk", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    machine = sfn.create_state_machine(
        name="catbreed-bulk", roleArn=role, definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    )["stateMachineArn"]
    outputs = {"BulkStateMachineArn": machine, "BulkInputBucket": BUCKET, "BulkInputPrefix": "photos/"}
    execution = bulk_s3.start(sfn, outputs, BUCKET, "photos/2026/")
    assert json.loads(sfn.describe_execution(executionArn=execution)["input"]) == {"prefix": "photos/2026/"}
    for bucket, prefix in ((BUCKET, "private/"), ("someone-else", "photos/")):
        with pytest.raises(BulkError, match=r"deploy\.sh --bulk"):
            bulk_s3.start(sfn, outputs, bucket, prefix)
    with pytest.raises(BulkError, match="no bulk state machine"):
        bulk_s3.start(sfn, {}, BUCKET, "photos/")
    assert bulk_s3.parse_s3("s3://shelter-archive/photos/2026/") == ("shelter-archive", "photos/2026/")


def test_the_s3_way_end_to_end_on_moto(moto_endpoint: str, s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """run_s3: start, watch, find the manifest, write the CSV. moto never runs a Distributed Map,
    so the run is stopped as soon as it starts and its results are the ones put here by hand."""
    sfn = aws_client(moto_endpoint, "stepfunctions")
    role = aws_client(moto_endpoint, "iam").create_role(RoleName="bulk-e2e", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    definition = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
    machine = sfn.create_state_machine(name="catbreed-bulk-e2e", roleArn=role, definition=definition)["stateMachineArn"]
    outputs = {"BulkStateMachineArn": machine, "BulkInputBucket": BUCKET, "BulkInputPrefix": "photos/",
               "UploadBucketName": RESULTS, "BulkResultPrefix": "e2e/"}  # fmt: skip
    answer = lambda_function.lambda_handler(batch(["photos/coffee.jpg"]), None)
    real_start = bulk_s3.start

    def start_then_stop(sfn: Any, outputs: dict, bucket: str, prefix: str) -> str:
        arn = real_start(sfn, outputs, bucket, prefix)
        store_results(s3, "e2e/7d1e6b0a-3c2f-4e5d-8a9b-0c1d2e3f4a5b/", {
            "SUCCEEDED": [{"Status": "SUCCEEDED", "Input": json.dumps(batch(["photos/coffee.jpg"])),
                           "Output": json.dumps(answer)}]
        })  # fmt: skip
        sfn.stop_execution(executionArn=arn)
        return arn

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setattr(bulk_s3, "stack_outputs", lambda session, stack: outputs)
    monkeypatch.setattr(bulk_s3, "start", start_then_stop)
    out = tmp_path / "s3.csv"
    # the run was stopped: its results are fetched, and the exit status says it did not finish
    assert bulk.main([f"s3://{BUCKET}/photos/", "--stack", "catbreed", "--out", str(out), "--region", "us-east-1"]) == 1
    (row,) = read_rows(out)
    assert row["path"] == f"s3://{BUCKET}/photos/coffee.jpg" and row["is_cat"] == "False" and row["breed_5"]


class MapRunStub:
    """Step Functions as a running execution with one Map Run shows it: RUNNING with a growing
    count of done items, then SUCCEEDED (moto lists no Map Runs)."""

    def __init__(self) -> None:
        self.polls = 0

    def describe_execution(self, executionArn: str) -> dict:  # noqa: N803 - boto3's names
        self.polls += 1
        return {"executionArn": executionArn, "status": "RUNNING" if self.polls < 3 else "SUCCEEDED"}

    def list_map_runs(self, executionArn: str) -> dict:  # noqa: N803
        return {"mapRuns": [{"mapRunArn": f"{executionArn}:map-run"}]}

    def describe_map_run(self, mapRunArn: str) -> dict:  # noqa: N803
        return {"itemCounts": {"total": 40, "succeeded": 18 * self.polls - 16, "failed": self.polls - 1}}


@pytest.mark.parametrize("with_tqdm", [True, False])
def test_the_progress_loop_follows_the_map_run(with_tqdm: bool, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    if not with_tqdm:
        monkeypatch.setitem(sys.modules, "tqdm", None)  # the runtime-only setup: no tqdm
    stub = MapRunStub()
    assert bulk_s3.wait(stub, "arn:aws:states:us-east-1:1:execution:bulk:run", every=0)["status"] == "SUCCEEDED"
    assert stub.polls == 3
    if with_tqdm:
        assert "40/40" in capsys.readouterr().err  # 2 + 20 + 38 succeeded, + 2 failed


def test_no_region_or_no_credentials_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    for name in ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
        monkeypatch.setenv(name, str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    args = [f"s3://{BUCKET}/photos/", "--stack", "catbreed", "--out", str(tmp_path / "s3.csv")]
    assert bulk.main(args) == 2
    assert capsys.readouterr().err == f"bulk.py: {NO_REGION}\n"
    assert bulk.main([*args, "--region", "eu-west-1"]) == 2
    assert capsys.readouterr().err == f"bulk.py: {NO_CREDENTIALS}\n"
    assert not (tmp_path / "s3.csv").exists()


def test_a_failed_run_never_takes_an_earlier_runs_results() -> None:
    class Listing:
        def __init__(self, objects: list[dict]) -> None:
            self.objects = objects

        def list_objects_v2(self, **_: Any) -> dict:
            return {"Contents": self.objects}

    def at(second: int) -> datetime:
        return datetime(2026, 11, 23, 20, 0, second, tzinfo=UTC)

    earlier = {"Key": "results/run-1/manifest.json", "LastModified": at(5)}
    this = {"Key": "results/run-2/manifest.json", "LastModified": at(30)}
    execution = {"status": "FAILED", "startDate": at(30).replace(microsecond=400_000)}
    assert bulk_s3.manifest_location(Listing([earlier, this]), execution, RESULTS, "results/") == (RESULTS, this["Key"])
    with pytest.raises(BulkError, match="no results of this run"):
        bulk_s3.manifest_location(Listing([earlier]), execution, RESULTS, "results/")
