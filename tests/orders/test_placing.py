"""Placing an order: stock reserved atomically, prices frozen, numbered without gaps, all or nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from app.accounts.models import User
from app.cart import services as cart
from app.cart.models import Cart, DeliveryMethod
from app.catalog.models import StockMovement, StockReason, Variant
from app.extensions import db
from app.orders import services as orders
from app.orders import tasks
from app.orders.models import Order, OrderLine, OrderStatus, VendorOrderStatus
from tests.factories import ProductFactory, ShopFactory, UserFactory
from tests.plugins.application import at_once, own_database_app
from tests.plugins.services import Services

CONTACT = orders.Contact(
    email="camille@example.com",
    full_name="Camille Martin",
    street="15 rue de la Paix",
    postcode="37000",
    city="Bellerive-sur-Loire",
)


def ready_cart(user: User, *items: tuple[int, int]) -> Cart:
    shopper_cart = cart.open_cart(user, None)
    for variant_id, quantity in items:
        cart.add(shopper_cart, variant_id, quantity)
    db.session.flush()
    for part in cart.summary(shopper_cart).parts:
        slot = part.slots[0].start if part.options[0].method == DeliveryMethod.CLICK_COLLECT else None
        cart.choose_delivery(shopper_cart, part.shop.id, part.options[0].method, pickup_slot=slot)
    db.session.commit()
    return shopper_cart


@pytest.fixture
def town(app_ctx: Flask) -> dict[str, int]:
    baker = ShopFactory(name="Le Fournil", home_delivery=False)
    books = ShopFactory(name="Librairie", click_collect=True)
    bread = ProductFactory(
        shop=baker, title="Pain au levain", vat_bps=550, variants=[{"price_cents": 450, "stock": 10}]
    )
    novel = ProductFactory(
        shop=books, title="La Loire à vélo", vat_bps=550, variants=[{"price_cents": 2400, "stock": 3}]
    )
    return {"user": UserFactory().id, "bread": bread.variants[0].id, "novel": novel.variants[0].id}


def stock(variant_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Variant, variant_id).stock  # type: ignore[union-attr]


def test_an_order_is_split_per_shop_with_frozen_lines(town: dict[str, int]) -> None:
    user = db.session.get(User, town["user"])
    shopper_cart = ready_cart(user, (town["bread"], 2), (town["novel"], 1))  # type: ignore[arg-type]
    order = orders.place_order(user, shopper_cart, CONTACT, uuid.uuid4().hex)  # type: ignore[arg-type]
    db.session.commit()
    assert (
        order.status,
        [
            (
                vo.status,
                [(line.title, line.quantity, line.unit_price_cents, line.vat_bps) for line in vo.lines],
            )
            for vo in order.vendor_orders
        ],
        (order.items_cents, order.total_cents),
    ) == (
        OrderStatus.PENDING_PAYMENT,
        [
            (VendorOrderStatus.PENDING_PAYMENT, [("Pain au levain", 2, 450, 550)]),
            (VendorOrderStatus.PENDING_PAYMENT, [("La Loire à vélo", 1, 2400, 550)]),
        ],
        (3300, 3300),
    )


def test_placing_reserves_the_stock_and_empties_the_cart(town: dict[str, int]) -> None:
    user = db.session.get(User, town["user"])
    shopper_cart = ready_cart(user, (town["bread"], 2))  # type: ignore[arg-type]
    orders.place_order(user, shopper_cart, CONTACT, uuid.uuid4().hex)  # type: ignore[arg-type]
    db.session.commit()
    moves = db.session.scalars(
        sa.select(StockMovement.reason).where(
            StockMovement.variant_id == town["bread"], StockMovement.delta < 0
        )
    ).all()
    assert (stock(town["bread"]), moves, cart.find_cart(user, None).items) == (8, [StockReason.SALE], [])  # type: ignore[union-attr]


def test_numbers_follow_each_other(town: dict[str, int]) -> None:
    user = db.session.get(User, town["user"])
    numbers = []
    for _ in range(2):
        shopper_cart = ready_cart(user, (town["bread"], 1))  # type: ignore[arg-type]
        numbers.append(orders.place_order(user, shopper_cart, CONTACT, uuid.uuid4().hex).number)  # type: ignore[arg-type]
        db.session.commit()
    year = dt.datetime.now(dt.UTC).year
    first = int(numbers[0].rsplit("-", 1)[1])
    assert numbers == [f"M-{year}-{first:06d}", f"M-{year}-{first + 1:06d}"]


def test_the_same_checkout_twice_is_one_order(town: dict[str, int]) -> None:
    user = db.session.get(User, town["user"])
    shopper_cart = ready_cart(user, (town["novel"], 1))  # type: ignore[arg-type]
    token = uuid.uuid4().hex
    first = orders.place_order(user, shopper_cart, CONTACT, token)  # type: ignore[arg-type]
    db.session.commit()
    again = orders.place_order(user, shopper_cart, CONTACT, token)  # type: ignore[arg-type]
    assert (
        again.id,
        stock(town["novel"]),
        db.session.scalar(sa.select(sa.func.count()).select_from(Order)),
    ) == (
        first.id,
        2,
        1,
    )


def test_a_cart_that_is_not_ready_places_nothing(town: dict[str, int]) -> None:
    user = db.session.get(User, town["user"])
    shopper_cart = cart.open_cart(user, None)  # type: ignore[arg-type]
    cart.add(shopper_cart, town["novel"], 1)
    cart.add(shopper_cart, town["bread"], 1)
    db.session.commit()  # the bakery's part has no delivery chosen among two
    with pytest.raises(orders.OrderError, match="Choisissez comment recevoir"):
        orders.place_order(user, shopper_cart, CONTACT, uuid.uuid4().hex)  # type: ignore[arg-type]


def test_stock_gone_since_the_cart_page_places_nothing(town: dict[str, int]) -> None:
    user = db.session.get(User, town["user"])
    shopper_cart = ready_cart(user, (town["bread"], 2), (town["novel"], 3))  # type: ignore[arg-type]
    db.session.execute(sa.update(Variant).where(Variant.id == town["novel"]).values(stock=1))
    db.session.commit()
    with pytest.raises(orders.OrderError, match="il n’en reste que 1"):
        orders.place_order(user, shopper_cart, CONTACT, uuid.uuid4().hex)  # type: ignore[arg-type]


def test_stock_taken_during_the_checkout_rolls_everything_back(
    town: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cart was checked, then another checkout took the last copies before ours reserved them."""
    user = db.session.get(User, town["user"])
    shopper_cart = ready_cart(user, (town["bread"], 2), (town["novel"], 3))  # type: ignore[arg-type]
    checked = cart.summary(shopper_cart)
    monkeypatch.setattr(cart, "summary", lambda _cart: checked)
    db.session.execute(sa.update(Variant).where(Variant.id == town["novel"]).values(stock=1))
    db.session.commit()
    with pytest.raises(orders.OrderError, match="vient d’être épuisé"):
        orders.place_order(user, shopper_cart, CONTACT, uuid.uuid4().hex)  # type: ignore[arg-type]
    db.session.rollback()
    lines = db.session.scalar(sa.select(sa.func.count()).select_from(OrderLine))
    assert (stock(town["bread"]), stock(town["novel"]), lines) == (10, 1, 0)


