"""The commission engine: which rate applies, and what a shop's part of an order owes the platform.

Rules are dated and never edited (a change is a new rule from a later day). For each line of an order
the most specific rule of the order's day applies: the shop's own rate, else its product's category
(or that category's parent), else the shop's plan, else the platform's default. A fixed fee per shop
order comes from the shop, plan or platform rule. The commission is computed exactly per line, summed
per shop order and rounded once; the platform's VAT on it (20 %) is rounded once too. Both are frozen
on the order when it is placed, so editing a rule never changes a past order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from app import money
from app.accounts.models import User
from app.audit import services as audit
from app.catalog.models import Category, Product
from app.errors import ServiceError
from app.extensions import db
from app.orders.models import Refund, RefundStatus, VendorOrder
from payouts.models import CommissionRule, Plan, RuleScope, ShopSubscription
from vendors.hours import today

COMMISSION_VAT_BPS = 2000  # the platform sells its service to shops with French VAT at 20 %


class CommissionError(ServiceError):
    """A refused commission rule."""


@dataclass(frozen=True)
class Rules:
    """The rules in force on one day, by scope and target; built once per computation."""

    day: dt.date
    by_target: dict[tuple[RuleScope, int | None], CommissionRule]

    @classmethod
    def on(cls, day: dt.date) -> Rules:
        latest: dict[tuple[RuleScope, int | None], CommissionRule] = {}
        query = (
            sa.select(CommissionRule)
            .where(CommissionRule.effective_from <= day)
            .order_by(CommissionRule.effective_from, CommissionRule.id)
        )
        for rule in db.session.scalars(query):
            latest[(rule.scope, _target(rule))] = rule  # later dates (then later rules) win
        return cls(day, latest)

    def get(self, scope: RuleScope, target: int | None) -> CommissionRule | None:
        return self.by_target.get((scope, target))

    def for_line(self, shop_id: int, category: Category | None, plan_id: int | None) -> CommissionRule | None:
        """The most specific rule for a product of ``category`` sold by the shop."""
        found = self.get(RuleScope.SHOP, shop_id)
        while found is None and category is not None:
            found = self.get(RuleScope.CATEGORY, category.id)
            if found is not None and found.rate_bps is None:
                found = None  # the category's own rate was ended: its parent's, or the plan's, apply
            category = category.parent
        if found is None and plan_id is not None:
            found = self.get(RuleScope.PLAN, plan_id)
        return found or self.get(RuleScope.PLATFORM, None)

    def fixed_fee(self, shop_id: int, plan_id: int | None) -> int:
        for scope, target in (
            (RuleScope.SHOP, shop_id),
            (RuleScope.PLAN, plan_id),
            (RuleScope.PLATFORM, None),
        ):
            rule = self.get(scope, target) if target is not None or scope == RuleScope.PLATFORM else None
            if rule is not None:
                return rule.fixed_fee_cents
        return 0


def _target(rule: CommissionRule) -> int | None:
    return {
        RuleScope.SHOP: rule.shop_id,
        RuleScope.CATEGORY: rule.category_id,
        RuleScope.PLAN: rule.plan_id,
        RuleScope.PLATFORM: None,
    }[rule.scope]


def plan_id_of(shop_id: int) -> int | None:
    return db.session.scalar(sa.select(ShopSubscription.plan_id).where(ShopSubscription.shop_id == shop_id))


def default_rate_bps() -> int:
    """With no platform rule at all (a fresh install), the configured default rate."""
    return int(current_app.config.get("COMMISSION_DEFAULT_BPS", 1000))


def freeze(part: VendorOrder, day: dt.date | None = None) -> None:
    """Set each line's rate and the part's commission and VAT on it, as of ``day`` (the order's)."""
    rules = Rules.on(day or today())
    plan_id = plan_id_of(part.shop_id)
    products = {
        product.id: product
        for product in db.session.scalars(
            sa.select(Product).where(
                Product.id.in_([line.product_id for line in part.lines if line.product_id])
            )
        )
    }
    exact = Decimal(0)
    for line in part.lines:
        product = products.get(line.product_id) if line.product_id else None
        rule = rules.for_line(part.shop_id, product.category if product else None, plan_id)
        line.commission_bps = rule.rate_bps if rule and rule.rate_bps is not None else default_rate_bps()
        exact += money.rate_share(line.total_cents, line.commission_bps)
    fee = rules.fixed_fee(part.shop_id, plan_id)
    commission = min(money.round_cents(exact) + fee, part.items_cents)  # never more than the goods
    part.commission_cents = commission
    part.commission_vat_cents = money.apply_rate(commission, COMMISSION_VAT_BPS)


def refund_share(part: VendorOrder, refund: Refund) -> tuple[int, int]:
    """(commission, VAT on it) given back with ``refund``: in proportion to the goods it refunds,
    rounded once; the refund that completes the goods gives back exactly what is left. None when the
    platform keeps its commission on refunds (``COMMISSION_REFUNDED = False``)."""
    if not current_app.config.get("COMMISSION_REFUNDED", True) or not part.commission_cents:
        return 0, 0
    others = [done for done in _money_moved(part) if done is not refund]
    given = sum(done.commission_cents for done in others)
    given_vat = sum(done.commission_vat_cents for done in others)
    goods_before = sum(done.amount_cents - done.delivery_cents for done in others)
    goods = refund.amount_cents - refund.delivery_cents
    if goods_before + goods >= part.items_cents:
        return part.commission_cents - given, part.commission_vat_cents - given_vat
    commission = min(
        money.round_cents(Decimal(part.commission_cents * goods) / part.items_cents),
        part.commission_cents - given,
    )
    vat = min(money.apply_rate(commission, COMMISSION_VAT_BPS), part.commission_vat_cents - given_vat)
    return commission, vat


def given_back(part: VendorOrder) -> tuple[int, int]:
    """(commission, VAT on it) the part's refunds have given back so far: those that moved money, made
    by the marketplace or on Stripe's dashboard (whose Stripe id is the outside refund's)."""
    refunds = _money_moved(part)
    return sum(done.commission_cents for done in refunds), sum(done.commission_vat_cents for done in refunds)


def _money_moved(part: VendorOrder) -> list[Refund]:
    # A failed refund gave its commission back to the platform again.
    return [done for done in part.refunds if done.stripe_id and done.status != RefundStatus.FAILED]


# -- the manager's rules ----------------------------------------------------------------------------


def set_rule(
    manager: User,
    scope: RuleScope | str,
    target_id: int | None,
    rate_bps: Any,
    *,
    fixed_fee_cents: Any = 0,
    effective_from: dt.date | None = None,
    note: str = "",
) -> CommissionRule:
    """A new rule from ``effective_from`` (today by default; never in the past: past orders never change)."""
    if not manager.is_manager:
        raise CommissionError(_l("Réservé à la gestion de la place de marché."))
    try:
        scope = RuleScope(scope)
    except ValueError:
        raise CommissionError(_l("Portée de règle inconnue."), "scope") from None
    if rate_bps is None and scope == RuleScope.CATEGORY:
        pass  # ends the category's own rate
    elif not isinstance(rate_bps, int) or isinstance(rate_bps, bool) or not 0 <= rate_bps <= 10_000:
        raise CommissionError(_l("Le taux doit être compris entre 0 et 100 %."), "rate")
    if not isinstance(fixed_fee_cents, int) or isinstance(fixed_fee_cents, bool) or fixed_fee_cents < 0:
        raise CommissionError(_l("Les frais fixes ne peuvent pas être négatifs."), "fixed_fee")
    if scope == RuleScope.CATEGORY and fixed_fee_cents:
        raise CommissionError(
            _l("Les frais fixes se règlent par boutique, par forfait ou pour tous."), "fixed_fee"
        )
    start = effective_from or today()
    if start < today():
        raise CommissionError(
            _l("Une règle s’applique à partir d’aujourd’hui au plus tôt."), "effective_from"
        )
    if (scope == RuleScope.PLATFORM) != (target_id is None):
        raise CommissionError(_l("Choisissez à quoi la règle s’applique."), "target")
    rule = CommissionRule(
        scope=scope,
        shop_id=target_id if scope == RuleScope.SHOP else None,
        category_id=target_id if scope == RuleScope.CATEGORY else None,
        plan_id=target_id if scope == RuleScope.PLAN else None,
        rate_bps=rate_bps,
        fixed_fee_cents=fixed_fee_cents,
        effective_from=start,
        created_by_id=manager.id,
        note=note.strip()[:300],
    )
    db.session.add(rule)
    db.session.flush()
    audit.record(
        manager,
        "commission_rule",
        rule.id,
        "created",
        scope=scope.value,
        target=target_id,
        rate_bps=rate_bps,
        fixed_fee_cents=fixed_fee_cents,
        effective_from=start.isoformat(),
    )
    return rule


def current_rule(
    scope: RuleScope, target_id: int | None, day: dt.date | None = None
) -> CommissionRule | None:
    return Rules.on(day or today()).get(scope, target_id)


def category_rates() -> dict[int, int | None]:
    """Every category's own rate today, by category id."""
    rules = Rules.on(today())
    return {
        target: rule.rate_bps
        for (scope, target), rule in rules.by_target.items()
        if scope == RuleScope.CATEGORY and target is not None
    }


def category_rate(category_id: int) -> int | None:
    """The category's own rate today (None: its products follow the parent's, plan's or platform's)."""
    rule = current_rule(RuleScope.CATEGORY, category_id)
    return rule.rate_bps if rule else None


def upcoming_rules() -> list[CommissionRule]:
    """Rules that start after today, soonest first."""
    return list(
        db.session.scalars(
            sa.select(CommissionRule)
            .where(CommissionRule.effective_from > today())
            .order_by(CommissionRule.effective_from)
        )
    )


def rules_history(limit: int = 100) -> list[CommissionRule]:
    return list(
        db.session.scalars(
            sa.select(CommissionRule)
            .order_by(CommissionRule.effective_from.desc(), CommissionRule.id.desc())
            .limit(limit)
        )
    )


def plans() -> Iterable[Plan]:
    return db.session.scalars(sa.select(Plan).order_by(Plan.position, Plan.id))
