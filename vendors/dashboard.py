"""The figures of a shop's dashboard: what is online, what waits for the shop, what is left to set up.

Read-only, a fixed number of queries whatever the shop's size: one for the products, one for the
orders, one for the reviews, and two for the plan when the reader may see it. "Today" (``today``) adds
at most three: the order parts waiting (to accept, to hand over today, returns), the low stock, and the
money on its way to the shop.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from app.cart.models import DeliveryMethod
from app.catalog.models import Product, ProductStatus, Variant
from app.database import utcnow
from app.extensions import db
from app.orders.models import Order, VendorOrder, VendorOrderStatus
from app.permissions import Permission
from app.reviews import services as reviews
from payouts import ledger, subscriptions
from payouts import services as payouts
from payouts.models import (
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    ShopSubscription,
    ShopTransfer,
    SubscriptionStatus,
)
from vendors.hours import TOWN_TZ
from vendors.models import ShopMember

# How many of each kind "today" lists; the counts say how many there are in all.
TODAY_LIMIT = 8


@dataclass(frozen=True)
class Figures:
    products_online: int
    products_draft: int
    products_out_of_stock: int  # online, and no variant left in stock
    products_total: int
    orders_to_accept: int
    orders_to_prepare: int  # accepted: to ship, or to make ready for pickup
    returns_to_handle: int
    orders_total: int  # paid at least once: those awaiting payment are not the shop's yet
    reviews_unanswered: int
    plan_to_choose: bool
    subscription: ShopSubscription | None

    @property
    def empty(self) -> bool:
        """Nothing at all yet: no product, whatever its state, and no order."""
        return self.products_total == 0 and self.orders_total == 0

    @property
    def card_missing(self) -> bool:
        """A paying plan whose billing has not started: the card was never given."""
        sub = self.subscription
        return bool(sub and sub.plan.monthly_price_cents and not sub.stripe_subscription_id)

    @property
    def plan_unpaid(self) -> bool:
        sub = self.subscription
        return bool(sub and sub.status in {SubscriptionStatus.PAST_DUE, SubscriptionStatus.INCOMPLETE})


def figures(member: ShopMember) -> Figures:
    """The dashboard's figures for ``member``; the plan only for those who may see the finances."""
    shop_id = member.shop_id
    in_stock = sa.exists().where(Variant.product_id == Product.id, Variant.stock > 0)
    products = db.session.execute(
        sa.select(
            sa.func.count().filter(Product.status == ProductStatus.ACTIVE),
            sa.func.count().filter(Product.status == ProductStatus.DRAFT),
            sa.func.count().filter(Product.status == ProductStatus.ACTIVE, ~in_stock),
            sa.func.count(),
        ).where(Product.shop_id == shop_id)
    ).one()
    orders = (
        sa.select(VendorOrder.status, sa.func.count())
        .where(VendorOrder.shop_id == shop_id, VendorOrder.status != VendorOrderStatus.PENDING_PAYMENT)
        .group_by(VendorOrder.status)
    )
    by_status: dict[VendorOrderStatus, int] = dict(db.session.execute(orders).all())
    subscription = None
    plan_to_choose = False
    if member.may(Permission.FINANCES):
        subscription = subscriptions.subscription_of(member.shop)
        plan_to_choose = subscription is None and bool(subscriptions.active_plans())
    return Figures(
        products_online=products[0],
        products_draft=products[1],
        products_out_of_stock=products[2],
        products_total=products[3],
        orders_to_accept=by_status.get(VendorOrderStatus.PAID, 0),
        orders_to_prepare=by_status.get(VendorOrderStatus.ACCEPTED, 0),
        returns_to_handle=by_status.get(VendorOrderStatus.RETURN_REQUESTED, 0),
        orders_total=sum(by_status.values()),
        reviews_unanswered=reviews.unanswered_count(member),
        plan_to_choose=plan_to_choose,
        subscription=subscription,
    )


# -- today ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LowStock:
    variant: Variant
    title: str

    @property
    def label(self) -> str:
        options = " · ".join(str(value) for value in (self.variant.options or {}).values())
        return f"{self.title} ({options})" if options else self.title


@dataclass(frozen=True)
class UpcomingTransfer:
    vendor_order_id: int
    number: str
    amount_cents: int
    expected_at: dt.datetime


@dataclass(frozen=True)
class Today:
    """What the shop has to do this morning, and the money on its way; only what the reader may see."""

    threshold: int
    to_accept: list[VendorOrder] = field(default_factory=list)
    pickups: list[VendorOrder] = field(default_factory=list)  # click & collect due today, by slot
    pickups_count: int = 0
    returns: list[VendorOrder] = field(default_factory=list)
    low_stock: list[LowStock] = field(default_factory=list)
    low_stock_count: int = 0
    transfers: list[UpcomingTransfer] = field(default_factory=list)
    transfers_count: int = 0
    transfers_cents: int = 0

    @property
    def anything(self) -> bool:
        return bool(self.to_accept or self.pickups or self.returns or self.low_stock or self.transfers)


def low_stock_threshold() -> int:
    """A variant with this many left or fewer is low on stock (the ``LOW_STOCK_THRESHOLD`` setting)."""
    return int(current_app.config.get("LOW_STOCK_THRESHOLD", 2))


