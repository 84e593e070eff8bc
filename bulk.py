"""Classify every photo in a folder, or under an S3 prefix, into one CSV.

    python bulk.py FOLDER --out results.csv                            # here: the shipped model, every core
    python bulk.py s3://BUCKET/PREFIX --stack NAME --out results.csv   # on AWS: the stack's bulk state machine

Columns: path, breed_1, probability_1 ... breed_5, probability_5, is_cat, confident, error.
A file that is not a photo (or cannot be read) becomes a row with an error, never a crash.
Rows already in the output are kept and skipped, so an interrupted run resumes where it stopped.
The S3 way needs a stack deployed with BulkEnabled=true, AWS credentials, and boto3.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

try:
    from tqdm import tqdm
except ImportError:  # the runtime-only setup (make run) has no progress bar library

    def tqdm(iterable: Iterable | None = None, **_: Any) -> Any:
        """No bar: the items as they come, and update/close that do nothing."""
        return iterable if iterable is not None else _NoBar()


class _NoBar:
    total = 0

    def update(self, *_: Any) -> None: ...

    def close(self) -> None: ...


TOP = 5
TOP_COLUMNS = [f"{name}_{i}" for i in range(1, TOP + 1) for name in ("breed", "probability")]
COLUMNS = ["path", *TOP_COLUMNS, "is_cat", "confident", "error"]


# --- rows and the CSV --------------------------------------------------------------------
def row_for(path: str, answer: dict) -> dict:
    """One CSV row from an answer of the API (the /predict body, or {"error": {...}})."""
    row = dict.fromkeys(COLUMNS, "")
    row["path"] = path
    if "error" in answer:
        error = answer["error"]
        row["error"] = f"{error.get('code', 'error')}: {error.get('message', '')}" if isinstance(error, dict) else str(error)
        return row
    for i, item in enumerate(answer["predictions"][:TOP], start=1):
        row[f"breed_{i}"], row[f"probability_{i}"] = item["breed"], item["probability"]
    row["is_cat"], row["confident"] = answer["is_cat"], answer.get("confident", "")
    return row


def done_paths(out: Path) -> set[str]:
    """Paths already in the output CSV (an unreadable or foreign file stops the run)."""
    if not out.exists() or out.stat().st_size == 0:
        return set()
    with out.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames != COLUMNS:
            raise SystemExit(f"{out} exists but is not a bulk.py CSV (columns differ); choose another --out")
        return {row["path"] for row in reader}


class CsvOut:
    """Appends rows to the CSV, header first when the file is new, flushed row by row."""

    def __init__(self, out: Path) -> None:
        new = not out.exists() or out.stat().st_size == 0
        self.handle = out.open("a", newline="", encoding="utf-8")
        self.writer = csv.DictWriter(self.handle, fieldnames=COLUMNS)
        if new:
            self.writer.writeheader()

    def write(self, row: dict) -> None:
        self.writer.writerow(row)
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()


# --- a local folder ------------------------------------------------------------------------
_service: Any = None


def _start_worker(model_dir: str | None) -> None:
    """Each worker process loads the model once (one inference thread: the processes use the cores)."""
    global _service
    from catbreed.model import DEFAULT_MODEL_DIR, Classifier
    from catbreed.service import Service

    _service = Service(Classifier(model_dir or DEFAULT_MODEL_DIR, num_threads=1))


def classify_file(path: str) -> dict:
    """The row for one file, exactly as POST /predict would answer for its bytes."""
    from catbreed.errors import INTERNAL_ERROR_BODY, CatbreedError

    try:
        answer = _service.predict_stored(Path(path).read_bytes(), TOP).body
    except CatbreedError as exc:
        answer = exc.to_body()
    except OSError as exc:
        answer = {"error": {"code": "unreadable", "message": exc.strerror or str(exc)}}
    except Exception:  # a crash in one photo must not end the run
        answer = INTERNAL_ERROR_BODY
    return row_for(path, answer)


def files_in(folder: Path, skip: Path) -> list[str]:
    """Every non-hidden file under the folder, sorted (the output CSV itself excluded)."""
    def wanted(path: Path) -> bool:
        hidden = any(part.startswith(".") for part in path.relative_to(folder).parts)
        return path.is_file() and not hidden and path.resolve() != skip.resolve()

    return [str(path) for path in sorted(folder.rglob("*")) if wanted(path)]


def run_local(folder: Path, out: Path, workers: int, model_dir: str | None = None) -> int:
    """Classify the folder into the CSV; returns how many rows it wrote."""
    done = done_paths(out)
    todo = [p for p in files_in(folder, out) if p not in done]
    if not todo:
        return 0
    sink = CsvOut(out)
    try:
        with ProcessPoolExecutor(max_workers=workers, initializer=_start_worker, initargs=(model_dir,)) as pool:
            rows = pool.map(classify_file, todo, chunksize=4)
            for row in tqdm(rows, total=len(todo), unit="photo", desc="classifying"):
                sink.write(row)
    finally:
        sink.close()
    return len(todo)


# --- an S3 prefix, on the stack's state machine ------------------------------------------------
def parse_s3(source: str) -> tuple[str, str]:
    """s3://bucket/prefix -> (bucket, prefix)."""
    bucket, _, prefix = source.removeprefix("s3://").partition("/")
    if not bucket:
        raise SystemExit(f"not an S3 location: {source}")
    return bucket, prefix


