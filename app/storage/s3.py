"""Any S3-compatible bucket (AWS S3, Scaleway, OVH, MinIO) through boto3.

This module is imported only when a bucket is configured: boto3 and botocore weigh tens of megabytes
in every process that loads them. Credentials come from boto3's own chain (``AWS_ACCESS_KEY_ID`` and
``AWS_SECRET_ACCESS_KEY``, a profile, an instance role): never from our settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from app.storage import PUBLIC_CACHE_CONTROL, MediaStorage, ObjectInfo, StorageSettings, check_key, valid_key

# Private objects: nothing between the bucket and the app keeps them.
PRIVATE_CACHE_CONTROL = "private, no-store"
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


class S3Storage(MediaStorage):
    def __init__(self, settings: StorageSettings, *, public: bool) -> None:
        assert settings.bucket is not None
        self.settings = settings
        self.bucket = settings.bucket
        self.public = public
        self._client: Any = None

    @property
    def client(self) -> Any:
        """One client per store, made on first use (after a pre-forking server has forked)."""
        if self._client is None:
            config = Config(
                retries={"max_attempts": 3, "mode": "standard"},
                s3={"addressing_style": self.settings.addressing_style or "auto"},
                signature_version="s3v4",
            )
            self._client = boto3.session.Session().client(
                "s3",
                endpoint_url=self.settings.endpoint_url,
                region_name=self.settings.region,
                config=config,
            )
        return self._client

    def _key(self, key: str) -> str:
        return f"{self.settings.prefix}/{key}" if self.settings.prefix else key

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        check_key(key)
        self.client.put_object(
            Bucket=self.bucket,
            Key=self._key(key),
            Body=data,
            ContentType=content_type,
            CacheControl=PUBLIC_CACHE_CONTROL if self.public else PRIVATE_CACHE_CONTROL,
        )

    def read(self, key: str) -> bytes | None:
        if not valid_key(key):
            return None
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if _missing(error):
                return None
            raise
        with answer["Body"] as body:
            data: bytes = body.read()
        return data

    def info(self, key: str) -> ObjectInfo | None:
        if not valid_key(key):
            return None
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as error:
            if _missing(error):
                return None
            raise
        etag = str(head.get("ETag", "")).strip('"')
        # A single-part upload's ETag is its MD5; a multipart one's has a "-<parts>" suffix.
        md5 = etag if len(etag) == 32 and "-" not in etag else None
        return ObjectInfo(size=int(head["ContentLength"]), md5=md5)

    def delete(self, key: str) -> None:
        check_key(key)
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        base = f"{self.settings.prefix}/" if self.settings.prefix else ""
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=base + prefix
        )
        for page in pages:
            for entry in page.get("Contents", []):
                yield entry["Key"][len(base) :]

    def public_url(self, key: str) -> str | None:
        if not self.public or not self.settings.public_url:
            return None
        return f"{self.settings.public_url}/{quote(key)}"

    def describe(self) -> str:
        return self.settings.describe()


def _missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in _MISSING
