"""Two shops with products and keys of every kind, and a client that speaks to the API with one."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from werkzeug.test import TestResponse

from api import services
from app.extensions import db
from app.permissions import ApiScope
from tests.factories import CategoryFactory, ProductFactory, ShopFactory, UserFactory, owner_of

ALL_SHOP_SCOPES = [
    ApiScope.CATALOG_READ,
    ApiScope.CATALOG_WRITE,
    ApiScope.STOCK_WRITE,
    ApiScope.ORDERS_READ,
    ApiScope.ORDERS_WRITE,
]


@dataclass
class World:
    shop_id: int
    other_shop_id: int
    category_id: int
    product_id: int  # of my shop, with the variant SKU "PAIN-1" (stock 10)
    variant_id: int
    other_product_id: int  # of the other shop, with the variant SKU "AUTRE-1"
    keys: dict[str, str] = field(default_factory=dict)  # tokens by role
    key_ids: dict[str, int] = field(default_factory=dict)


def make_world(app: Flask) -> World:
    """Keys: "full" (every shop scope), "reader" (catalog:read), "stocker" (stock:write), "other"
    (another shop's, every scope),
    "revoked", "town" (the manager's)."""
    with app.test_request_context("/"):
        mine = owner_of(ShopFactory(slug="fournil", name="Le Fournil"), email="owner@example.com")
        theirs = owner_of(ShopFactory(slug="librairie", name="La Librairie"), email="other@example.com")
        category = CategoryFactory()
        product = ProductFactory(
            shop=mine.shop,
            category=category,
            title="Pain au levain",
            vat_bps=550,
            variants=[{"sku": "PAIN-1", "price_cents": 450, "stock": 10}],
        )
        other = ProductFactory(
            shop=theirs.shop, vat_bps=550, variants=[{"sku": "AUTRE-1", "price_cents": 900, "stock": 4}]
        )
        manager = UserFactory(email="gestion@example.com", manager=True, two_factor=True)
        made = {
            "full": services.create_shop_key(mine, "Caisse", ALL_SHOP_SCOPES),
            "reader": services.create_shop_key(mine, "Lecture", [ApiScope.CATALOG_READ]),
            "stocker": services.create_shop_key(mine, "Stock seul", [ApiScope.STOCK_WRITE]),
            "other": services.create_shop_key(theirs, "Autre", ALL_SHOP_SCOPES),
            "revoked": services.create_shop_key(mine, "Ancienne", ALL_SHOP_SCOPES),
            "town": services.create_town_key(manager, "Office de tourisme"),
        }
        services.revoke_shop_key(mine, made["revoked"].key.id)
        db.session.commit()
        return World(
            shop_id=mine.shop_id,
            other_shop_id=theirs.shop_id,
            category_id=category.id,
            product_id=product.id,
            variant_id=product.variants[0].id,
            other_product_id=other.id,
            keys={role: new.token for role, new in made.items()},
            key_ids={role: new.key.id for role, new in made.items()},
        )


def call(
    client: Any,
    method: str,
    path: str,
    token: str | None = None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    raw: bytes | str | None = None,
) -> TestResponse:
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    if raw is not None:
        sent.setdefault("Content-Type", "application/json")
        return client.open("/api/v1" + path, method=method, data=raw, headers=sent)
    if body is not None:
        return client.open(
            "/api/v1" + path,
            method=method,
            data=json.dumps(body),
            headers={**sent, "Content-Type": "application/json"},
        )
    return client.open("/api/v1" + path, method=method, headers=sent)


def new_product(world: World, sku: str = "NOUVEAU-1", **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "title": "Brioche",
        "category_id": world.category_id,
        "vat_bps": 550,
        "status": "active",
        "variants": [{"sku": sku, "price_cents": 650, "stock": 5}],
    }
    body.update(changes)
    return body
