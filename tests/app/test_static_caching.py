"""Static files under addresses that change with their content, kept by browsers for a year; public
files (static, photos, favicon, robots, sitemap) never vary with the visitor's cookie, while pages that
read the session (language, cart, account) still say so."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
from flask import Flask, url_for
from PIL import Image

from app.images import store_image
from tests.factories import PASSWORD, ProductFactory, ShopFactory, UserFactory
from tests.plugins.application import Client

STATIC = Path(__file__).resolve().parents[2] / "app" / "static"
YEAR = 60 * 60 * 24 * 365


def content_hash(filename: str) -> str:
    return hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:12]


def photo(app: Flask) -> str:
    picture = io.BytesIO()
    Image.new("RGB", (400, 300), "white").save(picture, "PNG")
    stored = store_image(
        io.BytesIO(picture.getvalue()),
        folder="products",
        max_bytes=10**7,
        media_dir=Path(app.config["MEDIA_DIR"]),
    )
    return f"/media/{stored.path}"


def test_pages_link_static_files_by_their_content_hash(client: Client) -> None:
    page = client.get("/").get_data(as_text=True)
    for filename in ("css/site.css", "css/discovery.css", "js/site.js"):
        assert f'"/static/{filename}?v={content_hash(filename)}"' in page
    assert not re.search(r'"/static/[^"?]+"', page), "every static link carries its hash"


def test_url_for_static_carries_the_hash_everywhere(app: Flask) -> None:
    with app.test_request_context():
        assert url_for("static", filename="js/payment.js") == (
            f"/static/js/payment.js?v={content_hash('js/payment.js')}"
        )
        assert url_for("static", filename="nothing/here.css") == "/static/nothing/here.css"


def test_a_hashed_address_is_kept_for_a_year(client: Client) -> None:
    with client.get(f"/static/css/site.css?v={content_hash('css/site.css')}") as response:
        assert response.status_code == 200
        assert (response.cache_control.public, response.cache_control.max_age) == (True, YEAR)
        assert response.cache_control.immutable
        assert not response.cache_control.no_cache


@pytest.mark.parametrize("query", ["", "?v=0123456789ab"])
def test_without_the_current_hash_the_browser_asks_again(client: Client, query: str) -> None:
    with client.get(f"/static/css/site.css{query}") as response:
        assert response.status_code == 200
        assert response.cache_control.no_cache
        assert not response.cache_control.immutable


def test_photos_are_kept_for_a_year(app: Flask, client: Client) -> None:
    with client.get(photo(app)) as response:
        assert response.status_code == 200
        assert (response.cache_control.public, response.cache_control.max_age) == (True, YEAR)
        assert response.cache_control.immutable


def log_in(client: Client, **user: object) -> None:
    person = UserFactory(**user)
    response = client.submit("/connexion", {"email": person.email, "password": PASSWORD})
    assert response.status_code == 302


@pytest.mark.parametrize("visitor", ["anonymous", "shopper", "manager without a second factor"])
def test_public_files_never_vary_with_the_cookie(app: Flask, client: Client, visitor: str) -> None:
    media = photo(app)
    if visitor == "shopper":
        log_in(client)
    elif visitor == "manager without a second factor":
        log_in(client, manager=True)
    client.get("/langue/en")  # a session with something in it
    for path in (
        f"/static/css/site.css?v={content_hash('css/site.css')}",
        "/static/js/site.js",
        media,
        "/favicon.ico",
        "/robots.txt",
        "/sitemap.xml",
    ):
        with client.get(path, headers={"Accept-Encoding": "gzip"}) as response:
            assert response.status_code == 200, path
            assert "cookie" not in {value.lower() for value in response.vary}, path
            assert "Set-Cookie" not in response.headers, path


def test_pages_that_read_the_session_still_vary_with_the_cookie(client: Client) -> None:
    shop = ShopFactory()
    bread = ProductFactory(shop=shop, title="Pain au levain", variants=[{"price_cents": 450, "stock": 5}])
    variant_id = bread.variants[0].id
    assert "Cookie" in client.get("/").vary
    client.get("/langue/en")
    client.submit("/panier/ajouter", {"variant_id": variant_id, "quantity": 2}, form_url="/connexion")
    response = client.get("/")
    assert "Cookie" in response.vary
    page = response.get_data(as_text=True)
    assert '<html lang="en"' in page
    assert '<span class="cart-link__count" aria-label="2 items">2</span>' in page
