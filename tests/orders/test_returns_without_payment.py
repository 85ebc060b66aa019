"""A withdrawal on an order made without a payment (the demo town's orders, ``M-DEMO-…``): the shop's
"Articles reçus" restocks the goods and closes the return with nothing to refund, no Stripe call and
the shopper told; a paid order still goes through the refund, unchanged."""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid

import pytest
import sqlalchemy as sa
from flask import Flask

from app.cart import services as cart
from app.cart.models import DeliveryMethod
from app.database import utcnow
from app.extensions import db
from app.orders import services as orders
from app.orders.models import (
    Order,
    OrderLine,
    OrderStatus,
    Refund,
    ReturnRequest,
    ReturnStatus,
    VendorOrder,
    VendorOrderStatus,
)
from app.orders.services import Contact
from payouts import gateway
from tests.orders.support import Town, fill_cart, login, make_town, part_of, stock
from tests.plugins.application import Client, Mailbox
from tests.plugins.stripe import StripeEmulator

S = VendorOrderStatus


def flashes(page: str) -> list[str]:
    return [
        html.unescape(text).strip() for text in re.findall(r'<p class="flash flash--\w+">(.*?)</p>', page)
    ]


def demo_order(town: Town) -> int:
    """Two breads and a tart from the bakery, delivered yesterday, written as the demo loader writes its
    orders: no PaymentIntent, payment status ``demo``. The shopper has withdrawn from one bread."""
    received = utcnow() - dt.timedelta(days=1)
    lines = [
        OrderLine(
            variant_id=variant_id,
            title=title,
            sku=f"DEMO-{variant_id}",
            unit_price_cents=price,
            quantity=quantity,
            vat_bps=550,
            total_cents=price * quantity,
        )
        for variant_id, title, price, quantity in (
            (town.bread, "Pain au levain", 450, 2),
            (town.cake, "Tarte aux pommes", 1800, 1),
        )
    ]
    items = sum(line.total_cents for line in lines)
    part = VendorOrder(
        shop_id=town.baker_id,
        status=S.DELIVERED,
        delivery_method=DeliveryMethod.LOCAL_DELIVERY,
        delivery_fee_cents=0,
        delivery_vat_bps=2000,
        items_cents=items,
        total_cents=items,
        received_at=received,
        lines=lines,
    )
    shopper = town.shopper()
    order = Order(
        number="M-DEMO-000001",
        checkout_token="demo-reviews-1",
        user_id=shopper.id,
        status=OrderStatus.PAID,
        items_cents=items,
        delivery_cents=0,
        total_cents=items,
        email=shopper.email,
        full_name="Camille Martin",
        reserved_until=received,
        paid_at=received,
        payment_status="demo",
        terms_version="demo",
        vendor_orders=[part],
    )
    db.session.add(order)
    db.session.flush()
    bread = next(line for line in part.lines if line.variant_id == town.bread)
    orders.request_withdrawal(part, {bread.id: "1"}, "Trop de pain")
    db.session.commit()
    return part.id


