"""Bulk on AWS: start the stack's bulk state machine (a Distributed Map over an S3 prefix),
show its Map Run's progress, and turn the results ResultWriter stored into bulk CSV rows."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from catbreed_local.bulk_rows import BATCH_FAILED, BATCH_UNFINISHED, BulkError, Tally, row_for, write_new
from catbreed_local.progress import progress


def parse_s3(source: str) -> tuple[str, str]:
    """s3://bucket/prefix -> (bucket, prefix)."""
    bucket, _, prefix = source.removeprefix("s3://").partition("/")
    if not source.startswith("s3://") or not bucket:
        raise BulkError(f"not an S3 location: {source} (expected s3://BUCKET/PREFIX)")
    return bucket, prefix


def stack_outputs(session: Any, stack: str) -> dict[str, str]:
    """The outputs of the deployed stack, by key."""
    outputs = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    return {o["OutputKey"]: o["OutputValue"] for o in outputs}


def start(sfn: Any, outputs: dict[str, str], bucket: str, prefix: str) -> str:
    """Start the bulk state machine on the prefix; returns the execution ARN."""
    if "BulkStateMachineArn" not in outputs:
        raise BulkError("the stack has no bulk state machine; deploy it with scripts/deploy.sh --bulk s3://BUCKET/PREFIX")
    allowed_bucket, allowed_prefix = outputs["BulkInputBucket"], outputs["BulkInputPrefix"]
    if bucket != allowed_bucket or not prefix.startswith(allowed_prefix):
        raise BulkError(
            f"the stack may read only s3://{allowed_bucket}/{allowed_prefix}*; "
            f"deploy it with scripts/deploy.sh --bulk s3://{bucket}/{prefix} to read there"
        )
    execution = sfn.start_execution(stateMachineArn=outputs["BulkStateMachineArn"], input=json.dumps({"prefix": prefix}))
    return execution["executionArn"]


def wait(sfn: Any, execution_arn: str, every: float = 5.0) -> dict:
    """Poll the execution, with the Map Run's item counts as a progress bar, until it ends."""
    bar = progress(unit="photo", desc="classifying on AWS")
    try:
        while True:
            execution = sfn.describe_execution(executionArn=execution_arn)
            for run in sfn.list_map_runs(executionArn=execution_arn).get("mapRuns", [])[:1]:
                counts = sfn.describe_map_run(mapRunArn=run["mapRunArn"]).get("itemCounts", {})
                bar.total = counts.get("total") or bar.total
                bar.n = counts.get("succeeded", 0) + counts.get("failed", 0)
                bar.refresh()
            if execution["status"] != "RUNNING":
                return execution
            time.sleep(every)
    finally:
        bar.close()


def manifest_location(s3: Any, execution: dict, result_bucket: str, result_prefix: str) -> tuple[str, str]:
    """Where ResultWriter put the manifest: the execution's output says; a failed run has none,
    so the newest manifest under the result prefix written since this run started is taken
    (never an earlier run's)."""
    details = json.loads(execution.get("output") or "{}").get("ResultWriterDetails")
    if details:
        return details["Bucket"], details["Key"]
    started = execution.get("startDate")
    if started is not None:
        started = started.replace(microsecond=0)  # S3 lists whole seconds
    listed = s3.list_objects_v2(Bucket=result_bucket, Prefix=result_prefix).get("Contents", [])
    manifests = sorted(
        (o for o in listed if o["Key"].endswith("/manifest.json") and (started is None or o["LastModified"] >= started)),
        key=lambda o: o["LastModified"],
    )
    if not manifests:
        raise BulkError(
            f"no results of this run under s3://{result_bucket}/{result_prefix} (execution {execution['status']}); "
            "see the execution in the Step Functions console"
        )
    return result_bucket, manifests[-1]["Key"]


def result_rows(s3: Any, bucket: str, manifest_key: str) -> Iterator[dict]:
    """Rows from a Distributed Map's ResultWriter output: each succeeded batch's results, and
    an error row for each photo of a batch that failed (after its retries) or never finished."""
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    files = manifest.get("ResultFiles", {})
    for status in ("SUCCEEDED", "FAILED", "PENDING"):
        for entry in files.get(status, []):
            for child in json.loads(s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()):
                yield from _child_rows(child)


def _child_rows(child: dict) -> Iterable[dict]:
    """The rows of one batch: its answers, or an error row per photo when it did not succeed."""
    output = json.loads(child.get("Output") or "{}")
    if child.get("Status") == "SUCCEEDED" and isinstance(output.get("results"), list):
        return [row_for(r["path"], r) for r in output["results"]]
    batch = json.loads(child.get("Input") or "{}")
    bucket = batch.get("BatchInput", {}).get("bucket", "")
    if isinstance(output.get("error"), dict):  # the function refused the whole batch
        reason = output["error"]
    elif child.get("Status") in ("FAILED", "ABORTED", "TIMED_OUT") or child.get("Error"):
        cause = ": ".join(part for part in (child.get("Error"), child.get("Cause")) if part) or "no cause given"
        reason = {"code": BATCH_FAILED, "message": f"{cause}; run bulk.py again to retry"}
    else:
        reason = {"code": BATCH_UNFINISHED, "message": "the run ended before this batch was classified; run bulk.py again"}
    return [row_for(f"s3://{bucket}/{item.get('Key')}", {"error": reason}) for item in batch.get("Items", [])]


def run_s3(source: str, out: Path, stack: str, region: str | None) -> tuple[Tally, str]:
    """Run the prefix on the stack's state machine and fetch its results into the CSV:
    (the tally of the rows written, the execution's status). boto3's errors are raised as they are."""
    import boto3

    bucket, prefix = parse_s3(source)
    session = boto3.Session(region_name=region)
    outputs = stack_outputs(session, stack)
    sfn, s3 = session.client("stepfunctions"), session.client("s3")
    execution_arn = start(sfn, outputs, bucket, prefix)
    print(f"started {execution_arn}", file=sys.stderr)
    execution = wait(sfn, execution_arn)
    print(f"execution {execution['status']}", file=sys.stderr)
    results_bucket = outputs["UploadBucketName"]
    location = manifest_location(s3, execution, results_bucket, outputs.get("BulkResultPrefix", "results/"))
    return write_new(out, result_rows(s3, *location)), execution["status"]
