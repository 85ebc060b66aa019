"""Where uploaded files live: a folder on this machine (the embedded default) or an S3-compatible bucket.

Two stores, each behind the same small interface (:class:`MediaStorage`):

- the *public* store holds the photos anyone may see (shops, products, reviews, collections). Its keys
  are the paths kept in the database (``products/ab/<32 hex>.webp``), written once and never changed, so
  they are served with ``Cache-Control: public, max-age=31536000, immutable``: from the bucket's public
  address when ``public_url`` is set, otherwise through the app's ``/media/<key>`` route;
- the *private* store holds what only some people may read (a dispute's evidence). It has no public
  address whatever the settings: its files are read by the views that check who asks.

``MEDIA_STORAGE_URL`` chooses the public store: unset, the folder ``MEDIA_DIR`` (the layout of every
existing install); ``s3://bucket/prefix?endpoint_url=...&region=...&public_url=...`` a bucket (AWS S3,
Scaleway, OVH, MinIO), with credentials from boto3's usual chain (``AWS_ACCESS_KEY_ID``... or a role).
``PRIVATE_MEDIA_STORAGE_URL`` chooses the private one: unset, the folder ``PRIVATE_MEDIA_DIR`` when the
public store is a folder, or the ``private/<prefix>`` of the same bucket. Settings are checked when the
app starts (:func:`init_app`), so a mistyped address stops it at once rather than at the first upload.

boto3 is imported only by the S3 store: a web worker on local storage never loads it.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, urlsplit

from flask import Flask, current_app, url_for

from config import ConfigError

__all__ = [
    "PUBLIC_CACHE_CONTROL",
    "PUBLIC_MAX_AGE",
    "MediaStorage",
    "ObjectInfo",
    "StorageSettings",
    "copy_all",
    "init_app",
    "media_storage",
    "media_url",
    "parse_storage_url",
    "private_media_storage",
    "valid_key",
]

# Keys name their content for good (random names, written once): any cache may keep them for a year.
PUBLIC_CACHE_CONTROL = "public, max-age=31536000, immutable"
PUBLIC_MAX_AGE = 60 * 60 * 24 * 365

_SETTINGS = ("MEDIA_STORAGE_URL", "PRIVATE_MEDIA_STORAGE_URL", "MEDIA_DIR", "PRIVATE_MEDIA_DIR")
_S3_OPTIONS = frozenset({"endpoint_url", "region", "public_url", "addressing_style"})


class MediaStorage(abc.ABC):
    """Files under keys: relative POSIX paths such as ``products/ab/<32 hex>.webp``.

    Reading methods answer None/False for a key that cannot name a stored file (``..``, an absolute
    path, a hidden name): such keys come from URLs. Writing methods raise ValueError for them: that is
    a programming error.
    """

    public: bool

    @abc.abstractmethod
    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        """Store ``data`` under ``key`` (public objects get the long cache header)."""

    @abc.abstractmethod
    def read(self, key: str) -> bytes | None:
        """The bytes under ``key``, or None if there is none."""

    @abc.abstractmethod
    def info(self, key: str) -> ObjectInfo | None:
        """Size and MD5 of the object under ``key`` (to tell whether a copy is the same), or None."""

    def exists(self, key: str) -> bool:
        return self.info(key) is not None

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Remove the object under ``key``; nothing to do if it is already gone."""

    @abc.abstractmethod
    def list_keys(self, prefix: str = "") -> Iterator[str]:
        """Every key starting with ``prefix`` (for migrations and for finding an image's variants)."""

    def public_url(self, key: str) -> str | None:
        """The address browsers fetch ``key`` from directly, or None to serve it through the app."""
        return None

    def local_path(self, key: str) -> Path | None:
        """The file on this machine holding ``key``, if the store is a folder (sent as is)."""
        return None

    @abc.abstractmethod
    def describe(self) -> str:
        """Where the files are, for logs, the health check and the migrate command."""


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    md5: str | None  # hex digest; None when the store cannot tell (an S3 multipart upload)


