"""The settings: read from the environment once, safe when unset, refused when malformed,
and what the gateway is built from."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from catbreed.app import create_gateway
from catbreed.download import DownloadLimits
from catbreed.model import DEFAULT_MODEL_DIR
from catbreed.settings import Settings


def test_unset_means_the_safe_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings(model_dir=DEFAULT_MODEL_DIR, threads=1, limits=DownloadLimits(), upload_bucket="")
    assert settings.limits.allowed_networks == ()


def test_every_variable_is_read() -> None:
    env = {
        "CATBREED_MODEL_DIR": "/opt/model",
        "CATBREED_THREADS": "2",
        "CATBREED_ALLOW_NETWORKS": " 127.0.0.1/32 , fd00::/8,",
        "CATBREED_UPLOAD_BUCKET": " photos-bucket ",
        "CATBREED_S3_ENDPOINT": "http://127.0.0.1:5000",
    }
    settings = Settings.from_env(env)
    assert settings.model_dir == Path("/opt/model") and settings.threads == 2
    assert settings.limits.allowed_networks == (ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("fd00::/8"))
    assert settings.limits == DownloadLimits(allowed_networks=settings.limits.allowed_networks)  # only the networks change
    assert settings.upload_bucket == "photos-bucket" and settings.s3_endpoint == "http://127.0.0.1:5000"


@pytest.mark.parametrize(("name", "value"), [("CATBREED_THREADS", "two"), ("CATBREED_ALLOW_NETWORKS", "10.0.0.0/33")])
def test_a_malformed_value_stops_the_start(name: str, value: str) -> None:
    with pytest.raises(ValueError):
        Settings.from_env({name: value})


def test_the_gateway_is_built_from_the_settings(classifier) -> None:
    settings = Settings.from_env({"CATBREED_ALLOW_NETWORKS": "127.0.0.1/32", "CATBREED_UPLOAD_BUCKET": "photos-bucket"})
    service = create_gateway(settings).service
    assert service.limits is settings.limits
    assert service.uploads.bucket == "photos-bucket" and service.uploads.endpoint == ""
    assert create_gateway(Settings(upload_bucket="b", s3_endpoint="http://127.0.0.1:5000")).service.uploads.endpoint == (
        "http://127.0.0.1:5000"
    )
    assert service.classifier.breeds == classifier.breeds
    assert create_gateway(Settings()).service.uploads is None  # no bucket: no uploads


def test_feedback_goes_to_the_bucket_when_named_else_to_a_folder_beside_the_code() -> None:
    from catbreed.settings import DEFAULT_FEEDBACK_DIR

    assert Settings.from_env({}).feedback_bucket == "" and DEFAULT_FEEDBACK_DIR.name == "feedback-local"
    assert Settings.from_env({}).feedback_dir == DEFAULT_FEEDBACK_DIR == DEFAULT_MODEL_DIR.parent / "feedback-local"
    settings = Settings.from_env({"CATBREED_FEEDBACK_BUCKET": " stack-uploads ", "CATBREED_FEEDBACK_DIR": "/srv/fb"})
    assert (settings.feedback_bucket, settings.feedback_dir) == ("stack-uploads", Path("/srv/fb"))


def test_the_gateway_keeps_feedback_where_the_settings_say(tmp_path: Path) -> None:
    from catbreed.feedback_store import BucketStore, FolderStore

    assert create_gateway(Settings(feedback_dir=tmp_path)).service.feedback.store == FolderStore(tmp_path)
    assert create_gateway(Settings(feedback_bucket="stack-uploads")).service.feedback.store == BucketStore("stack-uploads")
