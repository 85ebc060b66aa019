"""The public storefront and the shop directory."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import sqlalchemy as sa
import time_machine
from werkzeug.test import TestResponse as Response

from app.database import utcnow
from app.extensions import db
from tests.factories import (
    CategoryFactory,
    ProductFactory,
    RelayPointFactory,
    ShopFactory,
    UserFactory,
    owner_of,
)
from tests.plugins.application import Client
from tests.site.support import count_queries
from vendors.models import Closure, Shop, ShopStatus


def test_only_approved_shops_are_public(client: Client) -> None:
    for status in ShopStatus:
        ShopFactory(slug=f"shop-{status.value}", name=f"Shop {status.value}", status=status)
    directory = client.get("/boutiques").get_data(as_text=True)
    for status in ShopStatus:
        expected = 200 if status == ShopStatus.APPROVED else 404
        assert client.get(f"/boutiques/shop-{status.value}").status_code == expected, status
        assert (f"Shop {status.value}" in directory) == (status == ShopStatus.APPROVED)


def test_the_storefront_shows_what_the_law_and_shoppers_need(client: Client) -> None:
    ShopFactory(
        slug="le-fournil",
        name="Le Fournil",
        story="Pain au levain depuis 1987.",
        home_delivery=True,
        home_delivery_fee_cents=690,
    )
    page = client.get("/boutiques/le-fournil").get_data(as_text=True)
    for expected in (
        "Pain au levain depuis 1987.",
        "LE FOURNIL SARL",  # legal name
        "97228186620119",  # SIRET
        "FR29972281866",  # VAT number
        "RCS Tours 972 281 866",
        "15 rue de la Paix",
        "02 47 16 46 53",
        "4,90",  # local delivery fee
        "offerte dès 50,00",
        "6,90",  # carrier fee
        "14 jours",
        "Retrait en boutique",
    ):
        assert expected in page.replace("\u00a0", " ").replace("\u202f", " "), expected


def test_a_shop_under_the_vat_franchise_says_so(client: Client) -> None:
    from vendors.models import VatRegime

    ShopFactory(slug="atelier", vat_regime=VatRegime.FRANCHISE, vat_number="")
    assert "TVA non applicable, art. 293 B du CGI" in client.get("/boutiques/atelier").get_data(as_text=True)


def test_open_now_is_computed_on_the_towns_clock(client: Client) -> None:
    ShopFactory(slug="le-fournil")  # Tuesday to Sunday, 09:30-19:00
    # Tuesday 2026-11-24 at 09:00 UTC is 10:00 in Paris: open.
    with time_machine.travel(dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC), tick=False):
        assert "Ouvert" in client.get("/boutiques/le-fournil").get_data(as_text=True)
    # 18:30 UTC is 19:30 in Paris: closed, opens tomorrow.
    with time_machine.travel(dt.datetime(2026, 11, 24, 18, 30, tzinfo=dt.UTC), tick=False):
        page = client.get("/boutiques/le-fournil").get_data(as_text=True)
        assert "Fermé" in page
        assert "ouvre" in page
    # Monday: closed all day; Saturday evening: next opening is Sunday... the factory has Tuesday-Sunday.
    with time_machine.travel(dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC), tick=False):
        assert "ouvre demain à 09:30" in client.get("/boutiques/le-fournil").get_data(as_text=True)
    # Early on Tuesday: opens later today.
    with time_machine.travel(dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.UTC), tick=False):
        assert "ouvre à 09:30" in client.get("/boutiques/le-fournil").get_data(as_text=True)


def test_a_closure_closes_the_shop_on_those_days(client: Client) -> None:
    ShopFactory(
        slug="le-fournil",
        closures=[Closure(starts_on=dt.date(2026, 12, 24), ends_on=dt.date(2026, 12, 26), label="Noël")],
    )
    with time_machine.travel(dt.datetime(2026, 12, 24, 11, 0, tzinfo=dt.UTC), tick=False):
        page = client.get("/boutiques/le-fournil").get_data(as_text=True)
    assert "Fermé" in page
    assert "Noël" in page


def test_the_storefront_lists_every_closure_to_come_and_its_relay_points(client: Client) -> None:
    ShopFactory(
        slug="le-fournil",
        relay=True,
        relay_points=[RelayPointFactory(name="Tabac du Pont"), RelayPointFactory(name="Bar Colbert")],
        closures=[
            Closure(starts_on=dt.date(2027, 2, 15), ends_on=dt.date(2027, 2, 28), label="Vacances d’hiver"),
            Closure(starts_on=dt.date(2026, 11, 2), ends_on=dt.date(2026, 11, 3), label="Inventaire"),
            Closure(starts_on=dt.date(2026, 12, 24), ends_on=dt.date(2026, 12, 26), label="Noël"),
        ],
    )
    with time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        page = client.get("/boutiques/le-fournil").get_data(as_text=True)
    # Two weeks ahead is as far as "open now" looks; the page names every closure to come, in order.
    assert page.index("Noël") < page.index("Vacances d’hiver")
    assert "Inventaire" not in page  # over
    structured = page[page.index('<script type="application/ld+json">') :]
    assert '"validFrom": "2027-02-15"' in structured
    assert "2026-11-02" not in structured
    assert "Bar Colbert, Tabac du Pont" in page


def test_the_directory_filters_by_category_including_subcategories(client: Client) -> None:
    food = CategoryFactory(slug="alimentation", name="Alimentation")
    bakery = CategoryFactory(slug="boulangerie", name="Boulangerie", parent=food)
    books = CategoryFactory(slug="livres", name="Livres")
    ShopFactory(name="Le Fournil", category=bakery)
    ShopFactory(name="La Boussole", category=books)
    page = client.get("/boutiques?categorie=alimentation").get_data(as_text=True)
    assert "Le Fournil" in page
    assert "La Boussole" not in page
    assert client.get("/boutiques?categorie=inconnue").status_code == 404


def test_near_me_orders_by_distance(client: Client) -> None:
    ShopFactory(name="Au centre", latitude=47.3965, longitude=0.6860)
    ShopFactory(name="En périphérie", latitude=47.4530, longitude=0.7589)  # about 8 km out
    ShopFactory(name="Pas loin", latitude=47.4050, longitude=0.6900)
    page = client.get("/boutiques?lat=47.396&lon=0.686").get_data(as_text=True)
    assert page.index("Au centre") < page.index("Pas loin") < page.index("En périphérie")
    assert "8,4 km" in page  # 8.38 km by the haversine formula
    by_street = client.get("/boutiques?depuis=12+rue+Colbert").get_data(as_text=True)
    assert by_street.index("Pas loin") < by_street.index("En périphérie")
    unknown = client.get("/boutiques?depuis=chemin+inconnu").get_data(as_text=True)
    assert "Nous ne connaissons pas cette rue" in unknown


def test_members_and_managers_preview_a_shop_before_it_opens(client: Client) -> None:
    owner_of(ShopFactory(slug="bientot", status=ShopStatus.SUBMITTED), email="owner@example.com")
    UserFactory(email="other@example.com")
    from tests.factories import PASSWORD

    client.submit("/connexion", {"email": "other@example.com", "password": PASSWORD})
    assert client.get("/boutiques/bientot").status_code == 404
    client.submit("/deconnexion", {}, form_url="/compte")
    client.submit("/connexion", {"email": "owner@example.com", "password": PASSWORD})
    page = client.get("/boutiques/bientot")
    assert page.status_code == 200
    assert "Aperçu" in page.get_data(as_text=True)


def test_the_directory_shows_a_new_closure_at_once(client: Client) -> None:
    shop = ShopFactory(name="Le Fournil")  # Tuesday to Sunday, 09:30-19:00
    db.session.commit()
    with time_machine.travel(dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC), tick=False):
        assert "Ouvert" in client.get("/boutiques").get_data(as_text=True)
        with client.application.app_context():  # as the back office would, in a request
            closure = Closure(shop_id=shop.id, starts_on=dt.date(2026, 11, 24), ends_on=dt.date(2026, 11, 24))
            db.session.add(closure)
            db.session.commit()
        page = client.get("/boutiques").get_data(as_text=True)
    assert "Fermé" in page
    assert "Ouvert" not in page


def test_the_directorys_categories_count_their_childrens_shops_and_speak_english(client: Client) -> None:
    food = CategoryFactory(slug="alimentation", name="Alimentation", name_en="Food")
    bakery = CategoryFactory(slug="boulangerie", name="Boulangerie", parent=food)
    old = CategoryFactory(slug="ancienne", name="Ancienne", parent=food, archived_at=utcnow())
    empty = CategoryFactory(slug="vide", name="Vide")
    ShopFactory(category=food)
    ShopFactory(category=bakery)
    ShopFactory(category=old)
    ShopFactory(category=bakery, status=ShopStatus.SUSPENDED)
    assert empty.slug
    chips = re.findall(
        r'categorie=(\w+)"[^>]*>([^<]+)<span class="muted">(\d+)',
        client.get("/boutiques").get_data(as_text=True),
    )
    assert chips == [("alimentation", "Alimentation ", "3")]
    client.get("/langue/en")
    chips = re.findall(
        r'categorie=(\w+)"[^>]*>([^<]+)<span class="muted">(\d+)',
        client.get("/boutiques").get_data(as_text=True),
    )
    assert chips == [("alimentation", "Food ", "3")]
    with client.application.app_context():  # as the manager's page would, in a request
        db.session.execute(
            sa.update(Shop).where(Shop.category_id == bakery.id).values(status=ShopStatus.SUSPENDED)
        )
        db.session.commit()
    chips = re.findall(
        r'categorie=(\w+)"[^>]*>([^<]+)<span class="muted">(\d+)',
        client.get("/boutiques").get_data(as_text=True),
    )
    assert chips == [("alimentation", "Food ", "2")], "the count follows the shop's suspension at once"


def test_a_page_past_the_end_of_the_products_says_so(client: Client) -> None:
    shop = ShopFactory(slug="le-fournil")
    ProductFactory(shop=shop, title="Pain de campagne")
    page = client.get("/boutiques/le-fournil?page=3").get_data(as_text=True)
    assert "Il n’y a pas d’autre page de résultats." in page
    assert 'href="/boutiques/le-fournil#produits"' in page
    assert "pas encore de produit en ligne" not in page
    ShopFactory(slug="atelier")  # no product at all
    assert "pas encore de produit en ligne" in client.get("/boutiques/atelier?page=3").get_data(as_text=True)


def _shop_statements(statements: list[str]) -> list[str]:
    """The statements reading a shop by its slug (the storefront's own read of its shop)."""
    return [sql for sql in statements if "FROM shops" in sql and "shops.slug =" in sql]


def test_a_storefront_reads_its_shop_once_then_shows_each_change_at_once(client: Client) -> None:
    shop = ShopFactory(
        slug="le-fournil",
        name="Le Fournil",
        story="Pain au levain.",
        relay=True,
        relay_points=[RelayPointFactory(name="Tabac du Pont")],
        category=CategoryFactory(name="Boulangerie", parent=CategoryFactory(name="Alimentation")),
    )
    db.session.commit()
    with count_queries() as first:
        assert client.get("/boutiques/le-fournil").status_code == 200
    with count_queries() as again:
        page = client.get("/boutiques/le-fournil").get_data(as_text=True)
    assert len(_shop_statements(first)) == 1
    assert _shop_statements(again) == [], "the shop kept by this process, put in the session without a read"
    # What the kept copy carries: the shop, its category and its parent, its relay points.
    for shown in ("Le Fournil", "Pain au levain.", "Boulangerie", "Tabac du Pont"):
        assert shown in page

    # A change shows on the next view: its commit, in a request as the back office's, moves the pages'
    # generation on.
    def changed(change: Callable[[Shop], None]) -> Response:
        with client.application.app_context():
            change(db.session.get_one(Shop, shop.id))
            db.session.commit()
        return client.get("/boutiques/le-fournil")

    def retell(kept: Shop) -> None:
        kept.story = "Pain au levain, cuit au bois."

    def rename_relay(kept: Shop) -> None:
        kept.relay_points[0].name = "Tabac de la Gare"

    def suspend(kept: Shop) -> None:
        kept.status = ShopStatus.SUSPENDED

    assert "cuit au bois" in changed(retell).get_data(as_text=True)
    assert "Tabac de la Gare" in changed(rename_relay).get_data(as_text=True)
    assert changed(suspend).status_code == 404


def test_a_kept_shop_never_overwrites_what_a_session_holds(app_ctx: object) -> None:
    from app.catalog.models import Category
    from vendors import services

    category_id = ShopFactory(
        slug="le-fournil", name="Le Fournil", category=CategoryFactory(name="Boulangerie")
    ).category_id
    db.session.commit()
    services.public_shop("le-fournil")  # kept
    db.session.expunge_all()
    held = db.session.scalars(sa.select(Shop).where(Shop.slug == "le-fournil")).one()
    held.name = "Le Fournil de la Gare"  # changed in this session, not committed yet
    found = services.public_shop("le-fournil")
    assert found is held
    assert found.name == "Le Fournil de la Gare"
    db.session.rollback()

    # The shop's category held, changed: the shop is read afresh, and the change stays.
    db.session.expunge_all()
    category = db.session.get_one(Category, category_id)
    category.name = "Boulangerie-pâtisserie"
    found = services.public_shop("le-fournil")
    assert found is not None
    assert found.category is category
    assert category.name == "Boulangerie-pâtisserie"
    db.session.rollback()