def town_day(now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The town's calendar day around ``now``, as a UTC interval [start, end)."""
    day = now.astimezone(TOWN_TZ).date()
    start = dt.datetime.combine(day, dt.time(0), TOWN_TZ)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), TOWN_TZ)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def today(member: ShopMember, now: dt.datetime | None = None) -> Today:
    """The dashboard's "today" for ``member``: at most three queries whatever the shop's size."""
    now = now or utcnow()
    shop_id = member.shop_id
    parts: dict[str, list[VendorOrder]] = {"accept": [], "pickup": [], "return": []}
    totals: dict[str, int] = {}
    if member.may(Permission.ORDERS):
        parts, totals = _waiting_parts(shop_id, now)
    low: list[LowStock] = []
    low_count = 0
    if member.may(Permission.PRODUCTS):
        low, low_count = _low_stock(shop_id)
    transfers: list[UpcomingTransfer] = []
    transfers_count = transfers_cents = 0
    if member.may(Permission.FINANCES):
        transfers, transfers_count, transfers_cents = _upcoming_transfers(shop_id)
    return Today(
        threshold=low_stock_threshold(),
        to_accept=parts["accept"],
        pickups=parts["pickup"],
        pickups_count=totals.get("pickup", 0),
        returns=parts["return"],
        low_stock=low,
        low_stock_count=low_count,
        transfers=transfers,
        transfers_count=transfers_count,
        transfers_cents=transfers_cents,
    )


def _waiting_parts(shop_id: int, now: dt.datetime) -> tuple[dict[str, list[VendorOrder]], dict[str, int]]:
    """Parts to accept (oldest first), click & collect parts due today (by slot) and returns to confirm,
    the first few of each kind and how many in all, in one query (ranked by kind)."""
    start, end = town_day(now)
    waiting = (VendorOrderStatus.PAID, VendorOrderStatus.RETURN_REQUESTED)
    kind = sa.case(
        (VendorOrder.status == VendorOrderStatus.PAID, "accept"),
        (VendorOrder.status == VendorOrderStatus.RETURN_REQUESTED, "return"),
        else_="pickup",
    )
    order_key = sa.case(
        (VendorOrder.status.in_(waiting), VendorOrder.created_at), else_=VendorOrder.pickup_slot
    )
    ranked = (
        sa.select(
            VendorOrder.id.label("id"),
            kind.label("kind"),
            sa.func.row_number().over(partition_by=kind, order_by=(order_key, VendorOrder.id)).label("rank"),
            sa.func.count().over(partition_by=kind).label("total"),
        )
        .where(
            VendorOrder.shop_id == shop_id,
            sa.or_(
                VendorOrder.status.in_(waiting),
                sa.and_(
                    VendorOrder.delivery_method == DeliveryMethod.CLICK_COLLECT,
                    VendorOrder.status.in_((VendorOrderStatus.ACCEPTED, VendorOrderStatus.READY_FOR_PICKUP)),
                    VendorOrder.pickup_slot >= start,
                    VendorOrder.pickup_slot < end,
                ),
            ),
        )
        .subquery()
    )
    rows = db.session.execute(
        sa.select(VendorOrder, ranked.c.kind, ranked.c.total)
        .join(ranked, ranked.c.id == VendorOrder.id)
        .where(ranked.c.rank <= TODAY_LIMIT)
        .options(joinedload(VendorOrder.order))
        .order_by(ranked.c.kind, ranked.c.rank)
    ).all()
    parts: dict[str, list[VendorOrder]] = {"accept": [], "pickup": [], "return": []}
    totals: dict[str, int] = {}
    for part, part_kind, total in rows:
        parts[part_kind].append(part)
        totals[part_kind] = int(total)
    return parts, totals


def _low_stock(shop_id: int) -> tuple[list[LowStock], int]:
    """The online variants with the least stock left, at or under the threshold, and how many in all."""
    rows = db.session.execute(
        sa.select(Variant, Product.title, sa.func.count().over())
        .join(Product, Product.id == Variant.product_id)
        .where(
            Variant.shop_id == shop_id,
            Product.status == ProductStatus.ACTIVE,
            Variant.stock <= low_stock_threshold(),
        )
        .order_by(Variant.stock, Product.title, Variant.id)
        .limit(TODAY_LIMIT)
    ).all()
    return [LowStock(variant, title) for variant, title, _ in rows], int(rows[0][2]) if rows else 0


def _upcoming_transfers(shop_id: int) -> tuple[list[UpcomingTransfer], int, int]:
    """Parts received and not transferred yet: what the ledger holds for each, and when the payout hold
    lets it go (those with a return open or a dispute wait longer). The first few, their count and sum."""
    held = -sa.func.sum(LedgerEntry.amount_cents)  # a liability: the shop is owed the credit
    received = (VendorOrderStatus.DELIVERED, VendorOrderStatus.COLLECTED, VendorOrderStatus.COMPLETED)
    rows = db.session.execute(
        sa.select(
            VendorOrder.id,
            Order.number,
            VendorOrder.received_at,
            held,
            sa.func.count().over(),
            sa.func.sum(held).over(),
        )
        .join(Order, Order.id == VendorOrder.order_id)
        .join(LedgerTransaction, LedgerTransaction.vendor_order_id == VendorOrder.id)
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(
            LedgerAccount,
            sa.and_(
                LedgerAccount.id == LedgerEntry.account_id, LedgerAccount.code == ledger.pending(shop_id)
            ),
        )
        .where(
            VendorOrder.shop_id == shop_id,
            VendorOrder.status.in_(received),
            VendorOrder.received_at.is_not(None),
            ~sa.exists().where(ShopTransfer.vendor_order_id == VendorOrder.id),
        )
        .group_by(VendorOrder.id, Order.number, VendorOrder.received_at)
        .having(held > 0)
        .order_by(VendorOrder.received_at, VendorOrder.id)
        .limit(TODAY_LIMIT)
    ).all()
    hold = payouts.hold()
    transfers = [
        UpcomingTransfer(part_id, number, int(amount), (received_at or utcnow()) + hold)
        for part_id, number, received_at, amount, _, _ in rows
    ]
    return transfers, (int(rows[0][4]) if rows else 0), (int(rows[0][5]) if rows else 0)
