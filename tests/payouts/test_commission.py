"""Commission rules: the most specific rule of the order's day, frozen on the order, never changed after."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import time_machine
from flask import Flask

from app.accounts.models import Role
from app.cart import services as cart
from app.catalog.models import Category, Variant
from app.extensions import db
from app.orders import services as orders
from payouts import commission
from payouts.models import Plan, RuleScope, ShopSubscription, SubscriptionStatus
from tests.factories import UserFactory
from tests.orders.support import Town, fill_cart, make_town, part_of
from vendors.hours import TOWN_TZ


@pytest.fixture
def town(app_ctx: Flask) -> Town:
    return make_town()


@pytest.fixture
def manager(app_ctx: Flask):  # type: ignore[no-untyped-def]
    return UserFactory(role=Role.MANAGER, email="gestion@example.com")


def place(town: Town, *items: tuple[int, int]) -> orders.Order:
    fill_cart(town, *items)
    shopper = town.shopper()
    found = cart.find_cart(shopper, None)
    assert found is not None
    order = orders.place_order(
        shopper,
        found,
        orders.Contact(
            email="camille@example.com",
            full_name="Camille",
            phone="0612345678",
            street="1 rue",
            postcode="37000",
            city="Bellerive",
        ),
        uuid.uuid4().hex,
    )
    db.session.commit()
    return order


def test_the_most_specific_rule_of_the_day_applies_per_line(town: Town, manager) -> None:  # type: ignore[no-untyped-def]
    commission.set_rule(manager, RuleScope.PLATFORM, None, 1000)
    plan = Plan(slug="commercant", name="Commerçant", monthly_price_cents=1900)
    db.session.add(plan)
    db.session.flush()
    db.session.add(ShopSubscription(shop_id=town.books_id, plan_id=plan.id, status=SubscriptionStatus.ACTIVE))
    commission.set_rule(manager, RuleScope.PLAN, plan.id, 800)
    variant = db.session.get(Variant, town.bread)
    assert variant is not None
    bread = variant.product
    assert bread is not None
    parent = Category(slug="alimentation", name="Alimentation")
    db.session.add(parent)
    db.session.flush()
    bread.category.parent = parent
    commission.set_rule(manager, RuleScope.CATEGORY, parent.id, 600)  # the parent's rate reaches the child
    commission.set_rule(manager, RuleScope.SHOP, town.baker_id, 1500, fixed_fee_cents=30)  # the shop's wins
    db.session.commit()

    order = place(town, (town.bread, 2), (town.cake, 1), (town.novel, 1))
    bakery, books = part_of(order, town.baker_id), part_of(order, town.books_id)
    assert [line.commission_bps for line in bakery.lines] == [1500, 1500]
    # 15 % of 9,00 + 18,00 = 4,05, plus the 0,30 fixed fee; VAT 20 % on it
    assert (bakery.commission_cents, bakery.commission_vat_cents) == (435, 87)
    assert [line.commission_bps for line in books.lines] == [800]  # the bookshop's plan
    assert (books.commission_cents, books.commission_vat_cents) == (192, 38)


def test_rounding_is_once_per_shop_order_not_per_line(town: Town, manager) -> None:  # type: ignore[no-untyped-def]
    commission.set_rule(manager, RuleScope.PLATFORM, None, 333)  # 3,33 %
    order = place(town, (town.bread, 1), (town.cake, 1))
    bakery = part_of(order, town.baker_id)
    # 4,50 × 3,33 % = 0,14985 and 18,00 × 3,33 % = 0,5994: 0,74925 → 0,75 (per line it would be 0,15 + 0,60)
    assert bakery.commission_cents == 75


def test_a_dated_rule_waits_for_its_day_and_past_orders_never_change(town: Town, manager) -> None:  # type: ignore[no-untyped-def]
    commission.set_rule(manager, RuleScope.PLATFORM, None, 1000)
    tomorrow = commission.today() + dt.timedelta(days=1)
    commission.set_rule(manager, RuleScope.PLATFORM, None, 500, effective_from=tomorrow)
    db.session.commit()
    first = place(town, (town.bread, 2))
    assert part_of(first, town.baker_id).commission_cents == 90  # 10 % of 9,00
    assert [rule.rate_bps for rule in commission.upcoming_rules()] == [500]
    with time_machine.travel(dt.datetime.combine(tomorrow, dt.time(12), tzinfo=TOWN_TZ)):
        second = place(town, (town.bread, 2))
        assert part_of(second, town.baker_id).commission_cents == 45
    db.session.expire_all()
    assert part_of(first, town.baker_id).commission_cents == 90
    assert [line.commission_bps for line in part_of(first, town.baker_id).lines] == [1000]


@pytest.mark.parametrize(
    ("rate", "fee", "start", "field"),
    [
        (10_001, 0, None, "rate"),
        (-1, 0, None, "rate"),
        ("12", 0, None, "rate"),
        (1000, -5, None, "fixed_fee"),
        (1000, 0, dt.date(2020, 1, 1), "effective_from"),
    ],
)
def test_bad_rules_are_refused_with_the_field_named(
    manager, rate: object, fee: object, start: dt.date | None, field: str
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(commission.CommissionError) as refused:
        commission.set_rule(
            manager, RuleScope.PLATFORM, None, rate, fixed_fee_cents=fee, effective_from=start
        )
    assert refused.value.field == field


def test_only_the_manager_sets_rules(town: Town) -> None:
    with pytest.raises(commission.CommissionError, match="Réservé"):
        commission.set_rule(town.shopper(), RuleScope.PLATFORM, None, 1000)