@pytest.fixture
def no_stripe(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any refund call to Stripe fails the test."""

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("no Stripe call for an order without a payment")

    monkeypatch.setattr(gateway, "refund_payment", refused)


def test_the_shop_closes_a_return_on_a_demo_order_with_nothing_to_refund(
    client: Client, app_ctx: Flask, mailbox: Mailbox, no_stripe: None
) -> None:
    town = make_town()
    part_id = demo_order(town)
    assert stock(town.bread) == 10
    login(client, town.baker_owner_email)
    detail = f"/vendeur/le-fournil/commandes/{part_id}"
    page = html.unescape(client.get(detail).get_data(as_text=True))
    assert "Articles reçus : clore le retour" in page
    assert "rien à rembourser" in page

    response = client.submit(f"{detail}/retour-recu", {}, form_url=detail)
    assert response.status_code == 302
    page = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert flashes(page) == [
        "Retour reçu et remis en stock : rien à rembourser, la commande n’a pas été payée."
    ]

    db.session.expire_all()
    part = db.session.get(VendorOrder, part_id)
    assert part is not None
    [request] = part.returns
    assert (request.status, request.refund, request.received_at is not None) == (
        ReturnStatus.REFUNDED,
        None,
        True,
    )
    assert (part.status, part.refunded_cents) == (S.REFUNDED, 0)
    assert db.session.scalars(sa.select(Refund)).all() == []
    assert stock(town.bread) == 11, "the bread is back on the shelf"
    assert [line.returned_quantity for line in part.lines] == [1, 0]
    assert orders.open_return(part) is None

    # Clicking again finds the return already closed: said, and nothing moves twice.
    again = client.submit(f"{detail}/retour-recu", {}, form_url=detail)
    assert "Aucun retour en attente sur cette commande." in html.unescape(
        client.get(again.headers["Location"]).get_data(as_text=True)
    )
    assert stock(town.bread) == 11

    told = mailbox.last_to("camille@example.com")
    assert "M-DEMO-000001" in told.subject
    assert "rien à vous rembourser" in told.text


def test_the_shopper_sees_the_return_closed(client: Client, app_ctx: Flask, no_stripe: None) -> None:
    town = make_town()
    part_id = demo_order(town)
    part = db.session.get(VendorOrder, part_id)
    assert part is not None
    assert orders.receive_return(part) is None
    db.session.commit()
    login(client, "camille@example.com")
    page = html.unescape(client.get("/commandes/M-DEMO-000001").get_data(as_text=True))
    [said] = re.findall(r"Rétractation du [^<]*", page)
    assert said.strip().endswith(": close, rien à rembourser"), said


def test_an_order_with_nothing_paid_is_never_refunded_through_stripe(app_ctx: Flask, no_stripe: None) -> None:
    town = make_town()
    part = db.session.get(VendorOrder, demo_order(town))
    assert part is not None
    assert orders.refundable_cents(part) == 0
    assert orders.receive_return(part) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReturnRequest)) == 1


def test_a_paid_order_is_still_refunded_through_stripe(
    client: Client, app_ctx: Flask, stripe_api: StripeEmulator, mailbox: Mailbox
) -> None:
    town = make_town()
    fill_cart(town, (town.bread, 2))
    shopper = town.shopper()
    shopper_cart = cart.find_cart(shopper, None)
    assert shopper_cart is not None
    contact = Contact(
        email="camille@example.com",
        full_name="Camille Martin",
        street="15 rue de la Paix",
        postcode="37000",
        city="Bellerive-sur-Loire",
    )
    placed = orders.place_order(shopper, shopper_cart, contact, uuid.uuid4().hex)
    db.session.commit()
    order = orders.pay(shopper, placed.number, "pm_card_visa", "http://127.0.0.1/retour", "first").order
    db.session.commit()
    bakery = part_of(order, town.baker_id)
    orders.accept(bakery)
    orders.ship(bakery, "", "")
    orders.mark_delivered(bakery)
    orders.request_withdrawal(bakery, {bakery.lines[0].id: "1"})
    db.session.commit()
    assert orders.refundable_cents(bakery) == bakery.total_cents
    part_id, number = bakery.id, order.number

    login(client, town.baker_owner_email)
    detail = f"/vendeur/le-fournil/commandes/{part_id}"
    assert "Articles reçus : rembourser le client" in html.unescape(client.get(detail).get_data(as_text=True))
    response = client.submit(f"{detail}/retour-recu", {}, form_url=detail)
    page = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert flashes(page) == ["Retour reçu : le client est remboursé."]
    db.session.expire_all()
    [refund] = db.session.scalars(sa.select(Refund)).all()
    assert (refund.amount_cents, refund.stripe_refund_id is not None) == (450, True)
    [request] = db.session.scalars(sa.select(ReturnRequest)).all()
    assert (request.status, request.refund_id) == (ReturnStatus.REFUNDED, refund.id)
    assert "Remboursement de 4,50" in mailbox.last_to("camille@example.com").subject.replace("\u00a0", " ")
    assert number in mailbox.last_to("camille@example.com").text