def test_a_later_price_change_leaves_the_order_as_it_was(town: dict[str, int]) -> None:
    user = db.session.get(User, town["user"])
    shopper_cart = ready_cart(user, (town["bread"], 1))  # type: ignore[arg-type]
    order = orders.place_order(user, shopper_cart, CONTACT, uuid.uuid4().hex)  # type: ignore[arg-type]
    db.session.commit()
    variant = db.session.get(Variant, town["bread"])
    variant.price_cents = 990  # type: ignore[union-attr]
    variant.product.title = "Pain au levain (nouvelle recette)"  # type: ignore[union-attr]
    db.session.commit()
    db.session.expire_all()
    line = db.session.get(Order, order.id).vendor_orders[0].lines[0]  # type: ignore[union-attr]
    assert (line.title, line.unit_price_cents) == ("Pain au levain", 450)


def test_unpaid_orders_give_their_stock_back_once(town: dict[str, int]) -> None:
    user = db.session.get(User, town["user"])
    shopper_cart = ready_cart(user, (town["bread"], 4))  # type: ignore[arg-type]
    order = orders.place_order(user, shopper_cart, CONTACT, uuid.uuid4().hex)  # type: ignore[arg-type]
    db.session.commit()
    order_id = order.id
    with time_machine.travel(dt.datetime.now(dt.UTC) + orders.RESERVATION + dt.timedelta(minutes=1)):
        released = [tasks.release_expired(), tasks.release_expired()]
    db.session.expire_all()
    assert (released, stock(town["bread"]), db.session.get(Order, order_id).status) == (  # type: ignore[union-attr]
        [1, 0],
        10,
        OrderStatus.EXPIRED,
    )


def test_a_paid_window_not_yet_over_keeps_the_reservation(town: dict[str, int]) -> None:
    user = db.session.get(User, town["user"])
    shopper_cart = ready_cart(user, (town["bread"], 4))  # type: ignore[arg-type]
    orders.place_order(user, shopper_cart, CONTACT, uuid.uuid4().hex)  # type: ignore[arg-type]
    db.session.commit()
    assert (tasks.release_expired(), stock(town["bread"])) == (0, 6)


def test_fifty_checkouts_for_the_last_five_units_make_five_orders(
    services: Services, postgres_only: None, tmp_path: Path
) -> None:
    """Real commits, real connections: a database of its own, outside the test transaction."""
    with own_database_app(services, tmp_path, "marketplace_race") as app:
        with app.app_context():
            shop = ShopFactory(home_delivery=False, local_delivery=False)
            variant_id = ProductFactory(shop=shop, variants=[{"stock": 5}]).variants[0].id
            user_ids = [UserFactory().id for _ in range(50)]
            for user_id in user_ids:
                ready_cart(db.session.get(User, user_id), (variant_id, 1))  # type: ignore[arg-type]
            db.session.remove()
        outcomes: list[str] = []

        def checkout(user_id: int) -> None:
            user = db.session.get(User, user_id)
            shopper_cart = cart.find_cart(user, None)
            try:
                orders.place_order(user, shopper_cart, CONTACT, uuid.uuid4().hex)  # type: ignore[arg-type]
                db.session.commit()
                outcomes.append("ordered")
            except orders.OrderError:
                db.session.rollback()
                outcomes.append("sold out")

        at_once(app, checkout, [(user_id,) for user_id in user_ids])
        with app.app_context():
            left = db.session.get(Variant, variant_id).stock  # type: ignore[union-attr]
            placed = db.session.scalar(sa.select(sa.func.count()).select_from(Order))
            sales = db.session.scalar(
                sa.select(sa.func.count())
                .select_from(StockMovement)
                .where(StockMovement.reason == StockReason.SALE)
            )
    assert (outcomes.count("ordered"), outcomes.count("sold out"), placed, sales, left) == (5, 45, 5, 5, 0)
