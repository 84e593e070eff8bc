"""A small client for the function's API, shared by test.py and test_cloud.py."""

from __future__ import annotations

import base64
import json
import mimetypes
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from catbreed.limits import DEFAULT_TOP_K, DIRECT_MAX_BYTES

DEFAULT_PHOTO = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "cat_chelsea.jpg"
LOCAL_PORT = 8080  # the local server's (`make run`'s PORT)
INVOKE_PATH = "/2015-03-31/functions/function/invocations"  # the Lambda Runtime Interface Emulator's route
LOCAL_EMULATOR = f"http://127.0.0.1:{LOCAL_PORT}{INVOKE_PATH}"  # `make run`'s emulator route


def is_url(photo: str) -> bool:
    """Anything with a scheme is sent as a URL, for the function to accept or refuse."""
    return "://" in photo


def request_for(photo: str, top_k: int = DEFAULT_TOP_K, api: str | None = None) -> dict:
    """The JSON request for a photo URL or a local file. A file over the direct limit is
    uploaded first when the API's base URL is known (POST /uploads, then S3)."""
    if is_url(photo):
        return {"url": photo, "top_k": top_k}
    data = Path(photo).read_bytes()
    if api and len(data) > DIRECT_MAX_BYTES:
        return {"upload": upload(api, data, content_type_of(photo)), "top_k": top_k}
    return {"image": base64.b64encode(data).decode("ascii"), "top_k": top_k}


def with_scheme(endpoint: str) -> str:
    """An endpoint typed without its scheme ("127.0.0.1:8080/predict") is an http:// one."""
    return endpoint if "://" in endpoint else f"http://{endpoint}"


def api_base(endpoint: str) -> str | None:
    """The API's base URL for an endpoint ending in /predict (the emulator's route has no uploads)."""
    endpoint = endpoint.rstrip("/")
    return endpoint[: -len("/predict")] if endpoint.endswith("/predict") else None


def content_type_of(path: str) -> str:
    guessed = mimetypes.guess_type(path)[0] or ""
    return guessed if guessed.startswith("image/") else "image/jpeg"


class NoUploads(OSError):
    """The API has no POST /uploads (the local server, unless it has an upload bucket)."""


def upload(api: str, data: bytes, content_type: str = "image/jpeg") -> str:
    """Store a photo through a presigned POST; returns its upload key. Raises NoUploads when
    the API has no upload route, OSError on any other failure."""
    body = json.dumps({"content_type": content_type, "size": len(data)}).encode()
    status, ticket = send(f"{api.rstrip('/')}/uploads", body)
    if status == 404:
        raise NoUploads(f"this API has no uploads (POST /uploads answered 404: {describe(ticket)})")
    if status != 200 or "upload" not in ticket:
        raise OSError(f"POST /uploads answered {status}: {describe(ticket)}")
    form, boundary = multipart(ticket["fields"], data, content_type)
    request = urllib.request.Request(ticket["url"], data=form, method="POST")
    request.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()
    except urllib.error.HTTPError as error:
        raise OSError(f"S3 refused the upload: HTTP {error.code} {error.read()[:300]!r}") from error
    return ticket["upload"]


def multipart(fields: dict[str, str], data: bytes, content_type: str) -> tuple[bytes, str]:
    """A multipart/form-data body: the signed fields, then the file (S3 wants it last)."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode() for k, v in fields.items()]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="photo"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), boundary


def send(endpoint: str, data: bytes, content_type: str = "application/json", timeout: float = 60) -> tuple[int, dict]:
    """POST to the endpoint: (HTTP status, JSON body)."""
    request = urllib.request.Request(endpoint, data=data, method="POST", headers={"Content-Type": content_type})
    return _json_answer(request, timeout)


def get(url: str, timeout: float = 30) -> tuple[int, dict]:
    """GET a JSON route: (HTTP status, JSON body)."""
    return _json_answer(urllib.request.Request(url), timeout)


def _json_answer(request: urllib.request.Request, timeout: float) -> tuple[int, dict]:
    """(HTTP status, JSON body) of a request, whatever its status. A connection failure, or an
    answer that is not a JSON object (a proxy's error page), raises OSError."""
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        text = raw.decode(errors="replace").strip()[:200]
        raise OSError(f"{request.full_url} answered HTTP {status} with something other than JSON: {text!r}")
    return status, body


def describe(body: dict) -> str:
    """An answer in a few words: its error, or its JSON."""
    return format_answer(body) if "error" in body else json.dumps(body)[:300]


def format_answer(body: dict) -> str:
    """The top-k as a readable table, or the error in words. A photo that is not a cat says so
    first: the breeds of a dog are guesses no one should read as an answer."""
    if "error" in body:
        return f"error ({body['error'].get('code')}): {body['error'].get('message')}"
    score = body.get("cat_score", 0)
    lines = []
    if not body.get("is_cat"):
        lines.append(f"not a cat: this photo does not look like a cat (cat score {score:.3f}); the breeds below are guesses")
    lines.append(f"{'breed':<22} {'probability':>11}")
    for item in body["predictions"]:
        bar = "#" * round(item["probability"] * 30)
        lines.append(f"{item['breed']:<22} {item['probability']:>10.1%}  {bar}")
    verdict = "yes" if body.get("is_cat") else "no"
    model = body.get("model", {})
    lines.append(f"cat? {verdict} (score {score:.3f}); model {model.get('name')} {model.get('version')}")
    if body.get("focus"):
        left, top, right, bottom = body["focus"]["box"]
        lines.append(f"where: the cat is in the box from ({left}, {top}) to ({right}, {bottom}), in the photo's pixels")
    if body.get("confident") is False:
        lines.append("not sure: the model is not confident about this photo; treat the breeds as guesses")
    elif body.get("confident") is True:
        lines.append("confident: yes")
    return "\n".join(lines)
