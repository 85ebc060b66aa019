"""The shop's orders through the API: listed and read as the shop's, moved through their states by the
orders' services (the same rules as the back office), another shop's a 404."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from app.catalog.models import Product
from app.extensions import db
from app.orders.models import VendorOrder, VendorOrderStatus
from tests.api.support import World, call
from tests.factories import UserFactory
from tests.reviews.support import place


@pytest.fixture
def paid(world: World) -> int:
    """A paid click & collect order of my shop (one "PAIN-1")."""
    product = db.session.get(Product, world.product_id)
    part = place(UserFactory(email="camille@example.com"), [product], VendorOrderStatus.PAID, received=False)
    return part.id


def test_list_and_read(client: FlaskClient, world: World, paid: int) -> None:
    listed = call(client, "GET", "/orders", world.keys["full"])
    assert listed.status_code == 200, listed.get_data(as_text=True)
    assert [item["id"] for item in listed.json["items"]] == [paid]
    order = call(client, "GET", f"/orders/{paid}", world.keys["full"]).json
    assert order["status"] == "paid"
    assert order["customer"]["email"] == "camille@example.com"
    assert order["lines"][0]["sku"] == "PAIN-1"
    assert order["currency"] == "EUR"
    assert call(client, "GET", "/orders?status=shipped", world.keys["full"]).json["items"] == []
    assert call(client, "GET", "/orders", world.keys["other"]).json["items"] == []
    assert call(client, "GET", f"/orders/{paid}", world.keys["other"]).status_code == 404
    assert call(client, "GET", "/orders", world.keys["reader"]).status_code == 403


def test_accept_ready_collect(client: FlaskClient, world: World, paid: int) -> None:
    key = world.keys["full"]
    shipped = call(
        client, "POST", f"/orders/{paid}/ship", key, {"carrier": "La Poste", "tracking_number": "X1"}
    )
    assert shipped.status_code == 409, "not accepted yet"
    assert shipped.mimetype == "application/problem+json"
    accepted = call(client, "POST", f"/orders/{paid}/accept", key, headers={"Idempotency-Key": "accepter-1"})
    assert accepted.status_code == 200, accepted.get_data(as_text=True)
    assert accepted.json["status"] == "accepted"
    replay = call(client, "POST", f"/orders/{paid}/accept", key, headers={"Idempotency-Key": "accepter-1"})
    assert replay.status_code == 200, "the same answer again, not a 409 for an order already accepted"
    assert call(client, "POST", f"/orders/{paid}/accept", key).status_code == 409
    ready = call(client, "POST", f"/orders/{paid}/ready", key)
    assert ready.status_code == 200
    db.session.expire_all()
    part = db.session.get(VendorOrder, paid)
    assert part is not None
    code = part.pickup_code
    assert code
    wrong = call(client, "POST", f"/orders/{paid}/collected", key, {"code": "0000000"})
    assert wrong.status_code == 409
    done = call(client, "POST", f"/orders/{paid}/collected", key, {"code": code})
    assert done.status_code == 200
    assert done.json["status"] == "collected"
