"""The figures of a shop's dashboard: what is online, what waits for the shop, what is left to set up.

Read-only, a fixed number of queries whatever the shop's size: one for the products, one for the
orders, one for the reviews, and two for the plan when the reader may see it.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from app.catalog.models import Product, ProductStatus, Variant
from app.extensions import db
from app.orders.models import VendorOrder, VendorOrderStatus
from app.permissions import Permission
from app.reviews import services as reviews
from payouts import subscriptions
from payouts.models import ShopSubscription, SubscriptionStatus
from vendors.models import ShopMember


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
