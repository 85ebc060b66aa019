"""Order use cases. For now: placing an order from a ready cart (stock reserved atomically, prices and
VAT frozen, numbered without gaps) and giving the stock back when an order is not paid in time.

Placing is all or nothing: one variant short and the whole transaction is rolled back by the caller,
so no order, no line and no stock movement is left half-written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from app.accounts.models import User
from app.cart import services as cart_services
from app.cart.models import Cart
from app.catalog.models import StockReason
from app.catalog.services import move_stock
from app.database import utcnow
from app.errors import ServiceError
from app.extensions import db
from app.orders.models import Order, OrderCounter, OrderLine, OrderStatus, VendorOrder, VendorOrderStatus

RESERVATION = dt.timedelta(minutes=30)


class OrderError(ServiceError):
    """A refused order use case."""


@dataclass(frozen=True)
class Contact:
    email: str
    full_name: str
    phone: str = ""
    street: str = ""
    postcode: str = ""
    city: str = ""
    country: str = "FR"


def next_number(year: int) -> str:
    """M-2026-000123: the year's next number, taken under the counter row's lock (no gaps, no twins)."""
    bump = (
        sa.update(OrderCounter)
        .where(OrderCounter.year == year)
        .values(last=OrderCounter.last + 1)
        .returning(OrderCounter.last)
    )
    counter = db.session.execute(bump).scalar_one_or_none()
    if counter is None:  # the year's first order; another checkout may be creating the row too
        try:
            with db.session.begin_nested():
                db.session.add(OrderCounter(year=year, last=1))
            counter = 1
        except IntegrityError:
            counter = db.session.execute(bump).scalar_one()
    return f"M-{year}-{counter:06d}"


def _reserve(actor: User, variant_id: int, quantity: int, title: str) -> None:
    """Take ``quantity`` from the stock, or refuse (the caller rolls the whole order back)."""
    if move_stock(actor, variant_id, -quantity, StockReason.SALE) is None:
        raise OrderError(_l("« %(title)s » vient d’être épuisé : revoyez votre panier.", title=title))


def place_order(shopper: User, cart: Cart, contact: Contact, checkout_token: str) -> Order:
    """An order awaiting payment from a ready cart; the stock is reserved and the cart emptied.

    The same ``checkout_token`` twice (a double click, a replayed request) returns the first order.
    """
    existing = db.session.scalar(sa.select(Order).where(Order.checkout_token == checkout_token))
    if existing is not None:
        if existing.user_id != shopper.id:
            raise OrderError(_l("Ce formulaire de commande a déjà servi."))
        return existing
    if cart.user_id != shopper.id:
        raise OrderError(_l("Ce panier n’est pas le vôtre."))
    summary = cart_services.summary(cart)
    if not summary.ready:
        raise OrderError(summary.problems[0] if summary.problems else _l("Votre panier est vide."))
    now = utcnow()
    order = Order(
        number=next_number(now.year),
        checkout_token=checkout_token,
        user_id=shopper.id,
        status=OrderStatus.PENDING_PAYMENT,
        items_cents=summary.items_cents,
        delivery_cents=summary.delivery_cents,
        total_cents=summary.total_cents,
        email=contact.email,
        phone=contact.phone,
        full_name=contact.full_name,
        street=contact.street,
        postcode=contact.postcode,
        city=contact.city,
        country=contact.country,
        reserved_until=now + RESERVATION,
    )
    # Lock and take stock in primary-key order, so concurrent checkouts never deadlock.
    lines = sorted((line for part in summary.parts for line in part.lines), key=lambda line: line.variant.id)
    for line in lines:
        _reserve(shopper, line.variant.id, line.item.quantity, line.product.title)
    for part in summary.parts:
        assert part.chosen is not None  # a ready cart has a delivery for every shop
        order.vendor_orders.append(
            VendorOrder(
                shop_id=part.shop.id,
                status=VendorOrderStatus.PENDING_PAYMENT,
                delivery_method=part.chosen.method,
                relay_point_id=part.relay_point_id,
                delivery_fee_cents=part.delivery_cents,
                delivery_vat_bps=part.delivery_vat_bps,
                items_cents=part.items_cents,
                total_cents=part.total_cents,
                lines=[
                    OrderLine(
                        variant_id=line.variant.id,
                        product_id=line.product.id,
                        title=line.product.title,
                        variant_label=line.variant.label,
                        sku=line.variant.sku,
                        unit_price_cents=line.unit_cents,
                        quantity=line.item.quantity,
                        vat_bps=line.product.vat_bps,
                        total_cents=line.total_cents,
                    )
                    for line in part.lines
                ],
            )
        )
    db.session.add(order)
    cart.items.clear()
    cart.deliveries.clear()
    return order


def release(order: Order) -> None:
    """An unpaid order expires: its stock goes back, each line with its movement."""
    if order.status != OrderStatus.PENDING_PAYMENT:
        return
    for vendor_order in order.vendor_orders:
        for line in sorted(vendor_order.lines, key=lambda line: line.variant_id or 0):
            if line.variant_id is None:
                continue  # the product was deleted since: nothing to give back to
            move_stock(None, line.variant_id, line.quantity, StockReason.RELEASE, order.number)
        vendor_order.status = VendorOrderStatus.CANCELLED
    order.status = OrderStatus.EXPIRED


def expired_orders(now: dt.datetime | None = None) -> Iterable[Order]:
    """Orders still awaiting payment past their reservation, locked for release."""
    return db.session.scalars(
        sa.select(Order)
        .where(Order.status == OrderStatus.PENDING_PAYMENT, Order.reserved_until < (now or utcnow()))
        .order_by(Order.id)
        .with_for_update(skip_locked=True)
    )
