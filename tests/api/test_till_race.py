"""The till sync under contention, on PostgreSQL with real commits: online checkouts (the cart and
checkout services, each in its own thread) and store sales through the API race for the same SKU. The
units sold online and in the shop never exceed what there was; every refused store sale is a 409
problem; a store sale sent twice at once with its Idempotency-Key counts once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from api import services as api_services
from app.accounts.models import User
from app.cart import services as cart
from app.cart.models import DeliveryMethod
from app.catalog.models import StockMovement, Variant
from app.extensions import db, limiter
from app.orders import services as orders
from app.orders.models import OrderLine
from app.orders.stock_sync import held_quantities
from app.permissions import ApiScope
from tests.factories import UserFactory
from tests.orders.support import ADDRESS, make_town
from tests.plugins.application import at_once, own_database_app
from tests.plugins.services import Services

SHOPPERS = 8
SALES = 8
UNITS = 10
CONTACT = {key: value for key, value in ADDRESS.items() if key != "accept_terms"}


def test_checkouts_and_store_sales_never_oversell(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not services.postgres_url:
        pytest.skip("row locks are PostgreSQL's")
    monkeypatch.setattr(limiter, "enabled", False)
    with own_database_app(services, tmp_path, "api_till") as application:
        with application.test_request_context("/"):
            town = make_town()
            bread = db.session.get(Variant, town.bread)
            assert bread is not None
            assert bread.stock == UNITS
            shopper_ids = []
            for index in range(SHOPPERS):
                shopper = UserFactory(email=f"client{index}@example.com")
                basket = cart.open_cart(shopper, None)
                cart.add(basket, town.bread, 1)
                cart.set_postcode(basket, "37000")
                db.session.flush()
                cart.choose_delivery(basket, town.baker_id, DeliveryMethod.LOCAL_DELIVERY)
                shopper_ids.append(shopper.id)
            from vendors.models import ShopMember

            owner = db.session.scalar(sa.select(ShopMember).where(ShopMember.shop_id == town.baker_id))
            assert owner is not None
            token = api_services.create_shop_key(owner, "Caisse", [ApiScope.STOCK_WRITE]).token
            sku = bread.sku
            db.session.commit()

        answers: list[tuple[str, int]] = []
        outcomes: list[str] = []

        def checkout(shopper_id: int) -> None:
            with application.test_request_context("/"):
                user = db.session.get(User, shopper_id)
                assert user is not None
                basket = cart.find_cart(user, None)
                assert basket is not None
                try:
                    orders.place_order(user, basket, orders.Contact(**CONTACT), f"jeton-{shopper_id}")
                    db.session.commit()
                    outcomes.append("placed")
                except orders.OrderError:
                    db.session.rollback()
                    outcomes.append("sold out")

        def store_sale(key: str) -> None:
            client = application.test_client()
            body = {"lines": [{"sku": sku, "delta": -1, "reason": "store_sale", "note": key}]}
            response = client.post(
                "/api/v1/stock",
                data=json.dumps(body),
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": "application/json",
                    "Idempotency-Key": key,
                },
            )
            answers.append((key, response.status_code))
            if response.status_code != 200:
                assert response.mimetype == "application/problem+json"

        calls: list[tuple[Any, ...]] = [(checkout, shopper_id) for shopper_id in shopper_ids]
        calls += [(store_sale, f"ticket-{index}") for index in range(SALES)]
        calls.append((store_sale, "ticket-0"))  # the same sale sent twice at once
        at_once(application, lambda work, argument: work(argument), calls)

        with application.app_context():
            db.session.expire_all()
            stock_left = db.session.get(Variant, town.bread).stock
            placed = int(db.session.scalar(sa.select(sa.func.sum(OrderLine.quantity))) or 0)
            sold_in_shop = db.session.scalars(
                sa.select(StockMovement.note).where(
                    StockMovement.variant_id == town.bread, StockMovement.note.like("API store_sale%")
                )
            ).all()
            held = held_quantities([town.bread]).get(town.bread, 0)
        statuses = {status for _, status in answers}
        assert statuses <= {200, 409}, answers
        assert len(sold_in_shop) == len(set(sold_in_shop)), "ticket-0 applied once"
        assert placed == outcomes.count("placed") == held
        assert stock_left >= 0
        assert placed + len(sold_in_shop) + stock_left == UNITS, "every unit accounted for"
        assert placed + len(sold_in_shop) == UNITS, "more wanted than there was: all of it went, no more"
        refused_sales = [key for key, status in answers if status == 409 and key != "ticket-0"]
        assert refused_sales or outcomes.count("sold out"), "the race had losers"
