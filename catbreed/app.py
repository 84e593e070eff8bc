"""Build the gateway from the environment, once per process."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

from catbreed.download import DownloadLimits
from catbreed.gateway import Gateway
from catbreed.model import DEFAULT_MODEL_DIR, Classifier
from catbreed.service import Service
from catbreed.uploads import Uploads


def limits_from_env() -> DownloadLimits:
    """Download limits; CATBREED_ALLOW_NETWORKS (CIDRs, comma-separated) opens private
    ranges for local tests and demos. It is empty unless set explicitly."""
    allowed = tuple(
        ipaddress.ip_network(cidr.strip(), strict=False)
        for cidr in os.environ.get("CATBREED_ALLOW_NETWORKS", "").split(",")
        if cidr.strip()
    )
    return DownloadLimits(allowed_networks=allowed)


def create_gateway(model_dir: Path | str | None = None) -> Gateway:
    """The Lambda handler's gateway: the model in CATBREED_MODEL_DIR (default: model/)."""
    directory = model_dir or os.environ.get("CATBREED_MODEL_DIR") or DEFAULT_MODEL_DIR
    return Gateway(Service(Classifier(directory), limits_from_env(), uploads=uploads_from_env()))


def uploads_from_env() -> Uploads | None:
    """Presigned uploads into CATBREED_UPLOAD_BUCKET; None (POST /uploads is a 404) when unset."""
    bucket = os.environ.get("CATBREED_UPLOAD_BUCKET", "").strip()
    return Uploads(bucket) if bucket else None
