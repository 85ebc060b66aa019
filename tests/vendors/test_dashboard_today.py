"""The dashboard's "today": what a shop needs this morning, its own and nobody else's, in a number of
queries that does not grow with the shop."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import sqlalchemy as sa
from flask import Flask

from app.cart.models import DeliveryMethod
from app.database import utcnow
from app.extensions import db
from app.orders.models import VendorOrder, VendorOrderStatus
from payouts import ledger
from payouts.ledger import Line
from payouts.models import ShopTransfer, TransactionKind, TransferStatus
from tests.factories import PASSWORD, ProductFactory, UserFactory
from tests.manager.support import ready_shop, review
from tests.plugins.application import Client
from tests.reviews.support import place
from tests.vendors.test_dashboard import _counted
from vendors.dashboard import town_day
from vendors.hours import TOWN_TZ
from vendors.models import MemberRole, ShopMember

DAY = dt.timedelta(days=1)


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def _login(app: Flask, email: str) -> Client:
    person: Client = app.test_client()  # type: ignore[assignment]
    assert person.submit("/connexion", {"email": email, "password": PASSWORD}).status_code == 302
    return person


def _today_at(hour: int, days: int = 0) -> dt.datetime:
    day = utcnow().astimezone(TOWN_TZ).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour), TOWN_TZ).astimezone(dt.UTC)


def _pickup(part: VendorOrder, slot: dt.datetime, status: VendorOrderStatus) -> None:
    part.delivery_method = DeliveryMethod.CLICK_COLLECT
    part.pickup_slot = slot
    part.status = status


def _held(part: VendorOrder, amount_cents: int) -> None:
    """The shop's part as the ledger holds it, pending until the payout hold passes."""
    ledger.post(
        f"sale-{part.id}",
        TransactionKind.SALE,
        [Line(ledger.STRIPE, amount_cents), Line(ledger.pending(part.shop_id), -amount_cents)],
        shop_id=part.shop_id,
        vendor_order_id=part.id,
    )


def _busy(app: Flask, slug: str, scale: int = 1) -> dict[str, Any]:
    """A shop with something of every kind for today, and a few that are not for today."""
    with app.test_request_context("/"):
        shop = ready_shop(slug)
        product = ProductFactory(shop=shop, title=f"Confiture {slug}")
        ProductFactory(shop=shop, title=f"Miel {slug}", variants=[{"stock": 1}])
        ProductFactory(shop=shop, title=f"Thé {slug}", variants=[{"stock": 3}])
        ProductFactory(shop=shop, title=f"Café {slug}", draft=True, variants=[{"stock": 0}])
        buyer = UserFactory()
        numbers: dict[str, Any] = {"accept": [], "pickups": []}
        for _ in range(scale):
            numbers["accept"].append(
                place(buyer, [product], VendorOrderStatus.PAID, received=False).order.number
            )
        late = place(buyer, [product], VendorOrderStatus.ACCEPTED, received=False)
        early = place(buyer, [product], VendorOrderStatus.READY_FOR_PICKUP, received=False)
        tomorrow = place(buyer, [product], VendorOrderStatus.ACCEPTED, received=False)
        _pickup(late, _today_at(17), VendorOrderStatus.ACCEPTED)
        _pickup(early, _today_at(9), VendorOrderStatus.READY_FOR_PICKUP)
        _pickup(tomorrow, _today_at(10, days=1), VendorOrderStatus.ACCEPTED)
        numbers["pickups"] = [early.order.number, late.order.number]
        numbers["tomorrow"] = tomorrow.order.number
        numbers["return"] = place(buyer, [product], VendorOrderStatus.RETURN_REQUESTED).order.number
        for _ in range(scale):
            delivered = place(buyer, [product], VendorOrderStatus.DELIVERED)
            _held(delivered, 1130)
        paid_out = place(buyer, [product], VendorOrderStatus.COMPLETED)
        _held(paid_out, 990)
        db.session.add(
            ShopTransfer(
                vendor_order_id=paid_out.id, shop_id=shop.id, status=TransferStatus.PAID, amount_cents=990
            )
        )
        numbers["paid_out"] = paid_out.order.number
        review(delivered, buyer, published_days_ago=1)
        staff = UserFactory(email=f"staff@{slug}.example.com")
        db.session.add(ShopMember(shop_id=shop.id, user_id=staff.id, role=MemberRole.STAFF))
        db.session.commit()
        return numbers


def test_today_lists_what_the_shop_needs_this_morning(app: Flask, client: Client) -> None:
    mine = _busy(app, "la-cave")
    theirs = _busy(app, "le-fournil")
    owner = _login(app, "owner@la-cave.example.com")
    html = owner.get("/vendeur/la-cave/").get_data(as_text=True)
    page = _text(html)
    assert 'data-testid="dashboard-today"' in html
    assert "1 commande à accepter" in page
    assert mine["accept"][0] in page
    assert "2 retraits prévus aujourd’hui" in page
    early, late = mine["pickups"]
    assert page.index(early) < page.index(late)  # by slot
    assert "09:00" in page
    assert "17:00" in page
    assert mine["tomorrow"] not in page
    assert "1 retour à confirmer" in page
    assert mine["return"] in page
    assert "1 article presque épuisé" in page
    assert "Miel la-cave" in page
    assert "Thé la-cave" not in page
    assert "Café la-cave" not in page
    assert "1 avis à qui répondre" in page
    assert "Virements à venir : 11,30" in page
    assert mine["paid_out"] not in page
    # Nothing of the other shop, whatever the list.
    for number in [*theirs["accept"], *theirs["pickups"], theirs["return"], theirs["paid_out"]]:
        assert number not in page
    assert "le-fournil" not in page


def test_staff_see_today_but_not_the_money_on_its_way(app: Flask, client: Client) -> None:
    _busy(app, "la-cave")
    staff = _login(app, "staff@la-cave.example.com")
    page = _text(staff.get("/vendeur/la-cave/").get_data(as_text=True))
    assert "1 commande à accepter" in page
    assert "2 retraits prévus aujourd’hui" in page
    assert "Virements à venir" not in page


def test_a_quiet_morning_says_so(app: Flask, client: Client) -> None:
    with app.test_request_context("/"):
        ready_shop("calme")
    owner = _login(app, "owner@calme.example.com")
    page = _text(owner.get("/vendeur/calme/").get_data(as_text=True))
    assert "Rien de prévu aujourd’hui" in page


def test_the_town_day_is_the_towns_not_utcs() -> None:
    late_evening = dt.datetime(2026, 7, 1, 22, 30, tzinfo=dt.UTC)  # 00:30 on 2 July in the town
    start, end = town_day(late_evening)
    assert start == dt.datetime(2026, 7, 1, 22, 0, tzinfo=dt.UTC)
    assert end - start == DAY


def test_today_reads_a_fixed_number_of_queries(app: Flask, client: Client) -> None:
    _busy(app, "petite", scale=1)
    _busy(app, "grande", scale=12)
    counts = []
    for slug in ("petite", "grande"):
        reader = _login(app, f"owner@{slug}.example.com")
        reader.get(f"/vendeur/{slug}/")  # the session's first page loads what every page loads
        with _counted(app) as statements:
            page = reader.get(f"/vendeur/{slug}/").get_data(as_text=True)
        assert 'data-testid="dashboard-today"' in page
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(VendorOrder)) > 30
