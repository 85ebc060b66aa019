"""How files and pages travel: compressed text, static files under content-hashed URLs kept for a year,
and public files answered without reading the visitor's session.

Static files: every ``url_for("static", filename=...)`` carries ``?v=<hash of the file's bytes>``, so a
changed file has a new address and browsers may keep each address for a year without asking again
(``Cache-Control: public, max-age=31536000, immutable``). A request without the current hash (an old
page, a hand-typed address) gets the file with ``no-cache``, as before. Hashes are computed once per
process (again when a file changes, in debug mode).

Compression (Flask-Compress): brotli or gzip, whichever the browser prefers, for text answers of 500
bytes or more (HTML, CSS, JavaScript, JSON, XML, SVG, CSV, plain text); never images, PDFs or archives.
Streamed answers (the sitemap) are compressed chunk by chunk and stay streamed.

Flask adds ``Vary: Cookie`` to any answer whose session was touched, even by a hook that only looks
(Flask-Login checks every answer for a pending "remember me"). :data:`PUBLIC_FILE_ENDPOINTS` answer the
same to everyone: the two-factor gate does not look at who asks (``app/accounts/auth.py``), and
:class:`SessionInterface` neither adds ``Vary: Cookie`` nor sends the cookie again for them, so shared
caches and browsers keep one copy for all.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from flask import Flask, current_app, request
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from flask.wrappers import Response

from app.extensions import compress

STATIC_MAX_AGE = 60 * 60 * 24 * 365  # a year: a hashed address never changes its content
VERSION_ARG = "v"
HASH_LENGTH = 12  # hex digits of SHA-256: ample to tell two versions of one file apart

# Files that are the same for every visitor: nothing reads the session (no Vary: Cookie, no Set-Cookie).
PUBLIC_FILE_ENDPOINTS = frozenset(
    {"static", "site.media", "site.favicon", "seo.robots", "seo.sitemap", "seo.sitemap_part"}
)

COMPRESSED_MIMETYPES = [
    "text/html",
    "text/css",
    "text/plain",
    "text/csv",
    "text/xml",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/ld+json",
    "application/manifest+json",
    "application/xml",
    "application/xhtml+xml",
    "application/rss+xml",
    "application/atom+xml",
    "image/svg+xml",
]
# Answers left uncompressed whatever the client accepts: Prometheus scrapes from next door every few
# seconds, and compressing each scrape would cost the worker more than it saves on the wire.
UNCOMPRESSED_ENDPOINTS = frozenset({"metrics"})
COMPRESSION_DEFAULTS: dict[str, Any] = {
    "COMPRESS_MIMETYPES": COMPRESSED_MIMETYPES,
    "COMPRESS_ALGORITHM": ["br", "gzip"],
    "COMPRESS_ALGORITHM_STREAMING": ["br", "gzip"],
    "COMPRESS_MIN_SIZE": 500,  # below, the headers outweigh the gain
    "COMPRESS_BR_LEVEL": 4,  # fast enough for every page; static files are fetched once a year
    "COMPRESS_LEVEL": 6,
    "COMPRESS_REGISTER": False,  # registered by init_app, which also closes what a compressed stream wraps
}


def init_app(app: Flask) -> None:
    """Compression, and hashed, long-cached static URLs. Call before any ``after_request`` hook that
    must see answers uncompressed (Flask runs those hooks last-registered first)."""
    for key, value in COMPRESSION_DEFAULTS.items():
        app.config.setdefault(key, value)
    compress.init_app(app)
    app.after_request(_compress)
    app.session_interface = SessionInterface()
    app.extensions["static_versions"] = {}
    app.url_defaults(_version_static_urls)
    serve_static = app.view_functions["static"]

    def static(filename: str) -> Response:
        response = serve_static(filename=filename)
        assert isinstance(response, Response)
        version = static_version(filename)
        if response.status_code in (200, 304) and version and request.args.get(VERSION_ARG) == version:
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = STATIC_MAX_AGE
            response.cache_control.immutable = True
        return response

    app.view_functions["static"] = static


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, except that public files never say ``Vary: Cookie`` nor refresh
    the cookie: they are the same for everyone (a session changed by them is still saved; an error page,
    in the visitor's language, still varies)."""

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if request.endpoint in PUBLIC_FILE_ENDPOINTS and response.status_code < 400 and not session.modified:
            return
        super().save_session(app, session, response)


def _compress(response: Response) -> Response:
    """Flask-Compress, and the file a compressed stream reads closed with the answer (Flask-Compress
    replaces the answer's body with a generator, which would otherwise leave it to the garbage
    collector)."""
    if response.status_code == 206:  # a byte range of the file as it is stored
        return response
    if request.endpoint in UNCOMPRESSED_ENDPOINTS:
        return response
    body = response.response
    compressed = compress.after_request(response)
    if compressed.response is not body and hasattr(body, "close"):
        compressed.call_on_close(body.close)
    return compressed


def static_version(filename: str) -> str | None:
    """The hash of a static file's bytes (the first 12 hex digits of its SHA-256), or None when there
    is no such file. Read once per process; again when the file changed, in debug mode."""
    versions: dict[str, tuple[int, str | None]] = current_app.extensions["static_versions"]
    known = versions.get(filename)
    if known is not None and not current_app.debug:
        return known[1]
    assert current_app.static_folder is not None
    root = Path(current_app.static_folder).resolve()
    path = (root / filename).resolve()
    try:
        if not path.is_relative_to(root):
            raise FileNotFoundError(filename)
        modified = path.stat().st_mtime_ns
        if known is not None and known[0] == modified:
            return known[1]
        digest: str | None = hashlib.sha256(path.read_bytes()).hexdigest()[:HASH_LENGTH]
    except OSError:  # missing, a folder, unreadable
        modified, digest = 0, None
    versions[filename] = (modified, digest)
    return digest


def _version_static_urls(endpoint: str, values: dict[str, Any]) -> None:
    if endpoint != "static" or VERSION_ARG in values or "filename" not in values:
        return
    version = static_version(str(values["filename"]))
    if version is not None:
        values[VERSION_ARG] = version
