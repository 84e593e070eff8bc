"""A small client for the function's API, shared by test.py and test_cloud.py."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_PHOTO = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "cat_chelsea.jpg"


def is_url(photo: str) -> bool:
    """Anything with a scheme is sent as a URL, for the function to accept or refuse."""
    return "://" in photo


def request_for(photo: str, top_k: int = 5) -> dict:
    """The JSON request for a photo URL or a local file."""
    if is_url(photo):
        return {"url": photo, "top_k": top_k}
    return {"image": base64.b64encode(Path(photo).read_bytes()).decode("ascii"), "top_k": top_k}


def send(endpoint: str, data: bytes, content_type: str = "application/json", timeout: float = 60) -> tuple[int, dict]:
    """POST to the endpoint: (HTTP status, JSON body). Connection failures raise OSError."""
    request = urllib.request.Request(endpoint, data=data, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, {"error": {"code": "http_error", "message": raw.decode(errors="replace")[:200]}}


def get(url: str, timeout: float = 30) -> tuple[int, dict]:
    """GET a JSON route: (HTTP status, JSON body)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, {"error": {"code": "http_error", "message": str(error)}}


def format_answer(body: dict) -> str:
    """The top-k as a readable table, or the error in words."""
    if "error" in body:
        return f"error ({body['error'].get('code')}): {body['error'].get('message')}"
    lines = [f"{'breed':<22} {'probability':>11}"]
    for item in body["predictions"]:
        bar = "#" * round(item["probability"] * 30)
        lines.append(f"{item['breed']:<22} {item['probability']:>10.1%}  {bar}")
    verdict = "yes" if body.get("is_cat") else "NO - this does not look like a cat"
    model = body.get("model", {})
    lines.append(f"cat? {verdict} (score {body.get('cat_score', 0):.3f}); model {model.get('name')} {model.get('version')}")
    return "\n".join(lines)
