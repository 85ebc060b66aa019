"""The shop's dashboard tells the truth: its figures when there are some, the empty state only when
there is nothing, in a number of queries that does not grow with the shop."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from app.orders.models import VendorOrderStatus
from app.reviews import services as reviews
from payouts.models import Plan
from tests.factories import PASSWORD, ProductFactory, ShopFactory, UserFactory, owner_of
from tests.plugins.application import Client
from tests.reviews.support import GOOD, place
from vendors.models import MemberRole, ShopMember

EMPTY = "Vos produits et vos commandes apparaîtront ici."


def _text(page: Any) -> str:
    html = page.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def _login(client: Client, email: str) -> None:
    assert client.submit("/connexion", {"email": email, "password": PASSWORD}).status_code == 302


@contextlib.contextmanager
def _counted(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def _busy_shop(app: Flask, slug: str, products: int = 1, orders: int = 1) -> None:
    """Products online, a draft, one sold out; orders to accept, to prepare, a return; a review."""
    with app.test_request_context("/"):
        member = owner_of(ShopFactory(slug=slug, name="La Cave"), email=f"owner@{slug}.example.com")
        shop = member.shop
        online = [ProductFactory(shop=shop, title=f"Vin {n}") for n in range(products)]
        ProductFactory(shop=shop, title="Cidre", draft=True)
        ProductFactory(shop=shop, title="Champagne", variants=[{"stock": 0}])
        buyer = UserFactory()
        for _ in range(orders):
            place(buyer, online[:1], VendorOrderStatus.PAID, received=False)
        place(buyer, online[:1], VendorOrderStatus.ACCEPTED, received=False)
        place(buyer, online[:1], VendorOrderStatus.RETURN_REQUESTED)
        delivered = place(buyer, online[:1])
        reviews.submit_review(buyer, delivered.id, None, reviews.ReviewData(5, "Très bien", GOOD["body"]))
        db.session.add(Plan(slug=f"plan-{slug}", name="Commerçant", monthly_price_cents=1900))
        db.session.commit()


def test_a_new_shop_sees_the_empty_state(client: Client) -> None:
    owner_of(ShopFactory(slug="la-cave"), email="owner@example.com")
    _login(client, "owner@example.com")
    page = _text(client.get("/vendeur/la-cave/"))
    assert EMPTY in page
    assert "À faire" not in page
    assert "ouvrez votre compte de paiement avec Stripe" in page


def test_a_shop_with_products_and_orders_sees_its_figures(app: Flask, client: Client) -> None:
    _busy_shop(app, "la-cave", products=2)
    _login(client, "owner@la-cave.example.com")
    response = client.get("/vendeur/la-cave/")
    page, html = _text(response), response.get_data(as_text=True)
    assert EMPTY not in page
    assert "1 commande à accepter" in page
    assert 'href="/vendeur/la-cave/commandes?etat=a-traiter"' in html
    assert "1 commande à préparer" in page
    assert "1 retour à traiter" in page
    assert "1 avis sans réponse" in page
    assert "3 produits en ligne" in page
    assert "1 brouillon" in page
    assert "1 produit en rupture de stock" in page
    assert "ouvrez votre compte de paiement avec Stripe" in page
    assert "Choisissez votre forfait." in page


def test_staff_see_the_work_but_not_the_money(app: Flask, client: Client) -> None:
    _busy_shop(app, "la-cave")
    with app.test_request_context("/"):
        staff = UserFactory(email="staff@example.com")
        shop_id = db.session.scalar(sa.select(ShopMember.shop_id))
        db.session.add(ShopMember(shop_id=shop_id, user_id=staff.id, role=MemberRole.STAFF))
        db.session.commit()
    _login(client, "staff@example.com")
    response = client.get("/vendeur/la-cave/")
    page = _text(response)
    assert "1 commande à accepter" in page
    assert 'data-testid="dashboard-setup"' not in response.get_data(as_text=True)
    assert "forfait" not in page


def test_the_dashboard_reads_a_fixed_number_of_queries(app: Flask, client: Client) -> None:
    _busy_shop(app, "petite", products=1, orders=1)
    _busy_shop(app, "grande", products=12, orders=9)
    counts = []
    for slug in ("petite", "grande"):
        reader: Client = app.test_client()  # type: ignore[assignment]
        _login(reader, f"owner@{slug}.example.com")
        reader.get(f"/vendeur/{slug}/")  # the session's first page loads what every page loads
        with _counted(app) as statements:
            assert reader.get(f"/vendeur/{slug}/").status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert 0 < counts[0] <= 24, counts  # the figures of the period and what to do today included


def test_a_draft_shop_sends_each_person_to_the_step_they_may_open(app: Flask, client: Client) -> None:
    with app.test_request_context("/"):
        member = owner_of(
            ShopFactory(slug="la-cave", draft=True, legal_name="", registration_number=""),
            email="owner@example.com",
        )
        staff = UserFactory(email="staff@example.com")
        db.session.add(ShopMember(shop_id=member.shop_id, user_id=staff.id, role=MemberRole.STAFF))
        db.session.commit()
    _login(client, "staff@example.com")
    page = client.get("/vendeur/la-cave/").get_data(as_text=True)
    assert "Le propriétaire de la boutique termine l’inscription." in page
    assert "/vendeur/la-cave/reglages/legal" not in page
    owner: Client = app.test_client()  # type: ignore[assignment]
    _login(owner, "owner@example.com")
    page = owner.get("/vendeur/la-cave/").get_data(as_text=True)
    assert 'href="/vendeur/la-cave/reglages/legal"' in page
