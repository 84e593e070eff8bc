"""Photos stored in S3: read one (bounded), delete one, with S3's failures as the API's errors.

boto3 is imported on first use only, so the function's cold start (URL and direct photos)
does not pay for it; only the upload and batch paths do.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from catbreed.errors import ImageTooLarge, InvalidRequest, PhotoNotFound

# Without s3:ListBucket (the function has none), S3 answers a missing key with AccessDenied.
MISSING = {"NoSuchKey", "NoSuchBucket", "404", "AccessDenied", "403"}


def client_config(endpoint: str | None) -> dict:
    """botocore Config arguments: signature v4, and, on AWS, the bucket's regional
    virtual-hosted name in presigned URLs (the global name answers a new bucket outside
    us-east-1 with a redirect that a browser's POST does not follow)."""
    arguments: dict = {"signature_version": "s3v4", "retries": {"max_attempts": 3, "mode": "standard"}}
    if not endpoint:
        arguments["s3"] = {"addressing_style": "virtual"}
    return arguments


@cache
def s3_client(endpoint: str = "") -> Any:
    """The process's S3 client: AWS's S3, or the endpoint of the settings (tests)."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=endpoint or None, config=Config(**client_config(endpoint or None)))


def reader(endpoint: str = "") -> Callable[[str, str, int], bytes]:
    """read_photo(bucket, key, max_bytes) through the S3 client of `endpoint`, made on first use."""
    return lambda bucket, key, max_bytes: read_photo(bucket, key, max_bytes, s3_client(endpoint))


def _error_code(exc: Exception) -> str | None:
    """The S3 error code of a botocore ClientError, else None."""
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code")) if isinstance(response, dict) else None


def read_photo(bucket: str, key: str, max_bytes: int, client: Any = None) -> bytes:
    """The bytes of s3://bucket/key: 404 when absent (or not ours to read), 413 past max_bytes.
    Whether the bytes are an image is the decoder's call (415)."""
    client = client or s3_client()
    try:
        stored = client.get_object(Bucket=bucket, Key=key)
    except Exception as exc:
        code = _error_code(exc)
        if code in MISSING:
            raise PhotoNotFound(f"There is no photo s3://{bucket}/{key} that this function may read.") from exc
        if code in ("InvalidObjectState", "InvalidRequest"):
            raise InvalidRequest(f"The photo {key!r} cannot be read.") from exc
        raise
    body = stored["Body"]
    try:
        if stored.get("ContentLength", 0) > max_bytes:
            raise ImageTooLarge.over(max_bytes)
        data = body.read(max_bytes + 1)
    finally:
        body.close()
    if len(data) > max_bytes:
        raise ImageTooLarge.over(max_bytes)
    return data


def delete_photo(bucket: str, key: str, client: Any = None) -> None:
    """Remove s3://bucket/key (absent is fine)."""
    (client or s3_client()).delete_object(Bucket=bucket, Key=key)
