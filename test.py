"""Ask a running function for the breeds in a photo and print the top-5.

    .venv/bin/python test.py [PHOTO_URL_OR_PATH] [--endpoint URL]

The default endpoint is the container's emulator (docker run -p 9000:8080 catbreed); the
local server answers on the same path (python -m catbreed_local.server --port 9000), and an
API's POST /predict works too. The default photo is the bundled cat. A photo over the 4 MiB
direct limit goes through POST /uploads and S3 when the endpoint is an API's .../predict.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error

from catbreed_local.client import DEFAULT_PHOTO, api_base, format_answer, request_for, send

EMULATOR = "http://localhost:9000/2015-03-31/functions/function/invocations"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photo", nargs="?", default=str(DEFAULT_PHOTO), help="a photo URL or a local file")
    parser.add_argument("--endpoint", default=EMULATOR, help=f"default: {EMULATOR}")
    parser.add_argument("--top-k", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="print the raw JSON answer")
    args = parser.parse_args(argv)
    try:
        request = request_for(args.photo, args.top_k, api_base(args.endpoint))
    except OSError as error:
        print(f"test.py: could not read or upload {args.photo}: {error}", file=sys.stderr)
        return 2
    try:
        status, body = send(args.endpoint, json.dumps(request).encode())
    except urllib.error.URLError as error:
        print(f"test.py: nothing answers at {args.endpoint} ({error.reason}); start it (make run) or pass --endpoint URL",
              file=sys.stderr)
        return 2
    except OSError as error:
        print(f"test.py: {error}", file=sys.stderr)
        return 2
    print(json.dumps(body, indent=1) if args.json else format_answer(body))
    return 0 if status == 200 and "error" not in body else 1


if __name__ == "__main__":
    sys.exit(main())
