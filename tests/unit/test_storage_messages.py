"""What a missing S3 object is called: an upload's error speaks of uploads, a batch item's
names the object and says nothing of uploads expiring."""

from __future__ import annotations

from typing import Any

import pytest

from catbreed.errors import PhotoNotFound, UploadNotFound
from catbreed.storage import read_photo
from catbreed.uploads import Uploads


class DeniedError(Exception):
    """botocore's ClientError as S3 raises it for a key the role may not read (or that is gone)."""

    response = {"Error": {"Code": "AccessDenied"}}  # noqa: RUF012


class NothingReadable:
    def get_object(self, **_: Any) -> dict:
        raise DeniedError


def test_a_batch_item_that_cannot_be_read_names_the_object_not_an_upload() -> None:
    with pytest.raises(PhotoNotFound) as refused:
        read_photo("shelter-archive", "cats/a.jpg", 1024, NothingReadable())
    assert refused.value.status == 404
    assert "s3://shelter-archive/cats/a.jpg" in refused.value.message
    assert "expired" not in refused.value.message


def test_an_unknown_upload_says_it_may_have_expired_or_been_used() -> None:
    with pytest.raises(UploadNotFound) as refused:
        Uploads("uploads-bucket", NothingReadable()).read("uploads/" + "0" * 32)
    assert refused.value.status == 404
    assert "expired or been used" in refused.value.message