def stack_outputs(session: Any, stack: str) -> dict[str, str]:
    outputs = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"][0].get("Outputs", [])
    return {o["OutputKey"]: o["OutputValue"] for o in outputs}


def start(sfn: Any, outputs: dict[str, str], bucket: str, prefix: str) -> str:
    """Start the bulk state machine on the prefix; returns the execution ARN."""
    if "BulkStateMachineArn" not in outputs:
        raise SystemExit("the stack has no bulk state machine; deploy it with BulkEnabled=true")
    allowed_bucket, allowed_prefix = outputs["BulkInputBucket"], outputs["BulkInputPrefix"]
    if bucket != allowed_bucket or not prefix.startswith(allowed_prefix):
        raise SystemExit(f"the stack may read only s3://{allowed_bucket}/{allowed_prefix}* (BulkInputBucket/BulkInputPrefix)")
    execution = sfn.start_execution(stateMachineArn=outputs["BulkStateMachineArn"], input=json.dumps({"prefix": prefix}))
    return execution["executionArn"]


def wait(sfn: Any, execution_arn: str, every: float = 5.0) -> dict:
    """Poll the execution, with the Map Run's item counts as a progress bar, until it ends."""
    bar = tqdm(unit="photo", desc="classifying on AWS")
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
        raise SystemExit(f"no results of this run under s3://{result_bucket}/{result_prefix} (execution {execution['status']})")
    return result_bucket, manifests[-1]["Key"]


def result_rows(s3: Any, bucket: str, manifest_key: str) -> Iterator[dict]:
    """Rows from a Distributed Map's ResultWriter output: each succeeded batch's results, and
    an error row for each photo of a batch that failed (after its retries)."""
    manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
    files = manifest.get("ResultFiles", {})
    for status in ("SUCCEEDED", "FAILED", "PENDING"):
        for entry in files.get(status, []):
            for child in json.loads(s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()):
                yield from _child_rows(child)


def _child_rows(child: dict) -> Iterable[dict]:
    output = json.loads(child.get("Output") or "{}")
    if child.get("Status") == "SUCCEEDED" and isinstance(output.get("results"), list):
        return [row_for(r["path"], r) for r in output["results"]]
    batch = json.loads(child.get("Input") or "{}")
    bucket = batch.get("BatchInput", {}).get("bucket", "")
    reason = output.get("error") or {"code": child.get("Error") or "batch_failed", "message": child.get("Cause") or ""}
    return [row_for(f"s3://{bucket}/{item.get('Key')}", {"error": reason}) for item in batch.get("Items", [])]


def run_s3(source: str, out: Path, stack: str, region: str | None) -> tuple[int, str]:
    """Run the prefix on the stack's state machine and fetch its results into the CSV:
    (rows written, the execution's status)."""
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


def write_new(out: Path, rows: Iterable[dict]) -> int:
    """Append the rows whose path is not in the CSV yet; returns how many."""
    done, sink, written = done_paths(out), CsvOut(out), 0
    try:
        for row in rows:
            if row["path"] not in done:
                sink.write(row)
                done.add(row["path"])
                written += 1
    finally:
        sink.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="a folder, or s3://bucket/prefix")
    parser.add_argument("--out", type=Path, default=Path("results.csv"), help="the CSV (appended to; default results.csv)")
    parser.add_argument("--stack", help="the deployed stack, for an s3:// source")
    parser.add_argument("--region", default=None)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for a folder (default: every core)")
    parser.add_argument("--model-dir", default=None, help="the model for a folder (default: model/)")
    args = parser.parse_args(argv)
    if args.source.startswith("s3://"):
        if not args.stack:
            parser.error("an s3:// source needs --stack NAME")
        written, status = run_s3(args.source, args.out, args.stack, args.region)
        if status != "SUCCEEDED":
            print(f"{written} new rows in {args.out}; the run ended {status}: run again to add the rest", file=sys.stderr)
            return 1
    else:
        folder = Path(args.source)
        if not folder.is_dir():
            parser.error(f"{folder} is not a folder")
        written = run_local(folder, args.out, max(1, args.workers), args.model_dir)
    print(f"{written} new rows in {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
