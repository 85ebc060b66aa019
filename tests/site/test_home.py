"""The home page's blocks: each shows what it should, hides itself when empty, costs a bounded number
of queries whatever the size of the catalogue."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from flask import Flask

from app import csrf_masking
from app.catalog.models import Product, ProductStatus
from app.database import utcnow
from app.extensions import db
from app.reviews.models import RatingSubject, RatingSummary
from app.site import services as site
from app.site import views as site_views
from app.site.models import Collection, CollectionItem, CollectionKind, HomeBlock, HomeBlockKind
from tests.factories import PASSWORD, CategoryFactory, ProductFactory, ShopFactory, UserFactory
from tests.plugins.application import Client
from tests.reviews.support import place
from tests.site.support import block, count_queries, fresh_home, product_titles, shop_names
from vendors.hours import TOWN_TZ
from vendors.models import ShopStatus


def next_day_at(weekday: int, hour: int) -> dt.datetime:
    """The coming ``weekday`` (0 is Monday) at ``hour`` on the town's clock, within the next week."""
    today = utcnow().astimezone(TOWN_TZ).date()
    day = today + dt.timedelta(days=(weekday - today.weekday()) % 7 or 7)
    return dt.datetime.combine(day, dt.time(hour), tzinfo=TOWN_TZ).astimezone(dt.UTC)


@pytest.fixture
def open_hours(monkeypatch: pytest.MonkeyPatch) -> dt.datetime:
    """The home page's clock on a Wednesday at 11:00: the factories' shops (Tuesday to Sunday) are open."""
    moment = next_day_at(2, 11)
    monkeypatch.setattr(site_views, "utcnow", lambda: moment)
    return moment


@pytest.fixture
def monday(monkeypatch: pytest.MonkeyPatch) -> dt.datetime:
    moment = next_day_at(0, 11)
    monkeypatch.setattr(site_views, "utcnow", lambda: moment)
    return moment


def rating(subject: RatingSubject, subject_id: int, stars: int, count: int = 2) -> None:
    db.session.add(
        RatingSummary(
            subject=subject,
            subject_id=subject_id,
            review_count=count,
            rating_sum=stars * count,
            **{f"stars_{n}": (count if n == stars else 0) for n in range(1, 6)},
        )
    )


def test_an_empty_town_shows_no_empty_block(client: Client) -> None:
    page = fresh_home(client)
    for kind in HomeBlockKind:
        assert block(page, kind.value) is None, kind
    assert "Les commerces de Bellerive" in page


def test_each_block_shows_what_it_should(client: Client, open_hours: dt.datetime) -> None:
    flowers = CategoryFactory(slug="fleurs", name="Fleurs")
    CategoryFactory(slug="bouquets", name="Bouquets", parent=flowers)
    shop = ShopFactory(name="Au Bouquet", category=flowers)
    ProductFactory(shop=shop, category=flowers, title="Rose rouge")
    old = ProductFactory(shop=shop, category=flowers, title="Pivoine")
    old.created_at = utcnow() - dt.timedelta(days=20)
    place(UserFactory(), [old])
    rating(RatingSubject.PRODUCT, old.id, 5)
    rating(RatingSubject.SHOP, shop.id, 4)
    db.session.commit()

    page = fresh_home(client)
    categories = block(page, "categories")
    assert categories is not None
    assert 'href="/categories/fleurs"' in categories
    assert "Bouquets" in categories
    assert product_titles(block(page, "new_products") or "") == ["Rose rouge"]
    assert product_titles(block(page, "popular") or "") == ["Pivoine"]
    assert product_titles(block(page, "best_products") or "") == ["Pivoine"]
    assert shop_names(block(page, "best_shops") or "") == ["Au Bouquet"]
    assert shop_names(block(page, "open_now") or "") == ["Au Bouquet"]


def test_open_now_hides_itself_when_every_shop_is_closed(client: Client, monday: dt.datetime) -> None:
    ShopFactory(name="Au Bouquet")
    db.session.commit()
    assert block(fresh_home(client), "open_now") is None


def test_open_now_puts_the_nearest_shop_first(client: Client, open_hours: dt.datetime) -> None:
    ShopFactory(name="Loin", latitude=47.40, longitude=0.70)
    ShopFactory(name="Près", latitude=47.3923, longitude=0.6766)
    db.session.commit()
    assert shop_names(block(fresh_home(client), "open_now") or "") == ["Loin", "Près"]  # by name
    near = fresh_home(client, "/?lat=47.39229&lon=0.67658")
    assert shop_names(block(near, "open_now") or "") == ["Près", "Loin"]
    assert "Nous ne connaissons pas" in fresh_home(client, "/?depuis=rue+introuvable")


