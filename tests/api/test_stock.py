"""Stock through the API: the till sync contract (on hand = sellable + held by online orders), batches
applied whole or not at all, store sales made idempotent by their key."""

from __future__ import annotations

import sqlalchemy as sa
from flask.testing import FlaskClient

from app.catalog.models import MAX_STOCK, Product, StockMovement, Variant
from app.extensions import db
from app.orders.models import VendorOrderStatus
from tests.api.support import World, call
from tests.factories import UserFactory
from tests.reviews.support import place


def stock_of(variant_id: int) -> int:
    db.session.expire_all()
    variant = db.session.get(Variant, variant_id)
    assert variant is not None
    return variant.stock


def hold(world: World, units: int, status: VendorOrderStatus = VendorOrderStatus.PAID) -> None:
    """``units`` online orders of one unit, their stock taken as a checkout takes it."""
    product = db.session.get(Product, world.product_id)
    buyer = UserFactory()
    for _ in range(units):
        place(buyer, [product], status, received=False)
    db.session.execute(
        sa.update(Variant).where(Variant.id == world.variant_id).values(stock=Variant.stock - units)
    )
    db.session.commit()


def test_setting_on_hand_subtracts_what_online_orders_hold(client: FlaskClient, world: World) -> None:
    hold(world, 3)
    assert stock_of(world.variant_id) == 7
    lines = [{"sku": "pain-1", "on_hand": 12, "reason": "count", "note": "inventaire"}]
    response = call(client, "POST", "/stock", world.keys["full"], {"lines": lines})
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.json["lines"] == [
        {
            "sku": "PAIN-1",
            "variant_id": world.variant_id,
            "product_id": world.product_id,
            "on_hand": 12,
            "held": 3,
            "sellable": 9,
        }
    ]
    assert stock_of(world.variant_id) == 9
    movement = db.session.scalars(
        sa.select(StockMovement)
        .where(StockMovement.variant_id == world.variant_id)
        .order_by(StockMovement.id.desc())
    ).first()
    assert movement is not None
    assert movement.delta == 2
    assert movement.note == "API count: inventaire"


def test_shipped_and_collected_orders_are_no_longer_on_hand(client: FlaskClient, world: World) -> None:
    hold(world, 2, VendorOrderStatus.SHIPPED)
    hold(world, 1, VendorOrderStatus.READY_FOR_PICKUP)
    read = call(client, "GET", "/stock?sku=PAIN-1", world.keys["reader"])
    assert read.json["lines"][0] | {} == {**read.json["lines"][0], "held": 1, "sellable": 7, "on_hand": 8}


def test_a_count_below_what_orders_hold_is_a_conflict_and_changes_nothing(
    client: FlaskClient, world: World
) -> None:
    hold(world, 4)
    sale = {"lines": [{"sku": "PAIN-1", "delta": -7, "reason": "store_sale"}]}  # on hand 10 → 3 < 4 held
    response = call(client, "POST", "/stock", world.keys["full"], sale)
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert response.json["type"].endswith("#problem-stock-conflict")
    assert response.json["errors"] == [
        {
            "field": "lines.0.delta",
            "in": "body",
            "index": 0,
            "held": 4,
            "sellable": 6,
            "message": response.json["errors"][0]["message"],
        }
    ]
    assert stock_of(world.variant_id) == 6
    exact = call(
        client,
        "POST",
        "/stock",
        world.keys["full"],
        {"lines": [{"sku": "PAIN-1", "on_hand": 4, "reason": "count"}]},
    )
    assert exact.status_code == 200
    assert exact.json["lines"][0]["sellable"] == 0


