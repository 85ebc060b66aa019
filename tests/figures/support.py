"""Paid orders written as checkout and payment would leave them (rows, frozen commission, the ledger's
sale and commission), at a chosen time, without going through Stripe."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

import time_machine

from app.cart.models import DeliveryMethod
from app.extensions import db
from app.figures import tasks
from app.orders.models import Order, OrderLine, OrderStatus, VendorOrder, VendorOrderStatus
from payouts import services as payouts
from vendors.models import Shop

NUMBERS = itertools.count(1)


def paid_order(
    shopper_id: int,
    shop: Shop,
    *,
    at: dt.datetime,
    prices: tuple[int, ...] = (1250,),
    delivery_cents: int = 0,
    method: DeliveryMethod = DeliveryMethod.CLICK_COLLECT,
    postcode: str = "37000",
) -> Order:
    """One shopper's order from one shop, paid at ``at`` (UTC); committed."""
    with time_machine.travel(at, tick=False):
        items = sum(prices)
        order = Order(
            number=f"T-{at.year}-{next(NUMBERS):06d}",
            checkout_token=uuid.uuid4().hex,
            user_id=shopper_id,
            status=OrderStatus.PAID,
            items_cents=items,
            delivery_cents=delivery_cents,
            total_cents=items + delivery_cents,
            email="client@example.com",
            full_name="Client Test",
            postcode=postcode,
            reserved_until=at + dt.timedelta(minutes=30),
            paid_at=at,
        )
        part = VendorOrder(
            shop_id=shop.id,
            status=VendorOrderStatus.PAID,
            delivery_method=method,
            delivery_fee_cents=delivery_cents,
            delivery_vat_bps=2000,
            items_cents=items,
            total_cents=items + delivery_cents,
        )
        for index, price in enumerate(prices):
            part.lines.append(
                OrderLine(
                    title=f"Article {index}",
                    sku=f"SKU-{index}",
                    unit_price_cents=price,
                    quantity=1,
                    vat_bps=2000,
                    total_cents=price,
                )
            )
        order.vendor_orders.append(part)
        db.session.add(order)
        db.session.flush()
        payouts.freeze_commission(part)
        payouts.record_payment(order)
        db.session.commit()
    return order


def rollup(start: dt.date, end: dt.date | None = None) -> int:
    return tasks.rollup_range(start, end or start)
