"""Ask a running function for the breeds in a photo and print the top-5.

    .venv/bin/python test.py [PHOTO_URL_OR_PATH] [--endpoint URL]

The default endpoint is the emulator route of `make run`'s local server
(http://127.0.0.1:8080/2015-03-31/functions/function/invocations); the container answers on
the same path (docker run -p 9000:8080 catbreed, then --endpoint 127.0.0.1:9000/2015-03-31/...),
and an API's POST /predict works too. An endpoint without a scheme is an http:// one. The
default photo is the bundled cat. A photo over the 4 MiB direct limit goes through POST /uploads
and S3 when the endpoint is an API's .../predict.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import urllib.error

from catbreed.limits import DEFAULT_TOP_K
from catbreed_local.client import DEFAULT_PHOTO, LOCAL_EMULATOR, api_base, format_answer, request_for, send, with_scheme

NOBODY_THERE = (ConnectionRefusedError, socket.gaierror, TimeoutError)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photo", nargs="?", default=str(DEFAULT_PHOTO), help="a photo URL or a local file")
    parser.add_argument("--endpoint", default=LOCAL_EMULATOR, help=f"default: {LOCAL_EMULATOR}")
    parser.add_argument("--top-k", type=int, default=DEFAULT_TOP_K)
    parser.add_argument("--json", action="store_true", help="print the raw JSON answer")
    args = parser.parse_args(argv)
    endpoint = with_scheme(args.endpoint)
    try:
        request = request_for(args.photo, args.top_k, api_base(endpoint))
    except OSError as error:
        print(f"test.py: could not read or upload {args.photo}: {error}", file=sys.stderr)
        return 2
    try:
        status, body = send(endpoint, json.dumps(request).encode())
    except urllib.error.URLError as error:
        if isinstance(error.reason, NOBODY_THERE):
            print(f"test.py: nothing answers at {endpoint} ({error.reason}); start it (make run) or pass --endpoint URL",
                  file=sys.stderr)
        else:
            print(f"test.py: the request to {endpoint} failed: {error.reason}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"test.py: {error}", file=sys.stderr)
        return 2
    print(json.dumps(body, indent=1) if args.json else format_answer(body))
    return 0 if status == 200 and "error" not in body else 1


if __name__ == "__main__":
    sys.exit(main())
