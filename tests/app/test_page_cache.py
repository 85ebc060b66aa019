"""Whole public pages kept for anonymous visitors: hits, changes shown at once, and nothing personal
ever kept or handed to someone else. Each test runs with the pages kept in this process and in Redis."""

from __future__ import annotations

import datetime as dt
import gzip
import re
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from redis import Redis

from app import csrf_masking, pagecache
from app.catalog.models import Category, Product, Variant
from app.database import utcnow
from app.extensions import db
from app.reviews.models import RatingSubject, RatingSummary
from app.site import services as site
from app.site.models import HomeBlock, HomeBlockKind
from app.visits.models import VisitCount
from search import tasks
from search.backends import SearchBackend
from tests.factories import PASSWORD, CategoryFactory, ProductFactory, ShopFactory, UserFactory, owner_of
from tests.plugins.application import CSRF_PATTERN, Client
from tests.plugins.services import Services
from vendors.models import Closure, Shop, ShopStatus


@pytest.fixture(params=["memory", "redis"])
def page_cache(request: pytest.FixtureRequest, app: Flask, services: Services) -> Iterator[str]:
    """The page cache switched on, with a store of its own for this test."""
    prefix = f"test-pages-{uuid.uuid4().hex}"
    url = None
    if request.param == "redis":
        if not services.redis_url:
            pytest.skip("Redis is not running")
        url = services.redis_url
    saved = {
        name: app.config.get(name) for name in ("PAGE_CACHE", "PAGE_CACHE_REDIS_URL", "PAGE_CACHE_KEY_PREFIX")
    }
    app.config.update(PAGE_CACHE=True, PAGE_CACHE_REDIS_URL=url, PAGE_CACHE_KEY_PREFIX=prefix)
    try:
        yield request.param
    finally:
        app.config.update(saved)
        if url:
            connection = Redis.from_url(url)
            keys = list(connection.scan_iter(f"{prefix}:*"))
            if keys:
                connection.delete(*keys)


@pytest.fixture
def town(client: Client) -> dict[str, object]:
    category = CategoryFactory(name="Épicerie fine", slug="epicerie-fine")
    shop = ShopFactory(name="La Belle Épicerie", slug="belle-epicerie", category=category)
    product = ProductFactory(shop=shop, category=category, title="Miel de tilleul", variants=[{"stock": 5}])
    db.session.commit()
    return {"product": product.id, "shop": shop.id, "slug": shop.slug, "variant": product.variants[0].id}


def commit(app: Flask) -> None:
    """Commit as the app does, in its context (where kept pages learn of the change)."""
    with app.app_context():
        db.session.commit()


def new_client(app: Flask) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


def log_in(client: Client, email: str) -> None:
    response = client.submit("/connexion", {"email": email, "password": PASSWORD})
    assert response.status_code == 302


def add_to_cart(client: Client, product_id: int, variant_id: int, quantity: int = 1) -> None:
    response = client.submit(
        "/panier/ajouter",
        {"variant_id": variant_id, "quantity": quantity},
        form_url=f"/produits/{product_id}",
    )
    assert response.status_code == 302


def tokens(page: str) -> set[str]:
    """The visitor's token(s) in ``page``, under their masks (one mask per answer)."""
    return {str(csrf_masking.unmask(token)) for token in CSRF_PATTERN.findall(page)}


def visits_of(product_id: int) -> int:
    return int(
        db.session.scalar(sa.select(sa.func.sum(VisitCount.count)).where(VisitCount.product_id == product_id))
        or 0
    )


def test_the_second_anonymous_request_is_a_hit(app: Flask, page_cache: str, town: dict[str, object]) -> None:
    product_id = town["product"]
    pages = [
        "/",
        f"/produits/{product_id}",
        f"/boutiques/{town['slug']}",
        "/boutiques",
        "/categories/epicerie-fine",
    ]
    for url in pages:
        first, second = new_client(app).get(url), new_client(app).get(url)
        assert first.status_code == second.status_code == 200, url
        assert first.headers["X-Cache"] == "miss", url
        assert second.headers["X-Cache"] == "hit", url
        assert int(second.headers["Age"]) >= 0
        # Same page, each with its own visitor's CSRF token (or none).
        strip = lambda text: CSRF_PATTERN.sub("", text)  # noqa: E731
        assert strip(first.get_data(as_text=True)) == strip(second.get_data(as_text=True)), url
        assert "Content-Security-Policy" in second.headers, "the security headers are added on every answer"


