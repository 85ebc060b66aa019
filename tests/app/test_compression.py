"""Text answers travel compressed (brotli or gzip, as the browser prefers); images, tiny answers and
browsers that ask for nothing get the bytes as they are; the streamed sitemap stays streamed."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from xml.etree import ElementTree as ET

import brotli
import pytest
from flask import Flask
from PIL import Image

from app.images import store_image
from tests.plugins.application import Client

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def decoded(data: bytes, encoding: str | None) -> bytes:
    if encoding == "gzip":
        return gzip.decompress(data)
    if encoding == "br":
        return bytes(brotli.decompress(data))
    assert encoding is None
    return data


@pytest.mark.parametrize(
    ("accepted", "encoding"), [("gzip", "gzip"), ("br", "br"), ("gzip, deflate, br", "br")]
)
def test_pages_are_compressed_as_the_browser_prefers(client: Client, accepted: str, encoding: str) -> None:
    plain = client.get("/").get_data()
    response = client.get("/", headers={"Accept-Encoding": accepted})
    assert (response.status_code, response.headers.get("Content-Encoding")) == (200, encoding)
    assert "Accept-Encoding" in response.vary
    assert int(response.headers["Content-Length"]) == len(response.get_data()) < len(plain) / 2
    page = decoded(response.get_data(), encoding).decode()
    assert page.startswith("<!doctype html>")
    assert page.rstrip().endswith("</html>")


def test_without_accept_encoding_nothing_is_compressed(client: Client) -> None:
    response = client.get("/")
    assert "Content-Encoding" not in response.headers
    assert b"</html>" in response.get_data()


def test_stylesheets_and_scripts_are_compressed(client: Client) -> None:
    for path in ("/static/css/site.css", "/static/js/site.js"):
        with client.get(path, headers={"Accept-Encoding": "br"}) as response:
            assert response.headers.get("Content-Encoding") == "br", path
            body = decoded(response.get_data(), "br")
        assert body == (Path(__file__).resolve().parents[2] / "app" / path.removeprefix("/")).read_bytes()


def test_images_are_sent_as_they_are(app: Flask, client: Client) -> None:
    picture = io.BytesIO()
    Image.new("RGB", (800, 600), "white").save(picture, "PNG")
    stored = store_image(
        io.BytesIO(picture.getvalue()),
        folder="products",
        max_bytes=10**7,
        media_dir=Path(app.config["MEDIA_DIR"]),
    )
    for path in (f"/media/{stored.path}", "/favicon.ico"):
        with client.get(path, headers={"Accept-Encoding": "gzip, br"}) as response:
            assert response.status_code == 200, path
            assert "Content-Encoding" not in response.headers, path
            assert (response.mimetype or "").startswith("image/")


def test_tiny_answers_are_not_compressed(client: Client) -> None:
    response = client.get("/robots.txt", headers={"Accept-Encoding": "gzip, br"})
    assert len(response.get_data()) < 500
    assert "Content-Encoding" not in response.headers


def test_svg_and_json_are_text_worth_compressing(app: Flask) -> None:
    assert {"image/svg+xml", "application/json", "text/css", "text/javascript"} <= set(
        app.config["COMPRESS_MIMETYPES"]
    )
    assert not {"application/pdf", "image/webp", "image/png", "image/vnd.microsoft.icon"} & set(
        app.config["COMPRESS_MIMETYPES"]
    )


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_the_streamed_sitemap_stays_streamed_and_compressed(client: Client, encoding: str) -> None:
    with client.get("/sitemap.xml", headers={"Accept-Encoding": encoding}) as response:
        assert (response.status_code, response.headers.get("Content-Encoding")) == (200, encoding)
        assert response.is_streamed
        body = decoded(response.get_data(), encoding)
    root = ET.fromstring(body)  # noqa: S314 - the app's own answer
    plain = ET.fromstring(client.get("/sitemap.xml").get_data())  # noqa: S314
    assert root.tag == plain.tag == f"{SITEMAP}urlset"
    assert [loc.text for loc in root.iter(f"{SITEMAP}loc")] == [
        loc.text for loc in plain.iter(f"{SITEMAP}loc")
    ]
