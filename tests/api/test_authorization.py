"""Every API operation, from the url_map, with no key, a revoked key, a key without the scope, another
shop's key and the town's key: 401, 403 or 404 as the permission table says, and nothing changed."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from api.models import ApiKey
from app.catalog.models import Product, ProductPhoto, StockMovement, Variant
from app.extensions import db
from app.orders.models import Refund, ReturnRequest, VendorOrder, VendorOrderStatus
from app.permissions import ApiScope
from app.reviews.models import ReviewReply
from tests.api.support import World, call, make_return, make_review, new_product
from tests.factories import UserFactory
from tests.reviews.support import place

# Every blueprint under /api/v1 but the documentation's (the page and the OpenAPI document).
NOT_OPERATIONS = ("api_docs", "api-docs")
# A valid request of each operation, so that only the key decides the answer.
BODIES: dict[str, Any] = {
    "api_catalog.create_product": None,  # filled in from the world
    "api_catalog.update_product": {"title": "Changé"},
    "api_catalog.add_photo": {"url": "http://127.0.0.1:9/photo.jpg"},
    "api_stock.change": {"lines": [{"sku": "PAIN-1", "on_hand": 1, "reason": "count"}]},
    "api_orders.refuse": {"reason": "Rupture"},
    "api_orders.ship": {"carrier": "La Poste", "tracking_number": "X1"},
    "api_orders.collected": {"code": "1234"},
    "api_reviews.reply": {"body": "Merci !"},
    "api_reviews.edit_reply": {"body": "Merci encore !"},
}
QUERIES = {"api_stock.levels": "?sku=PAIN-1", "api_town.figures": "?start=2026-01-01&end=2026-01-31"}


def operations(app: Flask) -> list[tuple[Rule, str]]:
    """Every operation of the API, found in the url_map: one added later is checked without a word here."""
    found = [
        (rule, method)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.endpoint.split(".")[0] not in NOT_OPERATIONS
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    ]
    assert len(found) >= 19
    unguarded = [rule.rule for rule, _ in found if not hasattr(view_of(app, rule), "api_scope")]
    assert not unguarded, f"operations without their key check (api.spec.operation): {unguarded}"
    return found


def view_of(app: Flask, rule: Rule) -> Any:
    return app.view_functions[rule.endpoint]


def shop_rows(app: Flask, world: World) -> dict[str, int]:
    """A row of my shop for each kind of id an operation's path names."""
    product = db.session.get(Product, world.product_id)
    order_id = place(UserFactory(), [product], VendorOrderStatus.PAID, received=False).id
    return {
        "product_id": world.product_id,
        "vendor_order_id": order_id,
        "return_id": make_return(app, world),
        "review_id": make_review(app, world),
    }


def snapshot() -> tuple[Any, ...]:
    db.session.expire_all()
    return (
        tuple(
            db.session.execute(sa.select(Product.id, Product.title, Product.status, Product.updated_at)).all()
        ),
        tuple(db.session.execute(sa.select(Variant.id, Variant.stock)).all()),
        db.session.scalar(sa.select(sa.func.count()).select_from(StockMovement)),
        db.session.scalar(sa.select(sa.func.count()).select_from(ProductPhoto)),
        tuple(
            db.session.execute(sa.select(VendorOrder.id, VendorOrder.status, VendorOrder.updated_at)).all()
        ),
        tuple(db.session.execute(sa.select(ReturnRequest.id, ReturnRequest.status)).all()),
        tuple(db.session.execute(sa.select(ReviewReply.id, ReviewReply.body)).all()),
        db.session.scalar(sa.select(sa.func.count()).select_from(Refund)),
    )


def request(
    client: FlaskClient, world: World, rule: Rule, method: str, token: str | None, ids: dict[str, int]
) -> Any:
    path = rule.rule.removeprefix("/api/v1")
    for name in rule.arguments:
        path = path.replace(f"<int:{name}>", str(ids[name]))
    body = BODIES.get(rule.endpoint)
    if rule.endpoint == "api_catalog.create_product":
        body = new_product(world)
    headers = {"If-Match": "*"} if method in ("PATCH", "PUT") else {}
    return call(client, method, path + QUERIES.get(rule.endpoint, ""), token, body, headers)


