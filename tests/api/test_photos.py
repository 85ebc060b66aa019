"""Photos by URL: downloaded through the SSRF-safe client, with a size limit, checked as an upload."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from app.catalog.models import ProductPhoto
from app.extensions import db
from tests.api.support import World, call


def png(size: int = 400) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), (200, 120, 40)).save(buffer, "PNG")
    return buffer.getvalue()


FILES = {"/pain.png": png(), "/grand.png": b"\x89PNG" + b"0" * 300_000, "/texte.png": b"pas une image"}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = FILES.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "image/png")
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: object) -> None:
        return None


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def photos(product_id: int) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count()).select_from(ProductPhoto).where(ProductPhoto.product_id == product_id)
        )
        or 0
    )


def test_a_photo_from_a_url(client: FlaskClient, world: World, server: str) -> None:
    path = f"/products/{world.product_id}/photos"
    added = call(client, "POST", path, world.keys["full"], {"url": f"{server}/pain.png", "alt": "Le pain"})
    assert added.status_code == 201, added.get_data(as_text=True)
    assert added.json["photos"][0]["alt"] == "Le pain"
    assert added.json["photos"][0]["width"] == 400
    assert photos(world.product_id) == 1


def test_what_is_not_an_image_is_refused_by_name(
    app: Flask, client: FlaskClient, world: World, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "MAX_IMAGE_BYTES", 200_000)
    path = f"/products/{world.product_id}/photos"
    for name in ("/absente.png", "/grand.png", "/texte.png"):
        refused = call(client, "POST", path, world.keys["full"], {"url": server + name})
        assert refused.status_code == 422, (name, refused.get_data(as_text=True))
        assert refused.json["errors"][0]["field"] == "url", name
    assert photos(world.product_id) == 0


def test_private_addresses_are_refused_in_production(
    app: Flask, client: FlaskClient, world: World, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOW_PRIVATE", False)
    path = f"/products/{world.product_id}/photos"
    for url in (
        f"{server}/pain.png",
        "https://127.0.0.1/pain.png",
        "https://169.254.169.254/latest/meta-data/",
        "https://localhost/x.png",
    ):
        refused = call(client, "POST", path, world.keys["full"], {"url": url})
        assert refused.status_code == 422, url
        assert refused.json["errors"][0]["field"] == "url"
    assert photos(world.product_id) == 0
