"""A real HTTP S3 (and Step Functions) API on 127.0.0.1 for the tests: moto's server, with
fake credentials so boto3 never looks further than the environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """Base URL of moto's server on a free 127.0.0.1 port; CATBREED_S3_ENDPOINT points at it."""
    from moto.server import ThreadedMotoServer

    from catbreed.storage import s3_client

    with pytest.MonkeyPatch.context() as patch:
        for name, value in FAKE_AWS.items():
            patch.setenv(name, value)
        patch.delenv("AWS_PROFILE", raising=False)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        patch.setenv("CATBREED_S3_ENDPOINT", endpoint)
        s3_client.cache_clear()
        try:
            yield endpoint
        finally:
            s3_client.cache_clear()
            server.stop()


def client(endpoint: str, service: str = "s3") -> Any:
    """A boto3 client for moto's server."""
    import boto3

    return boto3.client(service, endpoint_url=endpoint, region_name="us-east-1")
