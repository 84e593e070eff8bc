"""Check a deployed catbreed API end to end: a URL request, an upload, the breed list.
A photo over the 4 MB direct limit is checked through the upload path (POST /uploads, S3,
POST /predict {"upload": key}); a smaller one is sent as base64 JSON and as a raw body.

    python test_cloud.py [PHOTO_PATH] [--api URL | --stack NAME] [--url PHOTO_URL]

The API URL comes from --api, else $CATBREED_API_URL, else the outputs of the
CloudFormation stack (--stack, default "catbreed") through boto3. Exits non-zero on any
failure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from catbreed_local.client import DEFAULT_PHOTO, DIRECT_MAX_BYTES, format_answer, get, request_for, send

DEFAULT_PHOTO_URL = (
    "https://upload.wikimedia.org/wikipedia/commons/thumb/4/4d/Cat_November_2010-1a.jpg/640px-Cat_November_2010-1a.jpg"
)


def api_from_stack(stack: str, region: str | None) -> str:
    """The ApiUrl output of a deployed stack."""
    import boto3

    outputs = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]
    return next(o["OutputValue"] for o in outputs if o["OutputKey"] == "ApiUrl")


def find_api(args: argparse.Namespace) -> str:
    url = args.api or os.environ.get("CATBREED_API_URL") or api_from_stack(args.stack, args.region)
    return url.rstrip("/")


def check(name: str, status: int, body: dict) -> bool:
    ok = status == 200 and "error" not in body
    print(f"\n== {name}: HTTP {status} {'ok' if ok else 'FAILED'}")
    print(format_answer(body) if "predictions" in body or "error" in body else json.dumps(body)[:300])
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photo", nargs="?", default=str(DEFAULT_PHOTO), help="a local photo to upload")
    parser.add_argument("--api", help="the API's base URL (default: $CATBREED_API_URL or the stack's ApiUrl)")
    parser.add_argument("--stack", default="catbreed")
    parser.add_argument("--region", default=None)
    parser.add_argument("--url", default=DEFAULT_PHOTO_URL, help="a photo URL for the URL request")
    args = parser.parse_args(argv)
    try:
        api = find_api(args)
        print(f"API: {api}")
        name, predict = Path(args.photo).name, f"{api}/predict"
        results = [
            check("GET /breeds", *get(f"{api}/breeds")),
            check(f"POST /predict url={args.url}", *send(predict, json.dumps(request_for(args.url)).encode())),
        ]
        if Path(args.photo).stat().st_size > DIRECT_MAX_BYTES:
            request = json.dumps(request_for(args.photo, api=api)).encode()  # POST /uploads, then the photo to S3
            results.append(check(f"POST /predict upload {name} via POST /uploads and S3", *send(predict, request)))
        else:
            results += [
                check(f"POST /predict upload {name} (JSON)", *send(predict, json.dumps(request_for(args.photo)).encode())),
                check(f"POST /predict upload {name} (raw)", *send(predict, Path(args.photo).read_bytes(), "image/jpeg")),
            ]
    except Exception as error:
        print(f"FAILED: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    print(f"\n{sum(results)} of {len(results)} checks passed")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