def test_a_hit_counts_its_view_and_hands_out_a_working_token(
    app: Flask, page_cache: str, town: dict[str, object]
) -> None:
    url = f"/produits/{town['product']}"
    first, second = new_client(app), new_client(app)
    miss = first.get(url, headers={"User-Agent": "Mozilla/5.0 (Android 14; Mobile)"})
    hit = second.get(url, headers={"User-Agent": "Mozilla/5.0 (Android 14; Mobile)"})
    assert hit.headers["X-Cache"] == "hit"
    assert visits_of(int(str(town["product"]))) == 2, "a page sent from the cache is a view too"
    miss_tokens, hit_tokens = tokens(miss.get_data(as_text=True)), tokens(hit.get_data(as_text=True))
    assert len(miss_tokens) == len(hit_tokens) == 1
    assert miss_tokens != hit_tokens, "each visitor has a token of their own"
    with app.app_context():
        assert pagecache._marker().decode() not in hit.get_data(as_text=True)
    # The second visitor's token, masked as the page gives it, is accepted: their cart works.
    masked = CSRF_PATTERN.findall(hit.get_data(as_text=True))[0]
    assert masked.startswith(csrf_masking.PREFIX)
    posted = second.post(
        "/panier/ajouter",
        data={"csrf_token": masked, "variant_id": town["variant"], "quantity": 1},
    )
    assert posted.status_code == 302
    assert "Miel de tilleul" in second.get("/panier").get_data(as_text=True)


def test_a_kept_page_holds_no_token(app: Flask, page_cache: str, town: dict[str, object]) -> None:
    if page_cache != "memory":
        pytest.skip("read in the process's store")
    page = new_client(app).get(f"/produits/{town['product']}")
    token = tokens(page.get_data(as_text=True)).pop()
    store = pagecache.store(app)
    assert isinstance(store, pagecache.MemoryStore)
    assert len(store) == 1
    ((_, entry),) = store._entries.values()
    assert token.encode() not in entry
    assert str(csrf_masking.unmask(token)).encode() not in entry, "nor the token under its mask"
    with app.app_context():
        assert pagecache._marker() in entry


def test_a_price_a_stock_and_a_shop_closure_show_at_once(
    app: Flask, page_cache: str, town: dict[str, object]
) -> None:
    product_url, shop_url = f"/produits/{town['product']}", f"/boutiques/{town['slug']}"
    for url in (product_url, shop_url, product_url, shop_url):
        new_client(app).get(url)
    assert new_client(app).get(product_url).headers["X-Cache"] == "hit"

    variant = db.session.get(Variant, town["variant"])
    assert variant is not None
    variant.price_cents = 990
    commit(app)
    page = new_client(app).get(product_url)
    assert page.headers["X-Cache"] == "miss"
    assert "9,90" in page.get_data(as_text=True)
    assert "9,90" in new_client(app).get(product_url).get_data(as_text=True)

    variant = db.session.get(Variant, town["variant"])
    assert variant is not None
    variant.stock = 0
    commit(app)
    page = new_client(app).get(product_url)
    assert 'action="/panier/ajouter"' not in page.get_data(as_text=True), "sold out: no more add-to-cart"

    new_client(app).get(shop_url)
    shop = db.session.get(Shop, town["shop"])
    assert shop is not None
    tomorrow = utcnow().date() + dt.timedelta(days=1)
    db.session.add(Closure(shop=shop, starts_on=tomorrow, ends_on=tomorrow, label="Inventaire annuel"))
    commit(app)
    assert "Inventaire annuel" in new_client(app).get(shop_url).get_data(as_text=True)

    shop = db.session.get(Shop, town["shop"])
    assert shop is not None
    shop.status = ShopStatus.SUSPENDED
    commit(app)
    assert new_client(app).get(shop_url).status_code == 404
    assert new_client(app).get(product_url).status_code == 404


def test_a_product_title_change_leaves_the_home_and_category_pages(
    app: Flask, page_cache: str, town: dict[str, object]
) -> None:
    url = "/categories/epicerie-fine"
    new_client(app).get(url)
    assert new_client(app).get(url).headers["X-Cache"] == "hit"
    product = db.session.get(Product, town["product"])
    assert product is not None
    product.title = "Miel de châtaignier"
    commit(app)
    page = new_client(app).get(url)
    assert page.headers["X-Cache"] == "miss"


def test_private_rows_leave_kept_pages_alone(app: Flask, page_cache: str, town: dict[str, object]) -> None:
    url = f"/produits/{town['product']}"
    new_client(app).get(url)
    shopper = new_client(app)
    add_to_cart(shopper, int(str(town["product"])), int(str(town["variant"])))
    assert new_client(app).get(url).headers["X-Cache"] == "hit", "a cart is not on public pages"