def valid_key(key: str) -> bool:
    """A plain relative POSIX path: not empty, not absolute, no '..' or '.', no hidden name, no backslash."""
    if not key or "\x00" in key or "\\" in key or key.startswith("/"):
        return False
    return all(part and not part.startswith(".") for part in key.split("/"))


def check_key(key: str) -> PurePosixPath:
    if not valid_key(key):
        raise ValueError(f"not a storage key: {key!r}")
    return PurePosixPath(key)


# -- settings -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StorageSettings:
    """One store's settings, parsed from ``s3://bucket/prefix?...`` (or a folder when ``bucket`` is None)."""

    bucket: str | None = None
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    public_url: str | None = None
    addressing_style: str | None = None
    folder: str | None = None

    def describe(self) -> str:
        if self.bucket is None:
            return f"local folder {self.folder}"
        return f"s3://{self.bucket}/{self.prefix}" + (f" at {self.endpoint_url}" if self.endpoint_url else "")


def parse_storage_url(url: str, *, setting: str = "MEDIA_STORAGE_URL") -> StorageSettings:
    """``s3://bucket/prefix?endpoint_url=...&region=...&public_url=...&addressing_style=path``; a
    ConfigError naming ``setting`` says what is wrong with anything else."""
    parts = urlsplit(url.strip())
    if parts.scheme != "s3" or not parts.netloc:
        raise ConfigError(
            f"{setting} must look like s3://bucket/prefix?endpoint_url=https://...&region=..., got {url!r}"
        )
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    unknown = sorted(set(query) - _S3_OPTIONS)
    if unknown:
        raise ConfigError(
            f"{setting}: unknown option(s) {', '.join(unknown)} (known: {', '.join(sorted(_S3_OPTIONS))})"
        )
    options = {name: values[-1].strip() or None for name, values in query.items()}
    for name in ("endpoint_url", "public_url"):
        value = options.get(name)
        if value is not None and (
            urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc
        ):
            raise ConfigError(f"{setting}: {name} must be an http(s) address, got {value!r}")
    style = options.get("addressing_style")
    if style not in (None, "path", "virtual", "auto"):
        raise ConfigError(f"{setting}: addressing_style must be path, virtual or auto, got {style!r}")
    prefix = parts.path.strip("/")
    if prefix and not valid_key(prefix):
        raise ConfigError(f"{setting}: the prefix {prefix!r} is not a plain path")
    return StorageSettings(
        bucket=parts.netloc,
        prefix=prefix,
        endpoint_url=options.get("endpoint_url"),
        region=options.get("region"),
        public_url=(options.get("public_url") or "").rstrip("/") or None,
        addressing_style=style,
    )


def _public_settings(config: Any) -> StorageSettings:
    url = config.get("MEDIA_STORAGE_URL")
    if not url:
        return StorageSettings(folder=str(config["MEDIA_DIR"]))
    return parse_storage_url(url)


def _private_settings(config: Any, public: StorageSettings) -> StorageSettings:
    """The private store: its own setting, else the public bucket's ``private/`` prefix, else a folder.

    It must never be readable through the public address: no ``public_url``, and never inside the public
    prefix (a bucket policy opening ``bucket/media/*`` must not open the evidence).
    """
    url = config.get("PRIVATE_MEDIA_STORAGE_URL")
    if url:
        private = parse_storage_url(url, setting="PRIVATE_MEDIA_STORAGE_URL")
    elif public.bucket is not None:
        private = StorageSettings(
            bucket=public.bucket,
            prefix=f"private/{public.prefix}".rstrip("/"),
            endpoint_url=public.endpoint_url,
            region=public.region,
            addressing_style=public.addressing_style,
        )
    else:
        return StorageSettings(folder=str(config["PRIVATE_MEDIA_DIR"]))
    if private.public_url:
        raise ConfigError("PRIVATE_MEDIA_STORAGE_URL must not have a public_url: its files are never public")
    if private.bucket == public.bucket and _overlaps(private.prefix, public.prefix):
        raise ConfigError(
            "MEDIA_STORAGE_URL and the private media share a bucket: give the public media a prefix "
            "(s3://bucket/media) so that the private/ prefix lies outside it, "
            "or set PRIVATE_MEDIA_STORAGE_URL"
        )
    return private


