"""On AWS the presigned upload URL names the bucket's own region, not S3's global endpoint."""

from __future__ import annotations

import boto3
from botocore.config import Config

from catbreed.storage import client_config


def test_the_upload_url_on_aws_is_the_buckets_regional_name() -> None:
    client = boto3.client(
        "s3",
        region_name="eu-west-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
        config=Config(**client_config(None)),
    )
    post = client.generate_presigned_post("catbreed-uploads", "uploads/" + "0" * 32, ExpiresIn=300)
    assert post["url"] == "https://catbreed-uploads.s3.eu-west-1.amazonaws.com/"


def test_an_endpoint_override_keeps_its_own_addressing() -> None:
    assert "s3" not in client_config("http://127.0.0.1:5000")