def test_nothing_personal_is_kept_or_crosses(app: Flask, page_cache: str, town: dict[str, object]) -> None:
    product_id, variant_id = int(str(town["product"])), int(str(town["variant"]))
    url = f"/produits/{product_id}"
    UserFactory(email="alice@example.com", first_name="Alice")
    UserFactory(email="bruno@example.com", first_name="Bruno")
    owner_of(ShopFactory(name="Chez Odile"), email="odile@example.com", first_name="Odile")
    commit(app)
    people = {"alice": "Alice", "bruno": "Bruno", "odile": "Odile"}
    clients: dict[str, Client] = {}
    for quantity, name in enumerate(people, start=1):
        clients[name] = new_client(app)
        log_in(clients[name], f"{name}@example.com")
        add_to_cart(clients[name], product_id, variant_id, quantity)

    anonymous = new_client(app)
    seen: dict[str, tuple[str, set[str]]] = {}
    for _ in range(2):  # twice: a second visit is when a kept page would show
        for name, client in clients.items():
            for page_url in (url, "/", f"/boutiques/{town['slug']}"):
                response = client.get(page_url)
                assert response.status_code == 200
                assert "X-Cache" not in response.headers, "a logged-in page is never looked up nor kept"
                assert response.headers["Cache-Control"] == "private, no-store"
            page = client.get(url).get_data(as_text=True)
            seen[name] = (page, tokens(page))
        anonymous_page = anonymous.get(url)
        assert anonymous_page.headers["X-Cache"] in {"hit", "miss"}
    anonymous_text = anonymous_page.get_data(as_text=True)

    for quantity, (name, first_name) in enumerate(people.items(), start=1):
        page, own_tokens = seen[name]
        assert first_name in page
        assert f'cart-link__count" aria-label="{quantity} article' in page
        for other, other_name in people.items():
            if other != name:
                assert other_name not in page
                assert not own_tokens & seen[other][1], "no CSRF token is shared"
        assert first_name not in anonymous_text
        assert not own_tokens & tokens(anonymous_text)
    assert "cart-link__count" not in anonymous_text

    store = pagecache.store(app)
    if isinstance(store, pagecache.MemoryStore):
        assert len(store) == 1, "only the anonymous visitor's page was kept"
        ((_, entry),) = store._entries.values()
        for name, (_, own_tokens) in seen.items():
            assert people[name].encode() not in entry
            assert not any(token.encode() in entry for token in own_tokens)


def test_an_anonymous_cart_or_a_message_is_never_kept_nor_served_a_kept_page(
    app: Flask, page_cache: str, town: dict[str, object]
) -> None:
    product_id, variant_id = int(str(town["product"])), int(str(town["variant"]))
    url = f"/produits/{product_id}"
    new_client(app).get(url)  # kept
    guest = new_client(app)
    add_to_cart(guest, product_id, variant_id, 3)  # a guest's cart: a token in the session, a flash
    page = guest.get(url)
    assert "X-Cache" not in page.headers
    assert page.headers["Cache-Control"] == "private, no-store"
    assert 'aria-label="3 articles"' in page.get_data(as_text=True)
    other = new_client(app).get(url)
    assert other.headers["X-Cache"] == "hit"
    assert "cart-link__count" not in other.get_data(as_text=True)


def test_a_remember_cookie_or_another_cookie_skips_the_cache(
    app: Flask, page_cache: str, town: dict[str, object]
) -> None:
    url = f"/produits/{town['product']}"
    new_client(app).get(url)
    visitor = new_client(app)
    visitor.set_cookie("remember_token", "1|forged")
    assert "X-Cache" not in visitor.get(url).headers


