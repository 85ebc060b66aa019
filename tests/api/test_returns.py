"""The shop's returns through the API: listed and read as the shop's, and their receipt confirmed with the
orders' own service, which restocks and refunds once, as the back office does."""

from __future__ import annotations

import json
import uuid

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from api import services as api_services
from app.cart import services as cart
from app.catalog.models import Variant
from app.extensions import db
from app.orders import services as orders
from app.orders.models import Refund, ReturnRequest
from app.permissions import ApiScope
from payouts import gateway
from tests.api.support import World, call, make_return
from tests.orders.support import Town, fill_cart, make_town, part_of
from tests.plugins.stripe import StripeEmulator
from vendors.models import ShopMember

CONTACT = orders.Contact(
    email="camille@example.com",
    full_name="Camille Martin",
    phone="0612345678",
    street="15 rue de la Paix",
    postcode="37000",
    city="Bellerive-sur-Loire",
)


def test_list_filter_and_page(app: Flask, client: FlaskClient, world: World) -> None:
    key = world.keys["full"]
    made = [make_return(app, world) for _ in range(3)]
    first = call(client, "GET", "/returns?limit=2", key)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert [item["id"] for item in first.json["items"]] == made[:2]
    following = call(client, "GET", f"/returns?limit=2&cursor={first.json['next_cursor']}", key).json
    assert [item["id"] for item in following["items"]] == made[2:]
    assert following["next_cursor"] is None

    item = first.json["items"][0]
    assert item["status"] == "requested"
    assert item["reason"] == "Trop cuit"
    assert item["lines"][0]["sku"] == "PAIN-1"
    assert (item["lines"][0]["quantity"], item["lines"][0]["total_cents"]) == (1, 450)
    assert (item["currency"], item["refunded_cents"], item["refund"]) == ("EUR", 0, None)
    assert item["order_number"].startswith("M-")
    assert "@" not in json.dumps(first.json), "no shopper e-mail"

    closed = call(client, "POST", f"/returns/{made[0]}/received", key)
    assert closed.status_code == 200, closed.get_data(as_text=True)
    assert closed.json["status"] == "refunded"
    assert closed.json["received_at"] is not None
    assert closed.json["refund"] is None, "an order paid outside the site has nothing to refund"
    waiting = call(client, "GET", "/returns?status=requested", key).json["items"]
    assert [item["id"] for item in waiting] == made[1:]
    done = call(client, "GET", "/returns?status=refunded", key).json["items"]
    assert [item["id"] for item in done] == made[:1]
    assert call(client, "GET", "/returns?requested_since=2999-01-01T00:00:00Z", key).json["items"] == []
    assert len(call(client, "GET", "/returns?requested_since=2020-01-01T00:00:00Z", key).json["items"]) == 3
    assert call(client, "GET", f"/returns/{made[1]}", key).json["id"] == made[1]


def test_another_shop_or_a_key_without_the_scope_sees_nothing(
    app: Flask, client: FlaskClient, world: World
) -> None:
    made = make_return(app, world)
    assert call(client, "GET", "/returns", world.keys["other"]).json["items"] == []
    assert call(client, "GET", f"/returns/{made}", world.keys["other"]).status_code == 404
    foreign = call(client, "POST", f"/returns/{made}/received", world.keys["other"])
    assert foreign.status_code == 404
    assert foreign.mimetype == "application/problem+json"
    assert call(client, "GET", "/returns", world.keys["reader"]).status_code == 403
    assert call(client, "POST", f"/returns/{made}/received", world.keys["reader"]).status_code == 403
    db.session.expire_all()
    assert db.session.get(ReturnRequest, made).status.value == "requested"


def test_bad_input_is_a_problem(app: Flask, client: FlaskClient, world: World) -> None:
    key = world.keys["full"]
    cases = {
        "/returns?status=lost": "status",
        "/returns?requested_since=hier": "requested_since",
        "/returns?requested_since=2026-12-01T00:00:00": "requested_since",  # no offset
        "/returns?cursor=%21%21": "cursor",
        "/returns?cursor=WyJ4Il0": "cursor",  # ["x"]
        "/returns?limit=0": "limit",
    }
    for path, field in cases.items():
        response = call(client, "GET", path, key)
        assert response.status_code == 422, (path, response.status_code)
        assert response.mimetype == "application/problem+json"
        assert field in {error["field"] for error in response.json["errors"]}, path
    assert call(client, "GET", "/returns/99999999", key).status_code == 404
    assert call(client, "GET", f"/returns/{2**70}", key).status_code == 404
    unknown_body = call(client, "POST", f"/returns/{make_return(app, world)}/received", key, {"x": 1})
    assert unknown_body.status_code < 500