def test_offline_things_leave_every_block(client: Client, open_hours: dt.datetime) -> None:
    shop = ShopFactory(name="Suspendue")
    product = ProductFactory(shop=shop, title="Caché")
    archived = ProductFactory(title="Archivé")
    place(UserFactory(), [product])
    place(UserFactory(), [archived])
    rating(RatingSubject.PRODUCT, product.id, 5)
    rating(RatingSubject.SHOP, shop.id, 5)
    collection = Collection(slug="noel", title="Noël", kind=CollectionKind.PRODUCTS)
    collection.items = [CollectionItem(product_id=product.id), CollectionItem(product_id=archived.id)]
    db.session.add(collection)
    shop.status = ShopStatus.SUSPENDED
    archived.status = ProductStatus.ARCHIVED
    db.session.commit()

    page = fresh_home(client)
    assert "Caché" not in page
    assert "Archivé" not in page
    assert "Suspendue" not in page
    assert block(page, "collections") is None
    assert client.get("/collections/noel").status_code == 404


def test_a_block_the_manager_turned_off_is_not_shown(client: Client) -> None:
    CategoryFactory(slug="fleurs", name="Fleurs")
    db.session.add(HomeBlock(kind=HomeBlockKind.CATEGORIES, position=0, enabled=False))
    db.session.commit()
    assert block(fresh_home(client), "categories") is None


def _catalogue(size: int, name: str) -> None:
    root = CategoryFactory()
    for number in range(size):
        child = CategoryFactory(parent=root)
        shop = ShopFactory(category=child)
        products = [ProductFactory(shop=shop, category=child) for _ in range(3)]
        place(UserFactory(), products)
        rating(RatingSubject.PRODUCT, products[0].id, 1 + number % 5)
        rating(RatingSubject.SHOP, shop.id, 1 + number % 5)
        collection = Collection(slug=f"{name}-{number}", title=f"Sélection {number}")
        collection.items = [CollectionItem(product_id=product.id) for product in products]
        db.session.add(collection)
    db.session.commit()


def test_the_home_page_costs_the_same_queries_for_a_small_and_a_larger_catalogue(
    app: Flask, client: Client, open_hours: dt.datetime
) -> None:
    _catalogue(2, "petit")
    with count_queries() as small:
        fresh_home(client)
    _catalogue(12, "grand")
    with count_queries() as large:
        page = fresh_home(client)
    assert len(product_titles(block(page, "new_products") or "")) == 8  # the block is full
    assert len(large) == len(small), "\n".join(large)
    # Served again within a minute: the shared blocks come from the cache.
    with count_queries() as cached:
        assert client.get("/").status_code == 200
    assert len(cached) < len(large)


def test_a_product_archived_leaves_the_cached_home_page_at_once(client: Client) -> None:
    product_id = ProductFactory(title="Bientôt retiré").id
    db.session.commit()
    assert "Bientôt retiré" in (block(fresh_home(client), "new_products") or "")
    product = db.session.get(Product, product_id)
    assert product is not None
    product.status = ProductStatus.ARCHIVED
    db.session.commit()
    assert "Bientôt retiré" not in client.get("/").get_data(as_text=True)


def test_no_visitor_gets_another_ones_form_token_from_the_cache(app: Flask, client: Client) -> None:
    """The blocks' choice is cached, never their HTML: each card's form carries this visitor's token."""
    ProductFactory(title="Rose rouge")
    for email in ("a@example.com", "b@example.com"):
        UserFactory(email=email)
    db.session.commit()
    site.clear_caches()
    tokens = []
    for email, visitor in (("a@example.com", client), ("b@example.com", app.test_client())):
        visitor.submit("/connexion", {"email": email, "password": PASSWORD})  # type: ignore[attr-defined]
        page = visitor.get("/").get_data(as_text=True)
        assert "Rose rouge" in (block(page, "new_products") or "")
        masked = re.findall(r'name="csrf_token" value="([^"]+)"', page)
        tokens.append({csrf_masking.unmask(token) for token in masked})
    assert len(tokens[0]) == 1
    assert len(tokens[1]) == 1
    assert tokens[0] != tokens[1]


def test_the_menu_speaks_the_visitors_language(client: Client) -> None:
    CategoryFactory(slug="fleurs", name="Fleurs", name_en="Flowers")
    db.session.commit()
    site.clear_caches()
    assert 'href="/categories/fleurs">Fleurs</a>' in client.get("/").get_data(as_text=True)
    client.get("/langue/en")
    assert 'href="/categories/fleurs">Flowers</a>' in client.get("/").get_data(as_text=True)
