"""Product cards read as plain rows: the same facts a ``Product`` gives the card, in one statement."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from flask import Flask

from app import pagecache
from app.catalog.cards import Card, card_list, cards, sold_as
from app.catalog.models import Product, ProductPhoto, ProductStatus, Variant
from app.extensions import db
from tests.factories import ProductFactory, ShopFactory
from tests.plugins.application import Client
from tests.site.support import count_queries
from vendors.models import ShopStatus


def photo(product: Product, path: str, position: int, alt: str = "") -> ProductPhoto:
    found = ProductPhoto(
        path=path, thumbnails={"card": f"card-{path}"}, width=10, height=10, alt=alt, position=position
    )
    product.photos.append(found)
    return found


def the_card_reads_what_the_product_says(card: Card, product: Product) -> None:
    assert (card.id, card.title, card.price_range, card.in_stock) == (
        product.id,
        product.title,
        product.price_range,
        product.in_stock,
    )
    assert (card.shop.id, card.shop.slug, card.shop.name) == (
        product.shop.id,
        product.shop.slug,
        product.shop.name,
    )
    assert (card.shop.latitude, card.shop.longitude) == (product.shop.latitude, product.shop.longitude)
    if product.main_photo is None:
        assert card.main_photo is None
    else:
        assert card.main_photo is not None
        assert (card.main_photo.path, card.main_photo.alt, card.main_photo.thumbnails) == (
            product.main_photo.path,
            product.main_photo.alt,
            product.main_photo.thumbnails,
        )


def test_a_card_holds_what_the_products_card_shows(db_session: object) -> None:
    shop = ShopFactory(name="La Boussole")
    several = ProductFactory(
        shop=shop,
        title="Carnet",
        variants=[
            {"price_cents": 900, "stock": 0},
            {"price_cents": 1500, "stock": 3},
            {"price_cents": 450, "stock": 0},
        ],
    )
    sold_out = ProductFactory(shop=shop, title="Agenda", variants=[{"price_cents": 2000, "stock": 0}])
    bare = ProductFactory(shop=shop, title="Sans variante", variants=[])
    # The first photo is the first in the shop's order, whatever the order they were added in.
    photo(several, "b.jpg", position=1)
    photo(several, "a.jpg", position=0, alt="Le carnet ouvert")
    db.session.commit()
    db.session.expire_all()

    found = cards([several.id, sold_out.id, bare.id, 999_999])

    assert set(found) == {several.id, sold_out.id, bare.id}
    for product in (several, sold_out, bare):
        the_card_reads_what_the_product_says(found[product.id], product)
    assert found[several.id].price_range == (450, 1500)
    assert found[several.id].in_stock
    assert found[several.id].main_photo is not None
    assert found[several.id].main_photo.path == "a.jpg"
    assert found[several.id].main_photo.thumbnails == {"card": "card-a.jpg"}
    assert not found[sold_out.id].in_stock
    assert found[bare.id].price_range is None
    assert not found[bare.id].in_stock
    assert found[bare.id].main_photo is None
    # Cards of one shop share its row.
    assert found[several.id].shop is found[sold_out.id].shop


def test_only_online_keeps_what_shoppers_may_see_in_the_order_asked(db_session: object) -> None:
    shop = ShopFactory()
    first = ProductFactory(shop=shop)
    second = ProductFactory(shop=shop)
    draft = ProductFactory(shop=shop, draft=True)
    archived = ProductFactory(shop=shop, archived=True)
    no_variant = ProductFactory(shop=shop, variants=[])
    suspended = ProductFactory(shop=ShopFactory(status=ShopStatus.SUSPENDED))
    hidden = ProductFactory(shop=ShopFactory(billing_hidden_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC)))
    db.session.commit()
    asked = [second.id, draft.id, archived.id, no_variant.id, suspended.id, hidden.id, first.id]

    assert [card.id for card in card_list(asked, only_online=True)] == [second.id, first.id]
    assert [card.id for card in card_list(asked)] == asked
    assert card_list([]) == []


def test_one_statement_whatever_the_number_of_cards(db_session: object) -> None:
    shops = [ShopFactory() for _ in range(3)]
    products = [ProductFactory(shop=shops[index % 3], variants=[{}, {}]) for index in range(12)]
    for product in products:
        photo(product, f"{product.id}.jpg", position=0)
    db.session.commit()
    ids = [product.id for product in products]

    with count_queries() as few:
        assert len(cards(ids[:2])) == 2
    with count_queries() as many:
        assert len(cards(ids)) == 12
    assert len(many) == len(few) == 1


HEART = re.compile(r'<form method="post" action="/favoris/produits/(\d+)".*?</form>', re.S)


def test_a_grid_draws_each_heart_for_its_product_and_the_visitors_choice(client: Client) -> None:
    shop = ShopFactory(slug="la-boussole")
    saved_id = ProductFactory(shop=shop, title="Carnet").id
    other_id = ProductFactory(shop=shop, title="Agenda").id
    response = client.submit(f"/favoris/produits/{saved_id}", {"next": "/"}, form_url=f"/produits/{saved_id}")
    assert response.status_code == 302
    page = client.get("/boutiques/la-boussole").get_data(as_text=True)
    hearts = {
        int(product_id): form.group(0) for form in HEART.finditer(page) for product_id in [form.group(1)]
    }
    assert set(hearts) == {saved_id, other_id}
    assert 'aria-pressed="true"' in hearts[saved_id]
    assert 'name="action" value="retirer"' in hearts[saved_id]
    assert f'data-testid="save-{saved_id}"' in hearts[saved_id]
    assert 'aria-pressed="false"' in hearts[other_id]
    assert f'data-testid="save-{other_id}"' in hearts[other_id]
    assert all('name="csrf_token" value="' in heart for heart in hearts.values())


def test_a_card_shows_a_new_price_and_its_language_at_once(app: Flask, client: Client) -> None:
    product = ProductFactory(
        shop=ShopFactory(slug="la-boussole"), variants=[{"price_cents": 1250, "stock": 0}]
    )
    variant_id = product.variants[0].id
    db.session.commit()
    grid = client.get("/boutiques/la-boussole").get_data(as_text=True)
    assert "12,50" in grid
    assert "épuisé" in grid
    with app.app_context():  # as the back office would, in a request
        db.session.execute(
            sa.update(Variant).where(Variant.id == variant_id).values(price_cents=990, stock=4)
        )
        db.session.commit()
    grid = client.get("/boutiques/la-boussole").get_data(as_text=True)
    assert "9,90" in grid
    assert "12,50" not in grid
    assert "épuisé" not in grid
    with app.app_context():
        db.session.execute(sa.update(Variant).where(Variant.id == variant_id).values(stock=0))
        db.session.commit()
    english = client.get("/boutiques/la-boussole", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "€9.90" in english
    assert "sold out" in english


def test_cards_are_read_once_until_a_change(db_session: object) -> None:
    shop = ShopFactory()
    shown = ProductFactory(shop=shop, variants=[{"price_cents": 1250, "stock": 3}])
    hidden = ProductFactory(shop=shop, status=ProductStatus.DRAFT)
    db.session.commit()
    ids = [shown.id, hidden.id]
    assert set(cards(ids, only_online=True)) == {shown.id}
    with count_queries() as again:
        assert set(cards(ids, only_online=True)) == {shown.id}
    assert again == [], "both kept: the card, and that the draft has none"

    # A change committed by this process shows at once: a sale's stock, a price, a product put online.
    shown.variants[0].stock = 0
    db.session.commit()
    assert cards(ids, only_online=True)[shown.id].in_stock is False
    db.session.execute(sa.update(Variant).where(Variant.product_id == shown.id).values(price_cents=990))
    db.session.commit()
    assert cards(ids, only_online=True)[shown.id].price_range == (990, 990)
    hidden.status = ProductStatus.ACTIVE
    db.session.commit()
    assert set(cards(ids, only_online=True)) == {shown.id, hidden.id}


def test_cards_follow_another_processs_change(app: Flask, db_session: object) -> None:
    product = ProductFactory(variants=[{"price_cents": 1250}])
    db.session.commit()
    with app.test_request_context("/"):
        assert cards([product.id])[product.id].price_range == (1250, 1250)
    # Another process's change: a row written past this process's session (its connection, which no
    # session event sees), then the generation moved on, as that process's commit does with Redis.
    with app.test_request_context("/"):
        update = sa.update(Variant).where(Variant.product_id == product.id).values(price_cents=990)
        db.session.connection().execute(update)
        db.session.commit()
        assert cards([product.id])[product.id].price_range == (1250, 1250), "kept until told"
        pagecache.bump()
        assert cards([product.id])[product.id].price_range == (990, 990)


def test_a_gtins_other_offers_are_read_once_until_a_change(db_session: object) -> None:
    gtin = "9782070612758"
    mine = ProductFactory(gtin=gtin, variants=[{"price_cents": 1290}])
    other = ProductFactory(
        shop=ShopFactory(name="Librairie du Pont"), gtin=gtin, variants=[{"price_cents": 1190}]
    )
    ProductFactory(shop=ShopFactory(status=ShopStatus.SUSPENDED), gtin=gtin)
    db.session.commit()
    assert [card.id for card in sold_as(gtin, excluding=mine.id)] == [other.id]
    with count_queries() as again:
        assert [card.id for card in sold_as(gtin, excluding=other.id)] == [mine.id]
    assert again == [], "the GTIN's offers are kept, whichever of them asks"

    # A change committed by this process shows at once: a price, a copy put offline, a new copy.
    other.variants[0].price_cents = 990
    db.session.commit()
    assert [card.price_range for card in sold_as(gtin, excluding=mine.id)] == [(990, 990)]
    other.status = ProductStatus.DRAFT
    db.session.commit()
    assert sold_as(gtin, excluding=mine.id) == []
    third = ProductFactory(gtin=gtin)
    db.session.commit()
    assert [card.id for card in sold_as(gtin, excluding=mine.id)] == [third.id]
