"""Presigned uploads: POST /uploads hands out a short-lived S3 POST for one photo under a
random `uploads/` key; POST /predict {"upload": key} reads it once and deletes it."""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from catbreed.errors import ImageTooLarge, InvalidRequest, PhotoNotFound, UnsupportedImage, UploadNotFound
from catbreed.limits import PHOTO_MAX_BYTES
from catbreed.storage import delete_photo, read_photo, s3_client

# A ticket is good for one minute: the page and the clients POST the photo as soon as they
# have it, and a ticket handed around is soon worthless.
UPLOAD_EXPIRES_S = 60
KEY_PREFIX = "uploads/"
KEY = re.compile(r"^uploads/[0-9a-f]{32}$")
IMAGE_TYPE = re.compile(r"^image/[a-z0-9][a-z0-9.+-]{0,63}$")

log = logging.getLogger("catbreed.uploads")


def check_key(key: Any) -> str:
    """An upload key as POST /uploads makes them; anything else (other prefixes, paths) is a 400."""
    if not isinstance(key, str) or not KEY.fullmatch(key):
        raise InvalidRequest("The upload must be a key from POST /uploads (uploads/ and 32 hex digits).")
    return key


def check_upload_request(payload: Any) -> tuple[str, int]:
    """The body of POST /uploads: {"content_type": "image/...", "size": bytes}."""
    if not isinstance(payload, dict):
        raise InvalidRequest("Send a JSON object with content_type and size.")
    content_type, size = payload.get("content_type"), payload.get("size")
    if not isinstance(content_type, str) or not content_type:
        raise InvalidRequest("content_type must be the photo's type, such as image/jpeg.")
    content_type = content_type.lower()  # types are case-insensitive; nothing else is loosened (docs/openapi.yaml)
    if not IMAGE_TYPE.fullmatch(content_type):
        raise UnsupportedImage(f"Only images can be uploaded, not {content_type[:80]}.")
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise InvalidRequest("size must be the photo's size in bytes, a whole number above 0.")
    if size > PHOTO_MAX_BYTES:
        raise ImageTooLarge.over(PHOTO_MAX_BYTES)
    return content_type, size


@dataclass
class Uploads:
    """Uploads into one bucket; the S3 client (of `endpoint`, empty for AWS) is made on first
    use (boto3 loads lazily)."""

    bucket: str
    client: Any = None
    endpoint: str = ""

    def _s3(self) -> Any:
        if self.client is None:
            self.client = s3_client(self.endpoint)
        return self.client

    def create(self, payload: Any) -> dict:
        """Body of POST /uploads: where and how to POST the photo, valid for a minute; S3
        takes exactly the declared size of that type and nothing else."""
        content_type, size = check_upload_request(payload)
        key = f"{KEY_PREFIX}{uuid.uuid4().hex}"
        post = self._s3().generate_presigned_post(
            Bucket=self.bucket,
            Key=key,
            Fields={"Content-Type": content_type},
            Conditions=[
                {"Content-Type": content_type},
                ["starts-with", "$Content-Type", "image/"],
                ["content-length-range", size, size],
            ],
            ExpiresIn=UPLOAD_EXPIRES_S,
        )
        return {
            "upload": key,
            "url": post["url"],
            "fields": post["fields"],
            "expires_in": UPLOAD_EXPIRES_S,
            "max_bytes": PHOTO_MAX_BYTES,
        }

    def read(self, key: str) -> bytes:
        """The uploaded photo (400 for a bad key, 404 unknown or expired, 413 too big: then deleted)."""
        key = check_key(key)
        try:
            return read_photo(self.bucket, key, PHOTO_MAX_BYTES, self._s3())
        except PhotoNotFound as exc:
            raise UploadNotFound(f"There is no upload {key!r} (it may have expired or been used already).") from exc
        except ImageTooLarge:
            self.delete(key)
            raise

    def delete(self, key: str) -> None:
        """Forget an upload once it has been answered; best effort (the bucket's lifecycle
        rule removes what is left after a day), so it never turns an answer into an error."""
        try:
            delete_photo(self.bucket, check_key(key), self._s3())
        except Exception:
            log.exception("could not delete upload %s", key)
