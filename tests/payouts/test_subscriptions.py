"""Shop plans billed with Stripe Billing: invoices into the ledger, the grace period, paying again."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from app.accounts.models import Role
from app.catalog import services as catalog
from app.catalog.models import ProductStatus
from app.database import utcnow
from app.extensions import db
from payouts import gateway, ledger, subscriptions, tasks
from payouts.models import BillingInvoice, Plan, ShopSubscription, SubscriptionStatus, TransactionKind
from tests.factories import ProductFactory, ShopFactory, UserFactory, owner_of
from tests.payouts.test_end_to_end import deliver_webhooks
from tests.plugins.application import Client
from tests.plugins.stripe import StripeEmulator
from vendors import services as vendor_services
from vendors.models import Shop, ShopMember


@pytest.fixture
def manager(app_ctx: Flask):  # type: ignore[no-untyped-def]
    return UserFactory(email="gestion@example.com", role=Role.MANAGER)


@pytest.fixture
def plan(manager) -> Plan:  # type: ignore[no-untyped-def]
    made = subscriptions.save_plan(
        manager,
        None,
        name="Commerçant",
        slug="commercant",
        monthly_price_cents=1900,
        commission_bps=800,
        product_limit=2,
    )
    db.session.commit()
    return made


@pytest.fixture
def free(manager) -> Plan:  # type: ignore[no-untyped-def]
    made = subscriptions.save_plan(
        manager,
        None,
        name="Découverte",
        slug="decouverte",
        monthly_price_cents=0,
        commission_bps=1200,
        product_limit=None,
    )
    db.session.commit()
    return made


@pytest.fixture
def owner(app_ctx: Flask) -> ShopMember:
    return owner_of(ShopFactory(name="Le Fournil", slug="le-fournil"), email="boulanger@example.com")


def shop(member: ShopMember) -> Shop:
    db.session.expire_all()
    found = db.session.get(Shop, member.shop_id)
    assert found is not None
    return found


def test_a_paid_plan_bills_the_shop_and_the_invoice_reaches_the_ledger_once(
    client: Client, owner: ShopMember, plan: Plan, stripe_api: StripeEmulator
) -> None:
    subscription = subscriptions.choose_plan(owner.user, shop(owner), plan.id, "pm_card_visa")
    db.session.commit()
    assert subscription.status == SubscriptionStatus.ACTIVE
    assert subscription.current_period_end is not None
    paid = stripe_api.webhooks.wait_for(
        lambda e: (
            e["type"] == "invoice.paid"
            and gateway.invoice_subscription_id(e["data"]["object"]) == subscription.stripe_subscription_id
        )
    )
    seen: set[str] = set()
    deliver_webhooks(client, stripe_api, {"invoice.paid"}, seen)
    seen.discard(paid.event["id"])
    client.post(
        "/webhooks/stripe", data=paid.payload, headers={"Stripe-Signature": paid.headers["Stripe-Signature"]}
    )
    invoice = db.session.scalars(
        sa.select(BillingInvoice).where(BillingInvoice.shop_id == owner.shop_id)
    ).one()
    assert (invoice.status, invoice.amount_cents) == ("paid", 1900)
    totals = ledger.totals_by_kind(ledger.SUBSCRIPTIONS)
    assert totals == {TransactionKind.SUBSCRIPTION: 1583}, "19,00 TTC = 15,83 HT + 3,17 TVA, once"
    assert ledger.balance(ledger.SUBSCRIPTION_VAT) == 317


def test_a_failed_payment_hides_the_storefront_after_the_grace_period_until_the_shop_pays(
    client: Client, owner: ShopMember, plan: Plan, stripe_api: StripeEmulator
) -> None:
    subscription = subscriptions.choose_plan(owner.user, shop(owner), plan.id, "pm_card_chargeCustomerFail")
    db.session.commit()
    stripe_api.webhooks.wait_for(
        lambda e: (
            e["type"] == "invoice.payment_failed"
            and gateway.invoice_subscription_id(e["data"]["object"]) == subscription.stripe_subscription_id
        )
    )
    deliver_webhooks(client, stripe_api, {"invoice.payment_failed"}, set())
    db.session.expire_all()
    subscription = subscriptions.subscription_of(shop(owner))  # type: ignore[assignment]
    assert subscription.status == SubscriptionStatus.INCOMPLETE
    assert subscription.past_due_since is not None
    assert client.get("/boutiques/le-fournil").status_code == 200, "still shown during the grace period"
    assert tasks.enforce_billing() == 0
    with time_machine.travel(utcnow() + dt.timedelta(days=8)):
        assert tasks.enforce_billing() == 1
    assert shop(owner).billing_hidden_at is not None
    assert client.get("/boutiques/le-fournil").status_code == 404
    assert vendor_services.public_shop("le-fournil") is None

    subscriptions.pay_now(owner.user, shop(owner), "pm_card_visa")
    db.session.commit()
    assert shop(owner).billing_hidden_at is None, "shown again at once: nothing was deleted"
    assert subscriptions.subscription_of(shop(owner)).status == SubscriptionStatus.ACTIVE  # type: ignore[union-attr]
    assert client.get("/boutiques/le-fournil").status_code == 200


def test_changing_plan_moves_the_subscription_and_the_free_plan_ends_it(
    owner: ShopMember, plan: Plan, free: Plan, stripe_api: StripeEmulator
) -> None:
    subscription = subscriptions.choose_plan(owner.user, shop(owner), free.id, None)
    assert (subscription.stripe_subscription_id, subscription.status) == (None, SubscriptionStatus.ACTIVE)
    with pytest.raises(subscriptions.BillingError, match="carte"):
        subscriptions.choose_plan(owner.user, shop(owner), plan.id, None)
    subscription = subscriptions.choose_plan(owner.user, shop(owner), plan.id, "pm_card_visa")
    stripe_id = subscription.stripe_subscription_id
    assert stripe_id
    subscriptions.choose_plan(owner.user, shop(owner), free.id, None)
    db.session.commit()
    assert gateway.retrieve_subscription(stripe_id).status == "canceled"
    assert subscriptions.subscription_of(shop(owner)).plan_id == free.id  # type: ignore[union-attr]


def test_the_plan_limits_the_products_online(
    owner: ShopMember, plan: Plan, stripe_api: StripeEmulator
) -> None:
    subscriptions.choose_plan(owner.user, shop(owner), plan.id, "pm_card_visa")
    db.session.commit()
    for _ in range(2):
        ProductFactory(shop=shop(owner), status=ProductStatus.ACTIVE)
    third = ProductFactory(shop=shop(owner), status=ProductStatus.DRAFT)
    assert catalog.product_limit(shop(owner)) == 2
    with pytest.raises(catalog.CatalogError, match="2"):
        catalog.set_status(owner, [third], ProductStatus.ACTIVE)


def test_a_webhook_for_an_unknown_subscription_changes_nothing(
    client: Client, owner: ShopMember, stripe_api: StripeEmulator
) -> None:
    from payouts import webhooks

    applied = webhooks.apply_event(
        {
            "id": "evt_unknown_sub",
            "type": "invoice.paid",
            "created": int(utcnow().timestamp()),
            "data": {
                "object": {
                    "id": "in_nobody",
                    "status": "paid",
                    "amount_paid": 1900,
                    "parent": {"subscription_details": {"subscription": "sub_nobody"}},
                }
            },
        }
    )
    assert applied
    assert db.session.scalars(sa.select(BillingInvoice)).all() == []
    assert ledger.totals_by_kind(ledger.SUBSCRIPTIONS) == {}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"monthly_price_cents": -100}, "monthly_price"),
        ({"commission_bps": 12_000}, "commission"),
        ({"product_limit": 0}, "product_limit"),
        ({"slug": "Pas Bien"}, "slug"),
    ],
)
def test_bad_plans_are_refused_with_the_field_named(manager, changes: dict[str, object], field: str) -> None:  # type: ignore[no-untyped-def]
    values = {
        "name": "X",
        "slug": "x",
        "monthly_price_cents": 100,
        "commission_bps": 500,
        "product_limit": None,
        **changes,
    }
    with pytest.raises(subscriptions.BillingError) as refused:
        subscriptions.save_plan(manager, None, **values)  # type: ignore[arg-type]
    assert refused.value.field == field
    assert db.session.scalars(sa.select(ShopSubscription)).all() == []


def test_a_paid_plan_chosen_at_onboarding_needs_a_card_within_the_grace_period(
    owner: ShopMember, plan: Plan, free: Plan
) -> None:
    subscription = subscriptions.record_choice(owner.user, shop(owner), plan.id)
    db.session.commit()
    assert (subscription.status, subscription.stripe_subscription_id) == (SubscriptionStatus.INCOMPLETE, None)
    assert tasks.enforce_billing() == 0, "approved just now: the owner has time to add a card"
    with time_machine.travel(utcnow() + dt.timedelta(days=8)):
        assert tasks.enforce_billing() == 1
    # The free plan needs no card and is never hidden.
    other = owner_of(ShopFactory(slug="autre"), email="autre@example.com")
    assert subscriptions.record_choice(other.user, shop(other), free.id).status == SubscriptionStatus.ACTIVE
    db.session.commit()
    with time_machine.travel(utcnow() + dt.timedelta(days=30)):
        assert tasks.enforce_billing() == 0