@pytest.mark.usefixtures("no_rate_limit")
def test_every_operation_refuses_those_it_should(app: Flask, client: FlaskClient, world: World) -> None:
    ids = shop_rows(app, world)
    before = snapshot()
    failures = []
    checked_scopes = set()
    for rule, method in operations(app):
        view = view_of(app, rule)
        scope = view.api_scope
        public = scope is None
        checked_scopes.add(scope)
        shop_operation = getattr(view, "api_shop", True)
        expected = {
            "no key": 200 if public else 401,
            "revoked key": 401,
            "unknown key": 401,
        }
        if not public:
            expected["town key" if shop_operation else "shop key"] = 403
            if shop_operation:
                lacking = "stocker" if scope != ApiScope.STOCK_WRITE else "reader"
                expected[f"key without {scope}"] = 403
            if shop_operation and rule.arguments:
                expected["another shop's key"] = 404
        tokens = {
            "no key": None,
            "revoked key": world.keys["revoked"],
            "unknown key": "mk_test_" + "x" * 43,
            "town key": world.keys["town"],
            "shop key": world.keys["full"],
            "another shop's key": world.keys["other"],
        }
        if not public and shop_operation:
            tokens[f"key without {scope}"] = world.keys[lacking]
        for who, status in expected.items():
            response = request(client, world, rule, method, tokens[who], ids)
            if response.status_code != status:
                failures.append(f"{method} {rule.rule} with {who}: {response.status_code}, expected {status}")
            elif status >= 400 and response.mimetype != "application/problem+json":
                failures.append(f"{method} {rule.rule} with {who}: {response.mimetype}")
    assert not failures, "\n".join(failures)
    assert snapshot() == before, "nothing changed"
    assert checked_scopes >= {
        ApiScope.ORDERS_READ,
        ApiScope.ORDERS_WRITE,
        ApiScope.REVIEWS_READ,
        ApiScope.REVIEWS_WRITE,
    }
    assert checked_scopes >= {
        ApiScope.CATALOG_READ,
        ApiScope.CATALOG_WRITE,
        ApiScope.STOCK_WRITE,
        ApiScope.TOWN_READ,
        None,
    }


@pytest.mark.usefixtures("no_rate_limit")
def test_another_shops_product_is_not_found_even_with_every_scope(client: FlaskClient, world: World) -> None:
    path = f"/products/{world.other_product_id}"
    assert call(client, "GET", path, world.keys["full"]).status_code == 404
    assert (
        call(client, "PATCH", path, world.keys["full"], {"title": "x"}, {"If-Match": "*"}).status_code == 404
    )
    assert call(client, "POST", path + "/archive", world.keys["full"]).status_code == 404
    listed = call(client, "GET", "/products?sku=AUTRE-1", world.keys["full"])
    assert listed.json["items"] == []


def test_a_key_of_someone_who_left_the_shop_stops_working(client: FlaskClient, world: World) -> None:
    from vendors.models import ShopMember

    assert call(client, "GET", "/shop", world.keys["full"]).status_code == 200
    key = db.session.get(ApiKey, world.key_ids["full"])
    assert key is not None
    db.session.execute(
        sa.delete(ShopMember).where(
            ShopMember.shop_id == world.shop_id, ShopMember.user_id == key.created_by_id
        )
    )
    db.session.commit()
    assert call(client, "GET", "/shop", world.keys["full"]).status_code == 401


def test_last_use_is_recorded_once_a_minute(client: FlaskClient, world: World) -> None:
    key = db.session.get(ApiKey, world.key_ids["reader"])
    assert key is not None
    assert key.last_used_at is None
    call(client, "GET", "/shop", world.keys["reader"])
    db.session.expire_all()
    first = db.session.get(ApiKey, world.key_ids["reader"]).last_used_at
    assert first is not None
    call(client, "GET", "/shop", world.keys["reader"])
    db.session.expire_all()
    assert db.session.get(ApiKey, world.key_ids["reader"]).last_used_at == first