def test_a_batch_is_applied_whole_or_not_at_all(client: FlaskClient, world: World) -> None:
    lines = [
        {"sku": "PAIN-1", "on_hand": 50, "reason": "received"},
        {"sku": "AUTRE-1", "on_hand": 1, "reason": "count"},  # the other shop's SKU: not ours
        {"sku": "PAIN-1", "delta": -1, "reason": "store_sale"},
    ]
    response = call(client, "POST", "/stock", world.keys["full"], {"lines": lines})
    assert response.status_code == 422
    assert [(error["field"], error["index"]) for error in response.json["errors"]] == [
        ("lines.1.sku", 1),
        ("lines.2.sku", 2),  # the same SKU twice in one batch
    ]
    assert stock_of(world.variant_id) == 10
    other = db.session.scalar(sa.select(Variant).where(Variant.sku == "AUTRE-1"))
    assert other is not None
    assert other.stock == 4


def test_bad_lines_are_named_never_a_500(client: FlaskClient, world: World) -> None:
    key = world.keys["full"]
    cases = {
        "negative on hand": ([{"sku": "PAIN-1", "on_hand": -1, "reason": "count"}], "lines.0.on_hand"),
        "both quantities": (
            [{"sku": "PAIN-1", "on_hand": 1, "delta": 1, "reason": "count"}],
            "lines.0.on_hand",
        ),
        "decimal": ([{"sku": "PAIN-1", "on_hand": 1.5, "reason": "count"}], "lines.0.on_hand"),
        "text": ([{"sku": "PAIN-1", "delta": "-1", "reason": "store_sale"}], "lines.0.delta"),
        "unknown reason": ([{"sku": "PAIN-1", "delta": -1, "reason": "vol"}], "lines.0.reason"),
        "unknown field": ([{"sku": "PAIN-1", "delta": -1, "reason": "count", "qty": 2}], "lines.0.qty"),
        "huge batch": ([{"sku": f"S{n}", "on_hand": 1, "reason": "count"} for n in range(501)], "lines"),
        "empty batch": ([], "lines"),
    }
    for name, (lines, field) in cases.items():
        response = call(client, "POST", "/stock", key, {"lines": lines})
        assert response.status_code == 422, name
        assert field in [error["field"] for error in response.json["errors"]], (name, response.json)
    assert stock_of(world.variant_id) == 10


def test_a_store_sale_replayed_with_its_key_counts_once(client: FlaskClient, world: World) -> None:
    sale = {"lines": [{"sku": "PAIN-1", "delta": -2, "reason": "store_sale", "note": "ticket 12"}]}
    headers = {"Idempotency-Key": "caisse-1:ticket-12"}
    first = call(client, "POST", "/stock", world.keys["full"], sale, headers)
    again = call(client, "POST", "/stock", world.keys["full"], sale, headers)
    assert first.status_code == again.status_code == 200
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert stock_of(world.variant_id) == 8
    other_body = {"lines": [{"sku": "PAIN-1", "delta": -3, "reason": "store_sale"}]}
    reused = call(client, "POST", "/stock", world.keys["full"], other_body, headers)
    assert reused.status_code == 409
    assert reused.json["type"].endswith("#problem-idempotency")
    assert stock_of(world.variant_id) == 8
    # Keys are per API key: the same string from another shop's key is another request.
    theirs = call(
        client,
        "POST",
        "/stock",
        world.keys["other"],
        {"lines": [{"sku": "AUTRE-1", "delta": -1, "reason": "store_sale"}]},
        headers,
    )
    assert theirs.status_code == 200


def test_stock_is_never_counted_beyond_a_million_units(client: FlaskClient, world: World) -> None:
    """Each line is bounded, but deltas add up: the running total is checked too, before the database's
    integer column would overflow."""
    key = world.keys["full"]
    top = {"lines": [{"sku": "PAIN-1", "on_hand": MAX_STOCK, "reason": "count"}]}
    assert call(client, "POST", "/stock", key, top).status_code == 200
    more = {"lines": [{"sku": "PAIN-1", "delta": 1, "reason": "received"}]}
    response = call(client, "POST", "/stock", key, more)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert [error["field"] for error in response.json["errors"]] == ["lines.0.delta"]
    assert stock_of(world.variant_id) == MAX_STOCK
