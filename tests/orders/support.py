"""A small town with two shops, a shopper with a ready cart, and the steps of a checkout, for order tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.accounts.models import User
from app.cart import services as cart
from app.cart import slots
from app.cart.models import DeliveryMethod
from app.catalog.models import Variant
from app.database import utcnow
from app.extensions import db
from app.orders.models import Order, VendorOrder
from tests.factories import PASSWORD, ProductFactory, ShopFactory, UserFactory, owner_of
from tests.plugins.application import Client

ADDRESS = {
    "email": "camille@example.com",
    "full_name": "Camille Martin",
    "phone": "06 12 34 56 78",
    "street": "15 rue de la Paix",
    "postcode": "37000",
    "city": "Bellerive-sur-Loire",
    "country": "FR",
    "accept_terms": "y",
}


@dataclass
class Town:
    shopper_id: int
    baker_id: int
    books_id: int
    baker_owner_email: str
    books_owner_email: str
    bread: int  # variant ids
    cake: int
    novel: int

    def shopper(self) -> User:
        user = db.session.get(User, self.shopper_id)
        assert user is not None
        return user


def make_town() -> Town:
    """A bakery (local delivery, 4,90 €) and a bookshop (click & collect, carrier delivery 5,90 €)."""
    baker = owner_of(
        ShopFactory(name="Le Fournil", slug="le-fournil", home_delivery=False, click_collect=False),
        email="boulanger@example.com",
    )
    books = owner_of(
        ShopFactory(
            name="Librairie du Pont",
            slug="librairie-du-pont",
            local_delivery=False,
            home_delivery=True,
            home_delivery_fee_cents=590,
        ),
        email="libraire@example.com",
    )
    bread = ProductFactory(
        shop=baker.shop, title="Pain au levain", vat_bps=550, variants=[{"price_cents": 450, "stock": 10}]
    )
    cake = ProductFactory(
        shop=baker.shop, title="Tarte aux pommes", vat_bps=550, variants=[{"price_cents": 1800, "stock": 2}]
    )
    novel = ProductFactory(
        shop=books.shop, title="La Loire à vélo", vat_bps=550, variants=[{"price_cents": 2400, "stock": 3}]
    )
    shopper = UserFactory(email="camille@example.com", first_name="Camille", last_name="Martin")
    return Town(
        shopper_id=shopper.id,
        baker_id=baker.shop.id,
        books_id=books.shop.id,
        baker_owner_email="boulanger@example.com",
        books_owner_email="libraire@example.com",
        bread=bread.variants[0].id,
        cake=cake.variants[0].id,
        novel=novel.variants[0].id,
    )


def fill_cart(town: Town, *items: tuple[int, int], books: str = DeliveryMethod.HOME_DELIVERY) -> None:
    """The shopper's cart, with the bakery delivering locally and the bookshop as told."""
    shopper_cart = cart.open_cart(town.shopper(), None)
    for variant_id, quantity in items:
        cart.add(shopper_cart, variant_id, quantity)
    cart.set_postcode(shopper_cart, "37000")
    db.session.flush()
    for part in cart.summary(shopper_cart).parts:
        if part.shop.id == town.baker_id:
            cart.choose_delivery(shopper_cart, part.shop.id, DeliveryMethod.LOCAL_DELIVERY)
        elif books == DeliveryMethod.CLICK_COLLECT:
            first = slots.pickup_slots(part.shop, utcnow())[0]
            cart.choose_delivery(shopper_cart, part.shop.id, books, pickup_slot=first.start)
        else:
            cart.choose_delivery(shopper_cart, part.shop.id, books)
    db.session.commit()


def login(client: Client, email: str) -> None:
    assert client.submit("/connexion", {"email": email, "password": PASSWORD}).status_code == 302


TOKEN = re.compile(r'name="checkout_token" type="hidden" value="([^"]+)"')
ATTEMPT = re.compile(r'name="attempt" type="hidden" value="([^"]+)"')


def checkout(client: Client, **changes: str) -> tuple[Any, str]:
    """Post the checkout form as the page gives it; the response and the form's one-time token."""
    page = client.get("/commande").get_data(as_text=True)
    found = TOKEN.search(page)
    assert found, page[:2000]
    token = found.group(1)
    data = {**ADDRESS, "checkout_token": token, **changes}
    response = client.submit("/commande", data, form_url="/commande")
    return response, token


def pay(client: Client, number: str, card: str = "pm_card_visa", attempt: str | None = None) -> Any:
    """Post the payment form; with ``attempt``, the same form posted again (a double click, a replay)."""
    url = f"/commandes/{number}/paiement"
    if attempt is None:
        found = ATTEMPT.search(client.get(url).get_data(as_text=True))
        assert found, "no payment form"
        attempt = found.group(1)
    return client.submit(url, {"payment_method": card, "attempt": attempt}, form_url="/")


def only_order(shopper_id: int) -> Order:
    db.session.expire_all()
    return db.session.execute(sa.select(Order).where(Order.user_id == shopper_id)).scalar_one()


def stock(variant_id: int) -> int:
    db.session.expire_all()
    variant = db.session.get(Variant, variant_id)
    assert variant is not None
    return variant.stock


def part_of(order: Order, shop_id: int) -> VendorOrder:
    return next(part for part in order.vendor_orders if part.shop_id == shop_id)
