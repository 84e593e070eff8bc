"""Where kept feedback lives: named objects (`<id>/record.json`, `<id>/photo.jpg`) in a folder
(`make run`) or under `feedback/` in the stack's private upload bucket (AWS). Both stores
answer None for a name they do not hold; nothing else about them differs for the caller.

In the bucket every object is written tagged `review=pending`; the bucket's lifecycle deletes
those after FeedbackUnreviewedDays (template.yaml), and a person's review (the export script's
--reviewed) tags the photos kept for training `review=done`, which last FeedbackRetentionDays.
The folder keeps everything until it is deleted by hand."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from catbreed.errors import PhotoNotFound
from catbreed.storage import delete_photo, read_photo, s3_client

BUCKET_PREFIX = "feedback/"
REVIEW_TAG = "review"
PENDING, REVIEWED = "pending", "done"


class FeedbackStore(Protocol):
    """Put, get and delete named objects; list names (the export script, never the function)."""

    def put(self, name: str, data: bytes, content_type: str) -> None: ...

    def get(self, name: str, max_bytes: int) -> bytes | None: ...

    def delete(self, name: str) -> None: ...

    def names(self) -> Iterator[str]: ...

    def mark_reviewed(self, name: str) -> None: ...


@dataclass
class FolderStore:
    """Objects as files under `root` (created on first write)."""

    root: Path

    def _path(self, name: str) -> Path:
        """The file of `name`; a name that would leave the root (`..`, absolute, a link out) is refused."""
        path = self.root / name
        if not path.resolve().is_relative_to(self.root.resolve()) or path.resolve() == self.root.resolve():
            raise ValueError(f"{name!r} is not a name inside the feedback folder")
        return path

    def put(self, name: str, data: bytes, content_type: str) -> None:
        """Write whole or not at all (a temporary file renamed into place)."""
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)

    def get(self, name: str, max_bytes: int) -> bytes | None:
        path = self._path(name)
        if not path.is_file() or path.stat().st_size > max_bytes:
            return None
        return path.read_bytes()

    def delete(self, name: str) -> None:
        """Remove the file, and its folder once empty (absent is fine)."""
        path = self._path(name)
        path.unlink(missing_ok=True)
        if path.parent != self.root and path.parent.is_dir() and not any(path.parent.iterdir()):
            path.parent.rmdir()

    def names(self) -> Iterator[str]:
        if self.root.is_dir():
            for path in sorted(self.root.rglob("*")):
                if path.is_file():
                    yield path.relative_to(self.root).as_posix()

    def mark_reviewed(self, name: str) -> None:
        """Nothing to do: a folder keeps everything until it is deleted by hand."""
        self._path(name)


@dataclass
class BucketStore:
    """Objects under feedback/ of an S3 bucket (encrypted by the bucket's default); `client`
    defaults to the process's S3 client, made on first use."""

    bucket: str
    client: Any = None
    endpoint: str = ""  # empty: AWS's own S3 (Settings.s3_endpoint)

    def _s3(self) -> Any:
        self.client = self.client or s3_client(self.endpoint)
        return self.client

    def put(self, name: str, data: bytes, content_type: str) -> None:
        self._s3().put_object(
            Bucket=self.bucket, Key=BUCKET_PREFIX + name, Body=data, ContentType=content_type, Tagging=f"{REVIEW_TAG}={PENDING}"
        )

    def get(self, name: str, max_bytes: int) -> bytes | None:
        try:
            return read_photo(self.bucket, BUCKET_PREFIX + name, max_bytes, self._s3())
        except PhotoNotFound:
            return None

    def delete(self, name: str) -> None:
        delete_photo(self.bucket, BUCKET_PREFIX + name, self._s3())

    def names(self) -> Iterator[str]:
        """Every name under feedback/ (needs s3:ListBucket, which the function has not)."""
        pages = self._s3().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=BUCKET_PREFIX)
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"].removeprefix(BUCKET_PREFIX)

    def mark_reviewed(self, name: str) -> None:
        """Tag the object `review=done`: it is kept FeedbackRetentionDays, not FeedbackUnreviewedDays."""
        tags = {"TagSet": [{"Key": REVIEW_TAG, "Value": REVIEWED}]}
        self._s3().put_object_tagging(Bucket=self.bucket, Key=BUCKET_PREFIX + name, Tagging=tags)
