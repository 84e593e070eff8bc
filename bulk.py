"""Classify every photo in a folder, or under an S3 prefix, into one CSV.

    .venv/bin/python bulk.py FOLDER --out results.csv                            # here: the shipped model, every core
    .venv/bin/python bulk.py s3://BUCKET/PREFIX --stack NAME --out results.csv   # on AWS: the stack's bulk state machine

Use the project's Python (.venv/bin/python; `make run` once creates it). Columns: path,
breed_1, probability_1 ... breed_5, probability_5, is_cat, confident, error. A file that is
not a photo (or cannot be read: a link to nothing, a FIFO) becomes a row with an error, never a
crash. Rows already in the output are kept and skipped, so an interrupted run resumes where it
stopped. The last line says how many photos were answered, how many of them are not cats, and
how many failed. The S3 way needs a stack deployed with `scripts/deploy.sh --bulk
s3://BUCKET/PREFIX` and AWS credentials.

Exit status: 0 done; 1 the AWS run ended unfinished (run again for the rest); 2 nothing or
not everything could run (the one-line message says why and what to do).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from catbreed_local.bulk_local import run_local
from catbreed_local.bulk_rows import BulkError
from catbreed_local.bulk_s3 import run_s3
from catbreed_local.cli_errors import aws_problem, missing_module


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("source", help="a folder, or s3://bucket/prefix")
    parser.add_argument("--out", type=Path, default=Path("results.csv"), help="the CSV (appended to; default results.csv)")
    parser.add_argument("--stack", help="the deployed stack, for an s3:// source")
    parser.add_argument("--region", default=None, help="the stack's AWS region (default: AWS_DEFAULT_REGION or your AWS config)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes for a folder (default: every core)")
    parser.add_argument("--model-dir", type=Path, default=None, help="the model for a folder (default: model/)")
    args = parser.parse_args(argv)
    if args.source.startswith("s3://") and not args.stack:
        parser.error("an s3:// source needs --stack NAME")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    on_aws = args.source.startswith("s3://")
    try:
        if on_aws:
            tally, status = run_s3(args.source, args.out, args.stack, args.region)
        else:
            tally, status = run_local(Path(args.source), args.out, max(1, args.workers), args.model_dir), "SUCCEEDED"
    except BulkError as error:
        return fail(str(error))
    except ModuleNotFoundError as error:
        command = f"bulk.py {args.source} --out {args.out}" + (f" --stack {args.stack}" if on_aws else "")
        return fail(missing_module(error, command))
    except KeyboardInterrupt:
        return fail(f"stopped; the rows so far are in {args.out}, and running the same command again resumes")
    except Exception as error:
        problem = aws_problem(error)
        if problem is None:
            raise
        return fail(problem)
    if status != "SUCCEEDED":
        print(f"{tally.summary(args.out)}; the run ended {status}: run the same command again", file=sys.stderr)
        return 1
    if not tally.rows:
        print(f"nothing new: every file of {args.source} has its row in {args.out} already", file=sys.stderr)
        return 0
    print(tally.summary(args.out), file=sys.stderr)
    return 0


def fail(message: str) -> int:
    print(f"bulk.py: {message}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
