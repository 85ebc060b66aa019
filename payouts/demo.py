"""The demo town's plans, the platform's commission, and each shop on the plan its data names.

Demo shops are put on their plan without a Stripe subscription (no card was ever given): their back
office asks the owner to add a card to start the monthly billing.
"""

from __future__ import annotations

import sqlalchemy as sa

from app.accounts import services as accounts
from app.demo import MANAGER_EMAIL, DemoContext
from app.extensions import db
from payouts import commission, subscriptions
from payouts.models import Plan, RuleScope, ShopSubscription, SubscriptionStatus
from vendors.models import Shop

PLANS = (
    # slug, name, price (cents, tax included), commission (bps), product limit, description
    ("decouverte", "Découverte", 0, 1200, 100, "Pour commencer : sans abonnement, commission de 12 %."),
    ("commercant", "Commerçant", 1900, 800, 500, "Pour vendre chaque semaine : commission de 8 %."),
    ("premium", "Premium", 4900, 500, None, "Pour les boutiques très actives : commission de 5 %."),
)
PLATFORM_RATE_BPS = 1000


def load_plans(ctx: DemoContext) -> None:
    manager = accounts.find_by_email(MANAGER_EMAIL)
    assert manager is not None, "the people step runs first"
    if commission.current_rule(RuleScope.PLATFORM, None) is None:
        commission.set_rule(manager, RuleScope.PLATFORM, None, PLATFORM_RATE_BPS, note="demo")
    plans = {plan.slug: plan for plan in db.session.scalars(sa.select(Plan))}
    for slug, name, price, rate, limit, description in PLANS:
        if slug not in plans:
            plans[slug] = subscriptions.save_plan(
                manager,
                None,
                name=name,
                slug=slug,
                monthly_price_cents=price,
                commission_bps=rate,
                product_limit=limit,
                description=description,
            )
    subscribed = set(db.session.scalars(sa.select(ShopSubscription.shop_id)))
    shops = {shop.slug: shop for shop in db.session.scalars(sa.select(Shop))}
    created = 0
    for row in ctx.read_json("vendors.json"):
        shop = shops.get(row["slug"])
        if shop is None or shop.id in subscribed:
            continue
        db.session.add(
            ShopSubscription(shop_id=shop.id, plan_id=plans[row["plan"]].id, status=SubscriptionStatus.ACTIVE)
        )
        created += 1
    db.session.flush()
    ctx.counts["plans"] = len(plans)
    ctx.counts["shop subscriptions created"] = created
