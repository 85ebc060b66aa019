"""Two shops with products and keys of every kind, and a client that speaks to the API with one."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from flask import Flask
from werkzeug.test import TestResponse

from api import services
from app.catalog.models import Product
from app.extensions import db
from app.orders import services as orders
from app.orders.models import VendorOrderStatus
from app.permissions import ApiScope
from app.reviews import services as reviews
from tests.factories import CategoryFactory, ProductFactory, ShopFactory, UserFactory, owner_of
from tests.reviews.support import place

ALL_SHOP_SCOPES = [
    ApiScope.CATALOG_READ,
    ApiScope.CATALOG_WRITE,
    ApiScope.STOCK_WRITE,
    ApiScope.ORDERS_READ,
    ApiScope.ORDERS_WRITE,
    ApiScope.REVIEWS_READ,
    ApiScope.REVIEWS_WRITE,
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


_review_numbers = itertools.count(1)
REVIEW_WORDS = ["levain", "seigle", "brioche", "fougasse", "baguette", "croissant", "chausson", "fouace"]


def make_review(
    app: Flask,
    world: World,
    rating: int = 4,
    shop: bool = False,
    product_id: int | None = None,
) -> int:
    """The id of a published review of my shop's bread (``shop``: of the shop itself; ``product_id``: of
    another product), by Camille Martin, who received it."""
    with app.test_request_context("/"):
        product = db.session.get(Product, product_id or world.product_id)
        buyer = UserFactory(first_name="Camille", last_name="Martin")
        part = place(buyer, [product])
        number = next(_review_numbers)
        word = REVIEW_WORDS[number % len(REVIEW_WORDS)]
        made = reviews.submit_review(
            buyer,
            part.id,
            None if shop else part.lines[0].id,
            reviews.ReviewData(
                rating,
                f"Avis {word}",
                f"Le {word} numéro {number} était excellent, croûte épaisse et mie alvéolée. Je reviendrai.",
            ),
        )
        db.session.commit()
        assert made.published_at is not None, made.flags
        return made.id


def make_return(app: Flask, world: World, reason: str = "Trop cuit") -> int:
    """The id of a withdrawal from one loaf of an order of my shop received four days ago (no online
    payment: its receipt closes it without a refund)."""
    with app.test_request_context("/"):
        product = db.session.get(Product, world.product_id)
        part = place(UserFactory(), [product], VendorOrderStatus.DELIVERED)
        made = orders.request_withdrawal(part, {part.lines[0].id: 1}, reason)
        db.session.commit()
        return made.id
