"""A local S3 API for the tests: moto's server on 127.0.0.1, one per test process.

``s3_server`` yields its endpoint URL (``http://127.0.0.1:<port>``) with dummy credentials in the
environment, so that boto3 never finds real ones and nothing reaches AWS. ``create_bucket`` makes a
fresh bucket (a unique name unless one is given); ``media_bucket`` points the app's media storage at
one for the length of a test (the public photos under ``media/``, the private files under ``private/``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask

DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",  # never probe an instance role
    "AWS_CONFIG_FILE": "/dev/null",  # nor a developer's own profiles
    "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """moto's S3 (and every other service it emulates) on a free port of 127.0.0.1."""
    from moto.server import ThreadedMotoServer

    with pytest.MonkeyPatch.context() as patch:
        for name, value in DUMMY_CREDENTIALS.items():
            patch.setenv(name, value)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            yield f"http://{host}:{port}"
        finally:
            server.stop()


def s3_client(endpoint_url: str) -> Any:
    """A boto3 client on the local server (path-style: bucket names are not host names here)."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}),
    )


def create_bucket(endpoint_url: str, name: str | None = None) -> str:
    """A new, empty bucket on the local server; its name."""
    bucket = name or f"test-{uuid.uuid4().hex[:16]}"
    s3_client(endpoint_url).create_bucket(Bucket=bucket)
    return bucket


@dataclass(frozen=True)
class MediaBucket:
    endpoint_url: str
    bucket: str
    client: Any

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(entry["Key"] for page in pages for entry in page.get("Contents", []))

    def open_to_the_public(self, prefix: str = "media/") -> None:
        """The bucket policy docs/operators.md gives: anyone may read the objects under ``prefix``."""
        statement = {
            "Sid": "PublicMedia",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{self.bucket}/{prefix}*",
        }
        policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
        self.client.put_bucket_policy(Bucket=self.bucket, Policy=policy)

    def head(self, key: str) -> dict[str, Any]:
        head: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=key)
        return head


@pytest.fixture
def media_bucket(app: Flask, s3_server: str, monkeypatch: pytest.MonkeyPatch) -> MediaBucket:
    """The app's media stores in a fresh bucket for this test, served through the app's own route."""
    bucket = create_bucket(s3_server)
    monkeypatch.setitem(
        app.config, "MEDIA_STORAGE_URL", f"s3://{bucket}/media?endpoint_url={s3_server}&addressing_style=path"
    )
    monkeypatch.setitem(app.config, "PRIVATE_MEDIA_STORAGE_URL", None)
    return MediaBucket(endpoint_url=s3_server, bucket=bucket, client=s3_client(s3_server))