# -- a paid order: the refund goes through Stripe -------------------------------------------------


def _paid_return(app: Flask) -> tuple[Town, str, int, str, str]:
    """A delivered bakery order paid on Stripe (the emulator), one loaf withdrawn; the baker's key and
    the bookshop's."""
    with app.test_request_context("/"):
        town = make_town()
        fill_cart(town, (town.bread, 2), (town.novel, 1))
        shopper = town.shopper()
        shopper_cart = cart.find_cart(shopper, None)
        assert shopper_cart is not None
        order = orders.place_order(shopper, shopper_cart, CONTACT, uuid.uuid4().hex)
        db.session.commit()
        orders.pay(shopper, order.number, "pm_card_visa", "http://127.0.0.1/retour", "first")
        db.session.commit()
        bakery = part_of(order, town.baker_id)
        orders.accept(bakery)
        orders.ship(bakery, "", "")
        orders.mark_delivered(bakery)
        request = orders.request_withdrawal(bakery, {bakery.lines[0].id: 1}, "Trop de pain")
        keys = []
        for shop_id in (town.baker_id, town.books_id):
            owner = db.session.scalars(sa.select(ShopMember).where(ShopMember.shop_id == shop_id)).one()
            scopes = [ApiScope.ORDERS_READ, ApiScope.ORDERS_WRITE]
            keys.append(api_services.create_shop_key(owner, "Caisse", scopes).token)
        db.session.commit()
        assert order.payment_intent_id is not None
        return town, order.payment_intent_id, request.id, keys[0], keys[1]


def _refunded_on_stripe(app: Flask, payment_intent_id: str) -> int:
    with app.app_context():
        refunds = gateway.client().v1.refunds.list(params={"payment_intent": payment_intent_id})
    return sum(refund.amount for refund in refunds.data)


def _stock(variant_id: int) -> int:
    db.session.expire_all()
    variant = db.session.get(Variant, variant_id)
    assert variant is not None
    return variant.stock


def test_confirming_receipt_refunds_once(app: Flask, client: FlaskClient, stripe_api: StripeEmulator) -> None:
    town, payment, return_id, baker_key, books_key = _paid_return(app)
    stock_before = _stock(town.bread)
    assert call(client, "POST", f"/returns/{return_id}/received", books_key).status_code == 404

    headers = {"Idempotency-Key": "retour-recu-1"}
    first = call(client, "POST", f"/returns/{return_id}/received", baker_key, headers=headers)
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.json["status"] == "refunded"
    assert first.json["refunded_cents"] == 450
    assert first.json["refund"]["amount_cents"] == 450
    assert first.json["refund"]["delivery_cents"] == 0, "a partial withdrawal keeps the delivery fee"
    assert _refunded_on_stripe(app, payment) == 450
    assert _stock(town.bread) == stock_before + 1

    replay = call(client, "POST", f"/returns/{return_id}/received", baker_key, headers=headers)
    assert replay.status_code == 200
    assert replay.json == first.json
    assert replay.headers["Idempotent-Replayed"] == "true"

    again = call(client, "POST", f"/returns/{return_id}/received", baker_key)
    assert again.status_code == 409, "the back office refuses it too: no return waiting"
    assert again.mimetype == "application/problem+json"
    assert again.json["detail"]

    refunds = db.session.scalar(
        sa.select(sa.func.count()).select_from(Refund).where(Refund.reason == "withdrawal")
    )
    assert refunds == 1
    assert _refunded_on_stripe(app, payment) == 450, "refunded once"
    assert _stock(town.bread) == stock_before + 1, "restocked once"
    part = call(client, "GET", f"/orders/{first.json['vendor_order_id']}", baker_key).json
    assert (part["status"], part["refunded_cents"]) == ("refunded", 450)
