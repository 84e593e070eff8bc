"""Check a deployed catbreed API end to end: one report per check, pass or fail, then a summary.

    .venv/bin/python test_cloud.py [PHOTO] [--api URL | --stack NAME [--region REGION]] [--url PHOTO_URL]

The checks: GET /breeds; POST /predict with {"url"}; the photo sent in the request, as
base64 JSON {"image"} and as a raw image body (when it is within the 4 MiB direct limit); and
the upload path: POST /uploads, the photo to S3, POST /predict {"upload"}, with the photo
itself when it is over the direct limit, else with the photo padded past it (the bytes after
a JPEG's end are ignored). An API without uploads (the local server) skips the upload check,
unless the photo can only go that way. The default photo is tests/fixtures/cat_chelsea.jpg.

The API URL comes from --api, else $CATBREED_API_URL, else the ApiUrl output of the
CloudFormation stack (--stack, default "catbreed"), read with boto3 and your AWS credentials.
Exit status: 0 every check passed; 1 a check failed; 2 the API could not be found.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from catbreed.limits import DIRECT_MAX_BYTES
from catbreed_local.cli_errors import aws_problem, missing_module
from catbreed_local.client import (
    DEFAULT_PHOTO,
    NoUploads,
    content_type_of,
    describe,
    format_answer,
    get,
    request_for,
    send,
    upload,
)

DEFAULT_PHOTO_URL = (
    "https://upload.wikimedia.org/wikipedia/commons/thumb/4/4d/Cat_November_2010-1a.jpg/640px-Cat_November_2010-1a.jpg"
)
Call = Callable[[], tuple[int, dict]]


class ApiNotFound(Exception):
    """The API's URL could not be found; the message says what to do."""


def api_from_stack(stack: str, region: str | None) -> str:
    """The ApiUrl output of a deployed stack."""
    import boto3

    cloudformation = boto3.Session(region_name=region).client("cloudformation")
    outputs = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    for output in outputs.get("Outputs", []):
        if output["OutputKey"] == "ApiUrl":
            return output["OutputValue"]
    raise ApiNotFound(f"the stack {stack} has no ApiUrl output; is it a catbreed stack?")


def find_api(args: argparse.Namespace) -> str:
    """The API's base URL: --api, $CATBREED_API_URL, or the stack's ApiUrl."""
    url = args.api or os.environ.get("CATBREED_API_URL")
    if url:
        return url.rstrip("/")
    try:
        return api_from_stack(args.stack, args.region).rstrip("/")
    except ModuleNotFoundError as error:
        raise ApiNotFound(missing_module(error, f"test_cloud.py --stack {args.stack}") + "; or pass --api URL") from error
    except ApiNotFound:
        raise
    except Exception as error:
        problem = aws_problem(error)
        if problem is None:
            raise
        raise ApiNotFound(f"{problem}; or pass --api URL") from error


def padded_past_direct_limit(photo: bytes) -> bytes:
    """The photo itself when it is over the direct limit, else the photo with zero bytes after
    its end, one byte over the limit (decoders stop at the end of a JPEG, PNG or WebP)."""
    return photo if len(photo) > DIRECT_MAX_BYTES else photo + bytes(DIRECT_MAX_BYTES + 1 - len(photo))


def checks(api: str, photo_path: Path, photo_url: str) -> list[tuple[str, Call]]:
    """Each check: its name (what it sends) and the call that makes it."""
    predict, name, photo = f"{api}/predict", photo_path.name, photo_path.read_bytes()
    direct = len(photo) <= DIRECT_MAX_BYTES
    as_json = json.dumps(request_for(str(photo_path))).encode() if direct else b""
    stored = padded_past_direct_limit(photo)
    stored_name = name if not direct else f"{name} padded to {len(stored):,} B"

    def via_upload() -> tuple[int, dict]:
        key = upload(api, stored, content_type_of(name))
        return send(predict, json.dumps({"upload": key}).encode())  # the default top_k

    found = [
        ("GET /breeds", lambda: get(f"{api}/breeds")),
        (f"POST /predict {{\"url\": {photo_url}}}", lambda: send(predict, json.dumps(request_for(photo_url)).encode())),
    ]
    if direct:
        found += [
            (f"POST /predict {{\"image\": base64 of {name}}}", lambda: send(predict, as_json)),
            (f"POST /predict {name} as a raw {content_type_of(name)} body", lambda: send(predict, photo, content_type_of(name))),
        ]
    found.append((f"POST /uploads, S3, POST /predict {{\"upload\"}} with {stored_name}", via_upload))
    return found


def run_check(name: str, call: Call, optional: bool) -> bool | None:
    """Run one check and report it: True passed, False failed, None skipped."""
    try:
        status, body = call()
    except NoUploads as error:
        print(f"\n== {name}: {'skipped' if optional else 'FAILED'}: {error}")
        return None if optional else False
    except (OSError, ValueError) as error:
        print(f"\n== {name}: FAILED: {error}")
        return False
    ok = status == 200 and "error" not in body
    print(f"\n== {name}: HTTP {status} {'ok' if ok else 'FAILED'}")
    print(format_answer(body) if "predictions" in body else describe(body))
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photo", nargs="?", type=Path, default=DEFAULT_PHOTO, help="a local photo (default: the bundled cat)")
    parser.add_argument("--api", help="the API's base URL (default: $CATBREED_API_URL or the stack's ApiUrl)")
    parser.add_argument("--stack", default="catbreed", help="the deployed stack (default: catbreed)")
    parser.add_argument("--region", default=None, help="the stack's AWS region (default: AWS_DEFAULT_REGION or your AWS config)")
    parser.add_argument("--url", default=DEFAULT_PHOTO_URL, help="a photo URL for the URL request")
    args = parser.parse_args(argv)
    if not args.photo.is_file():
        print(f"test_cloud.py: no photo at {args.photo}", file=sys.stderr)
        return 2
    try:
        api = find_api(args)
    except ApiNotFound as error:
        print(f"test_cloud.py: {error}", file=sys.stderr)
        return 2
    print(f"API: {api}")
    found = checks(api, args.photo, args.url)
    results = [run_check(name, call, optional=args.photo.stat().st_size <= DIRECT_MAX_BYTES) for name, call in found]
    ran = [result for result in results if result is not None]
    skipped = len(results) - len(ran)
    print(f"\n{sum(ran)} of {len(ran)} checks passed" + (f" ({skipped} skipped)" if skipped else ""))
    return 0 if all(ran) else 1


if __name__ == "__main__":
    sys.exit(main())
