"""The function's settings: read from the environment once, where the gateway is built."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from catbreed.download import DownloadLimits
from catbreed.model import DEFAULT_MODEL_DIR

# Where kept feedback goes without a bucket (`make run`): beside the code, ignored by git.
DEFAULT_FEEDBACK_DIR = Path(__file__).resolve().parent.parent / "feedback-local"


@dataclass(frozen=True)
class Settings:
    """Everything the deployment may change. Unset means the safe choice: no private
    network is reachable, one inference thread, no uploads."""

    model_dir: Path = DEFAULT_MODEL_DIR
    threads: int = 1
    limits: DownloadLimits = field(default_factory=DownloadLimits)
    upload_bucket: str = ""
    feedback_bucket: str = ""
    feedback_dir: Path = DEFAULT_FEEDBACK_DIR
    s3_endpoint: str = ""  # empty: AWS's own S3; tests point it at moto on 127.0.0.1

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """CATBREED_MODEL_DIR, CATBREED_THREADS, CATBREED_UPLOAD_BUCKET, CATBREED_S3_ENDPOINT,
        CATBREED_FEEDBACK_BUCKET (kept feedback under feedback/; unset: the folder
        CATBREED_FEEDBACK_DIR, default feedback-local/ beside the code), and
        CATBREED_ALLOW_NETWORKS (CIDRs, comma-separated: opens private ranges for local
        tests and demos). A malformed value stops the start, it is never ignored."""
        allowed = tuple(
            ipaddress.ip_network(cidr.strip(), strict=False)
            for cidr in env.get("CATBREED_ALLOW_NETWORKS", "").split(",")
            if cidr.strip()
        )
        return cls(
            model_dir=Path(env.get("CATBREED_MODEL_DIR") or DEFAULT_MODEL_DIR),
            threads=int(env.get("CATBREED_THREADS") or 1),
            limits=DownloadLimits(allowed_networks=allowed),
            upload_bucket=env.get("CATBREED_UPLOAD_BUCKET", "").strip(),
            feedback_bucket=env.get("CATBREED_FEEDBACK_BUCKET", "").strip(),
            feedback_dir=Path(env.get("CATBREED_FEEDBACK_DIR") or DEFAULT_FEEDBACK_DIR),
            s3_endpoint=env.get("CATBREED_S3_ENDPOINT", "").strip(),
        )
