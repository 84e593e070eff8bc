"""The bulk path: a Step Functions Distributed Map hands the function a batch of S3 objects
(ItemReader over a prefix, ItemBatcher), and gets back one result per photo.

    in:  {"BatchInput": {"bucket": "photos", "top_k": 3}, "Items": [{"Key": "cats/a.jpg", "Size": 123}, ...]}
    out: {"results": [{"path": "s3://photos/cats/a.jpg", "predictions": [...], "is_cat": true, ...},
                      {"path": "s3://photos/cats/b.txt", "error": {"code": "unsupported_image", "message": "..."}}]}

A bad photo becomes that photo's error; it never fails the batch. A bad BatchInput (no
bucket, a top_k that POST /predict would refuse) refuses the whole batch.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from catbreed.errors import INTERNAL_ERROR_BODY, CatbreedError, InvalidRequest
from catbreed.limits import DEFAULT_TOP_K, PHOTO_MAX_BYTES
from catbreed.storage import read_photo

if TYPE_CHECKING:
    from catbreed.service import Service

Read = Callable[[str, str, int], bytes]

log = logging.getLogger("catbreed.batch")


def is_batch_event(event: Any) -> bool:
    """Whether the event is an ItemBatcher batch: {"BatchInput": {...}, "Items": [...]}."""
    return isinstance(event, dict) and isinstance(event.get("Items"), list) and isinstance(event.get("BatchInput"), dict)


def run_batch(event: dict, service: Service, read: Read = read_photo) -> dict:
    """Classify every photo of the batch with the service, as POST /predict would."""
    batch_input = event["BatchInput"]
    bucket = batch_input.get("bucket")
    if not isinstance(bucket, str) or not bucket:
        raise InvalidRequest("BatchInput.bucket must name the bucket the items were listed from.")
    top_k = service.check_top_k(batch_input.get("top_k", DEFAULT_TOP_K))
    results = []
    for item in event["Items"]:
        key = item.get("Key") if isinstance(item, dict) else None
        if isinstance(key, str) and key.endswith("/"):
            continue  # a "folder" placeholder, not a photo
        results.append({"path": f"s3://{bucket}/{key}", **_one(bucket, key, top_k, service, read)})
    return {"results": results}


def _one(bucket: str, key: Any, top_k: int, service: Service, read: Read) -> dict:
    """The answer for one photo, or its error body."""
    try:
        if not isinstance(key, str) or not key:
            raise InvalidRequest("The item has no S3 Key.")
        return service.predict_stored(read(bucket, key, PHOTO_MAX_BYTES), top_k).body
    except CatbreedError as exc:
        return exc.to_body()
    except Exception:
        log.exception("batch item failed: %s", key)
        return dict(INTERNAL_ERROR_BODY)