def _overlaps(one: str, other: str) -> bool:
    """Whether one prefix contains the other (the empty prefix contains everything)."""
    one_parts, other_parts = PurePosixPath(one).parts, PurePosixPath(other).parts
    shortest = min(len(one_parts), len(other_parts))
    return one_parts[:shortest] == other_parts[:shortest]


def settings(config: Any) -> tuple[StorageSettings, StorageSettings]:
    """The public and private stores' settings, checked (ConfigError when unusable)."""
    public = _public_settings(config)
    return public, _private_settings(config, public)


def _build(found: StorageSettings, *, public: bool) -> MediaStorage:
    if found.bucket is None:
        from app.storage.local import LocalStorage

        assert found.folder is not None
        return LocalStorage(Path(found.folder), public=public)
    from app.storage.s3 import S3Storage  # imports boto3: only when a bucket is configured

    return S3Storage(found, public=public)


def _stores(app: Flask) -> tuple[MediaStorage, MediaStorage]:
    """The app's two stores, rebuilt when their settings change (tests point one app at a bucket)."""
    raw = tuple(app.config.get(name) for name in _SETTINGS)  # parsed again only when one changes
    cached = app.extensions.get("media_storage")
    if cached is None or cached[0] != raw:
        public, private = settings(app.config)
        cached = (raw, (_build(public, public=True), _build(private, public=False)))
        app.extensions["media_storage"] = cached
    stores: tuple[MediaStorage, MediaStorage] = cached[1]
    return stores


def media_storage() -> MediaStorage:
    """The public store: photos anyone may see."""
    return _stores(current_app)[0]


def private_media_storage() -> MediaStorage:
    """The private store: files served only by views that check who asks."""
    return _stores(current_app)[1]


def media_url(key: str, *, external: bool = False) -> str:
    """Where a browser fetches a public photo: the bucket's public address, or the app's media route."""
    direct = media_storage().public_url(key)
    if direct is not None:
        return direct
    if external:
        from app.urls import external_url

        return external_url("site.media", path=key)
    return url_for("site.media", path=key)


def public_origin(config: Any) -> str | None:
    """``scheme://host`` of the public photos' address, for the Content-Security-Policy's img-src."""
    public = _public_settings(config)
    if not public.public_url:
        return None
    parts = urlsplit(public.public_url)
    return f"{parts.scheme}://{parts.netloc}"


# -- copying a folder into a bucket ------------------------------------------------------------------


@dataclass
class CopyReport:
    copied: int = 0
    already_there: int = 0
    bytes_copied: int = 0


def content_type(key: str) -> str:
    """What a stored file is, from its name (the names are ours: WebP photos and PDF evidence)."""
    import mimetypes

    if key.endswith(".webp"):
        return "image/webp"
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def copy_all(source: MediaStorage, destination: MediaStorage, *, dry_run: bool = False) -> CopyReport:
    """Copy every file of ``source`` that ``destination`` lacks. Safe to run again (and to stop half
    way): a key already there with the same size and MD5 is skipped, so a second run copies nothing."""
    report = CopyReport()
    for key in source.list_keys():
        wanted = source.info(key)
        if wanted is None:  # deleted since it was listed
            continue
        present = destination.info(key)
        if present is not None and _same(wanted, present):
            report.already_there += 1
            continue
        if not dry_run:
            data = source.read(key)
            if data is None:
                continue
            if present is not None:
                destination.delete(key)  # a partial or different copy from an interrupted run
            destination.put(key, data, content_type=content_type(key))
        report.copied += 1
        report.bytes_copied += wanted.size
    return report


def _same(one: ObjectInfo, other: ObjectInfo) -> bool:
    if one.size != other.size:
        return False
    return one.md5 is None or other.md5 is None or one.md5 == other.md5


def init_app(app: Flask) -> None:
    """Check the storage settings now (a bad address stops the app at start), and give templates
    ``media_url``. Nothing is contacted: a bucket that is down must not stop the web processes."""
    settings(app.config)
    app.add_template_global(media_url, "media_url")