def test_language_is_part_of_the_key(app: Flask, page_cache: str, town: dict[str, object]) -> None:
    url = f"/produits/{town['product']}"
    french = new_client(app).get(url, headers={"Accept-Language": "fr-FR"})
    english = new_client(app).get(url, headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert french.headers["X-Cache"] == english.headers["X-Cache"] == "miss"
    assert re.search(r'<html lang="en"', english.get_data(as_text=True))
    again = new_client(app).get(url, headers={"Accept-Language": "en-US"})
    assert again.headers["X-Cache"] == "hit"
    assert re.search(r'<html lang="en"', again.get_data(as_text=True))
    chooser = new_client(app)
    chooser.get("/langue/en?next=/")
    chosen = chooser.get(url, headers={"Accept-Language": "fr"})
    assert chosen.headers["X-Cache"] == "hit", "a chosen language is no personal data"
    assert re.search(r'<html lang="en"', chosen.get_data(as_text=True))


def test_switched_off_nothing_is_looked_up(app: Flask, town: dict[str, object]) -> None:
    assert app.config["PAGE_CACHE"] is False
    url = f"/produits/{town['product']}"
    new_client(app).get(url)
    assert "X-Cache" not in new_client(app).get(url).headers


def test_search_results_are_kept_unless_they_count_a_miss(
    app: Flask, page_cache: str, town: dict[str, object], search_index: SearchBackend
) -> None:
    for number in range(3):
        ProductFactory(title=f"Miel de lavande {number}")
    commit(app)
    with app.app_context():
        tasks.drain()
    found = "/recherche?q=miel"
    assert new_client(app).get(found).headers["X-Cache"] == "miss"
    hit = new_client(app).get(found)
    assert hit.headers["X-Cache"] == "hit"
    assert "de lavande 2" in hit.get_data(as_text=True)
    little = "/recherche?q=tilleul"  # one product: a search that found little, counted on every request
    for _ in range(2):
        assert new_client(app).get(little).headers["X-Cache"] == "miss"


def test_a_visitor_browsing_on_is_still_served_kept_pages(
    app: Flask, page_cache: str, town: dict[str, object]
) -> None:
    product_url, shop_url = f"/produits/{town['product']}", f"/boutiques/{town['slug']}"
    new_client(app).get(product_url)
    visitor = new_client(app)
    assert visitor.get(shop_url).headers["X-Cache"] == "miss"  # gives the visitor a CSRF secret
    again = visitor.get(product_url)
    assert again.headers["X-Cache"] == "hit"
    assert visitor.head(product_url).headers["X-Cache"] == "miss"
    assert visitor.head(product_url).headers["X-Cache"] == "hit"


@pytest.mark.parametrize("change", ["hours", "home block", "rating"])
def test_hours_home_blocks_and_ratings_show_at_once(
    app: Flask, page_cache: str, town: dict[str, object], change: str
) -> None:
    urls = ["/", f"/boutiques/{town['slug']}", f"/produits/{town['product']}"]
    for url in urls:
        new_client(app).get(url)
        assert new_client(app).get(url).headers["X-Cache"] == "hit"
    if change == "hours":
        shop = db.session.get(Shop, town["shop"])
        assert shop is not None
        shop.opening_hours[0].closes_at = dt.time(12, 0)
    elif change == "home block":
        db.session.add(HomeBlock(kind=next(iter(HomeBlockKind)), position=0, enabled=False))
    else:
        db.session.add(
            RatingSummary(
                subject=RatingSubject.PRODUCT,
                subject_id=town["product"],
                review_count=1,
                rating_sum=5,
                stars_5=1,
            )
        )
    commit(app)
    for url in urls:
        assert new_client(app).get(url).headers["X-Cache"] == "miss", url


def test_pages_are_kept_plain_and_compressed_on_each_answer(
    app: Flask, page_cache: str, town: dict[str, object]
) -> None:
    url = "/categories/epicerie-fine"
    plain = new_client(app).get(url)
    assert "Content-Encoding" not in plain.headers
    hit = new_client(app).get(url, headers={"Accept-Encoding": "gzip"})
    assert hit.headers["X-Cache"] == "hit"
    assert hit.headers["Content-Encoding"] == "gzip"
    unpacked = gzip.decompress(hit.get_data()).decode()
    assert CSRF_PATTERN.sub("", unpacked) == CSRF_PATTERN.sub("", plain.get_data(as_text=True))
    assert "Content-Encoding" not in new_client(app).get(url).headers


def test_the_category_menu_follows_a_change_made_by_another_process(
    app: Flask, page_cache: str, town: dict[str, object]
) -> None:
    """Each process keeps the header's category menu; with Redis, another process's change (its move of
    the shared generation) makes this one draw the menu again at once. (tests/ops/test_two_servers.py
    does it with two real servers.)"""
    if page_cache != "redis":
        pytest.skip("without Redis, other processes see a change when their copy expires")
    site.clear_caches()
    assert "Épicerie fine" in new_client(app).get("/panier").get_data(as_text=True)
    # Renamed as another process would: this one is not told (no bump, no clearing of its caches), as
    # the session's events do not see a statement run on its connection.
    db.session.connection().execute(
        sa.update(Category).where(Category.slug == "epicerie-fine").values(name="Épicerie du coin")
    )
    commit(app)
    assert "Épicerie fine" in new_client(app).get("/panier").get_data(as_text=True), "the menu is kept"
    pagecache.store(app).bump()  # the other process's commit
    page = new_client(app).get("/panier").get_data(as_text=True)
    assert "Épicerie du coin" in page
    assert "Épicerie fine" not in page
