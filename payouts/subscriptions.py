"""Shop plans and their monthly billing with Stripe Billing (the shop is a Customer of the platform).

The manager defines plans (name, monthly price tax included, commission rate as a plan rule, product
limit). A shop chooses one and gives a card; paid plans are Stripe subscriptions on the plan's Price,
the free plan is not billed. ``invoice.paid`` writes the subscription revenue and its VAT to the
ledger; ``invoice.payment_failed`` starts a grace period, after which the storefront is hidden (nothing
deleted) until the shop pays.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from app import money
from app.accounts.models import User
from app.audit import services as audit
from app.database import locked, utcnow
from app.errors import ServiceError
from app.extensions import db
from payouts import commission, gateway, ledger
from payouts.ledger import Line
from payouts.models import (
    BillingInvoice,
    LedgerTransaction,
    Plan,
    RuleScope,
    ShopSubscription,
    SubscriptionStatus,
    TransactionKind,
)
from vendors.models import Shop

log = logging.getLogger(__name__)

SUBSCRIPTION_VAT_BPS = 2000


class BillingError(ServiceError):
    """A refused plan or billing use case."""


# -- plans (the manager) --------------------------------------------------------------------------


def save_plan(
    manager: User,
    plan: Plan | None,
    *,
    name: str,
    slug: str,
    monthly_price_cents: Any,
    commission_bps: Any,
    product_limit: Any,
    description: str = "",
    effective_from: dt.date | None = None,
) -> Plan:
    """Create or change a plan. A new price gets a new Stripe Price; a new rate is a new dated plan rule."""
    if not manager.is_manager:
        raise BillingError(_l("Réservé à la gestion de la place de marché."))
    if not name.strip():
        raise BillingError(_l("Donnez un nom au forfait."), "name")
    slug = slug.strip().lower()
    if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug):
        raise BillingError(_l("Lettres minuscules, chiffres et tirets seulement."), "slug")
    clash = db.session.scalar(sa.select(Plan).where(Plan.slug == slug))
    if clash is not None and clash is not plan:
        raise BillingError(_l("Cette adresse est déjà prise : choisissez-en une autre."), "slug")
    if not isinstance(monthly_price_cents, int) or monthly_price_cents < 0:
        raise BillingError(_l("Le prix mensuel ne peut pas être négatif."), "monthly_price")
    if product_limit is not None and (not isinstance(product_limit, int) or product_limit <= 0):
        raise BillingError(
            _l("La limite de produits doit être un nombre positif, ou vide pour aucune."), "product_limit"
        )
    creating = plan is None
    if plan is None:
        plan = Plan(position=len(list(commission.plans())))
        db.session.add(plan)
    price_changed = creating or plan.monthly_price_cents != monthly_price_cents
    plan.name, plan.slug, plan.description = name.strip(), slug, description.strip()[:500]
    plan.monthly_price_cents, plan.product_limit = monthly_price_cents, product_limit
    db.session.flush()
    current = commission.current_rule(RuleScope.PLAN, plan.id)
    if current is None or current.rate_bps != commission_bps or effective_from:
        try:
            commission.set_rule(
                manager, RuleScope.PLAN, plan.id, commission_bps, effective_from=effective_from
            )
        except commission.CommissionError as error:
            raise BillingError(error.message, "commission") from None
    if price_changed:
        plan.stripe_price_id = None  # a new Stripe Price, made when first needed
        if not creating:
            _reprice_subscribers(plan)
    audit.record(
        manager,
        "plan",
        plan.id,
        "created" if creating else "saved",
        price=monthly_price_cents,
        limit=product_limit,
    )
    return plan


def active_plans() -> list[Plan]:
    return [plan for plan in commission.plans() if plan.active]


def subscription_of(shop: Shop) -> ShopSubscription | None:
    return db.session.scalar(sa.select(ShopSubscription).where(ShopSubscription.shop_id == shop.id))


def product_limit(shop: Shop) -> int | None:
    """The shop's plan's product limit (None: no limit). Asked in the middle of product edits: no flush."""
    with db.session.no_autoflush:
        subscription = subscription_of(shop)
        return subscription.plan.product_limit if subscription else None


# -- a shop's subscription ------------------------------------------------------------------------


def _offered_plan(plan_id: Any) -> Plan:
    plan = db.session.get(Plan, plan_id) if isinstance(plan_id, int) else None
    if plan is None or not plan.active:
        raise BillingError(_l("Choisissez un des forfaits proposés."), "plan")
    return plan


def record_choice(owner: User, shop: Shop, plan_id: Any) -> ShopSubscription:
    """The plan chosen when the shop applies: a paid plan's billing starts once a card is given, which
    the owner is asked for after approval (without one, the grace period runs from the approval)."""
    plan = _offered_plan(plan_id)
    subscription = subscription_of(shop)
    if subscription is not None and subscription.stripe_subscription_id:
        return choose_plan(owner, shop, plan.id, None)
    if subscription is None:
        subscription = ShopSubscription(shop_id=shop.id, plan_id=plan.id, status=SubscriptionStatus.ACTIVE)
        db.session.add(subscription)
    subscription.plan_id = plan.id
    subscription.status = (
        SubscriptionStatus.INCOMPLETE if plan.monthly_price_cents else SubscriptionStatus.ACTIVE
    )
    db.session.flush()
    return subscription


def choose_plan(owner: User, shop: Shop, plan_id: Any, payment_method: str | None) -> ShopSubscription:
    """Subscribe the shop to a plan, or move it to another (from the next invoice on)."""
    plan = _offered_plan(plan_id)
    subscription = subscription_of(shop)
    paid = plan.monthly_price_cents > 0
    if subscription is None:
        subscription = ShopSubscription(shop_id=shop.id, plan_id=plan.id, status=SubscriptionStatus.ACTIVE)
        db.session.add(subscription)
    elif (
        subscription.plan_id == plan.id
        and subscription.status != SubscriptionStatus.CANCELED
        and (not paid or subscription.stripe_subscription_id)
        and not payment_method
    ):
        return subscription  # nothing changes
    if paid:
        if subscription.stripe_customer_id is None:
            if not payment_method:
                raise BillingError(_l("Une carte est nécessaire pour un forfait payant."), "payment_method")
            subscription.stripe_customer_id = gateway.create_customer(
                shop_id=shop.id,
                name=shop.legal_name or shop.name,
                email=shop.email or owner.email,
                payment_method=payment_method,
            )
        elif payment_method:
            gateway.set_default_payment_method(subscription.stripe_customer_id, payment_method)
        price_id = _price_of(plan)
        live = subscription.stripe_subscription_id and subscription.status != SubscriptionStatus.CANCELED
        if live:
            current = gateway.retrieve_subscription(subscription.stripe_subscription_id or "")
            synced = gateway.change_subscription_price(
                current.id, item_id=current.item_id or "", price_id=price_id
            )
        else:
            count = (
                db.session.scalar(
                    sa.select(sa.func.count())
                    .select_from(BillingInvoice)
                    .where(BillingInvoice.shop_id == shop.id)
                )
                or 0
            )
            synced = gateway.create_subscription(
                customer_id=subscription.stripe_customer_id,
                price_id=price_id,
                shop_id=shop.id,
                key=f"shop-{shop.id}-subscription-{plan.id}-{count}",
            )
        _sync(subscription, synced)
    else:
        if subscription.stripe_subscription_id and subscription.status != SubscriptionStatus.CANCELED:
            gateway.cancel_subscription(subscription.stripe_subscription_id)
        subscription.stripe_subscription_id = None
        subscription.status = SubscriptionStatus.ACTIVE
        subscription.past_due_since = None
        _unhide(shop)
    subscription.plan_id = plan.id
    audit.record(owner, "shop", shop.id, "plan_chosen", plan=plan.slug)
    return subscription


def _price_of(plan: Plan) -> str:
    """The plan's Stripe Price for its current amount, made on first need."""
    if plan.stripe_price_id is None:
        plan.stripe_product_id, plan.stripe_price_id = gateway.create_plan_price(
            plan_id=plan.id,
            product_id=plan.stripe_product_id,
            name=plan.name,
            amount_cents=plan.monthly_price_cents,
        )
    return plan.stripe_price_id


def _reprice_subscribers(plan: Plan) -> None:
    """Shops already on the plan pay its new price from their next invoice."""
    billed = db.session.scalars(
        sa.select(ShopSubscription).where(
            ShopSubscription.plan_id == plan.id,
            ShopSubscription.stripe_subscription_id.is_not(None),
            ShopSubscription.status != SubscriptionStatus.CANCELED,
        )
    )
    for subscription in billed:
        if plan.monthly_price_cents == 0:
            gateway.cancel_subscription(subscription.stripe_subscription_id or "")
            subscription.stripe_subscription_id = None
            subscription.status = SubscriptionStatus.ACTIVE
            continue
        current = gateway.retrieve_subscription(subscription.stripe_subscription_id or "")
        _sync(
            subscription,
            gateway.change_subscription_price(
                current.id, item_id=current.item_id or "", price_id=_price_of(plan)
            ),
        )


STATUSES = {
    "incomplete": SubscriptionStatus.INCOMPLETE,
    "incomplete_expired": SubscriptionStatus.CANCELED,
    "active": SubscriptionStatus.ACTIVE,
    "trialing": SubscriptionStatus.ACTIVE,
    "past_due": SubscriptionStatus.PAST_DUE,
    "unpaid": SubscriptionStatus.PAST_DUE,
    "canceled": SubscriptionStatus.CANCELED,
}


def _sync(subscription: ShopSubscription, stripe_subscription: gateway.Subscription) -> None:
    subscription.stripe_subscription_id = stripe_subscription.id
    subscription.status = STATUSES.get(stripe_subscription.status, SubscriptionStatus.PAST_DUE)
    if stripe_subscription.current_period_end:
        subscription.current_period_end = dt.datetime.fromtimestamp(
            stripe_subscription.current_period_end, dt.UTC
        )
    subscription.synced_at = utcnow()
    if subscription.status in (SubscriptionStatus.PAST_DUE, SubscriptionStatus.INCOMPLETE):
        subscription.past_due_since = subscription.past_due_since or utcnow()
    else:
        subscription.past_due_since = None


def pay_now(owner: User, shop: Shop, payment_method: str | None) -> None:
    """The shop pays its open invoices (with a new card if given): an unpaid shop is shown again."""
    subscription = subscription_of(shop)
    if subscription is None or subscription.stripe_customer_id is None:
        raise BillingError(_l("Aucune facture en attente."))
    if payment_method:
        gateway.set_default_payment_method(subscription.stripe_customer_id, payment_method)
    invoices = gateway.open_invoices(subscription.stripe_customer_id)
    if not invoices:
        raise BillingError(_l("Aucune facture en attente."))
    for invoice in invoices:
        try:
            paid = gateway.pay_invoice(str(invoice["id"]))
        except gateway.StripeError as error:
            raise BillingError(_l("Le paiement a été refusé : essayez une autre carte.")) from error
        record_invoice(paid.to_dict() if hasattr(paid, "to_dict") else dict(paid))
    if subscription.stripe_subscription_id:
        _sync(subscription, gateway.retrieve_subscription(subscription.stripe_subscription_id))
    if subscription.status == SubscriptionStatus.ACTIVE:
        _unhide(shop)


# -- what Stripe tells (webhooks) -----------------------------------------------------------------


def _subscription_by_stripe(invoice_or_subscription_id: str | None) -> ShopSubscription | None:
    if not invoice_or_subscription_id:
        return None
    return db.session.scalar(
        locked(
            sa.select(ShopSubscription).where(
                ShopSubscription.stripe_subscription_id == invoice_or_subscription_id
            )
        )
    )


def record_invoice(invoice: dict[str, Any]) -> tuple[BillingInvoice, ShopSubscription] | None:
    """An invoice of a shop's subscription, as Stripe sends it; a paid one writes the ledger once.
    The invoice's row and its subscription (locked), or None for an invoice that is no shop's."""
    subscription = _subscription_by_stripe(gateway.invoice_subscription_id(invoice))
    if subscription is None:
        log.warning("invoice %s is for no shop subscription of ours", invoice.get("id"))
        return None
    row = db.session.scalar(
        sa.select(BillingInvoice).where(BillingInvoice.stripe_invoice_id == invoice["id"])
    )
    if row is None:
        row = BillingInvoice(
            shop_id=subscription.shop_id, stripe_invoice_id=str(invoice["id"]), status="", amount_cents=0
        )
        db.session.add(row)
    if row.status == "paid":
        return row, subscription  # a late "failed" never undoes a payment
    row.status = str(invoice.get("status") or "")
    row.number = str(invoice.get("number") or "")
    row.amount_cents = int(invoice.get("amount_paid") or invoice.get("amount_due") or 0)
    row.hosted_url = str(invoice.get("hosted_invoice_url") or "")[:500]
    for field in ("period_start", "period_end"):
        if invoice.get(field):
            setattr(row, field, dt.datetime.fromtimestamp(int(invoice[field]), dt.UTC))
    if row.status == "paid":
        row.paid_at = utcnow()
        amount = int(invoice.get("amount_paid") or 0)
        net, vat = money.split_gross(amount, SUBSCRIPTION_VAT_BPS)
        ledger.post(
            f"invoice-{invoice['id']}",
            TransactionKind.SUBSCRIPTION,
            [
                Line(ledger.STRIPE, amount),
                Line(ledger.SUBSCRIPTIONS, -net),
                Line(ledger.SUBSCRIPTION_VAT, -vat),
            ],
            shop_id=subscription.shop_id,
            stripe_id=str(invoice["id"]),
            memo=row.number,
        )
        _record_invoice_fee(invoice, subscription.shop_id, row.number)
    db.session.flush()
    return row, subscription


def _record_invoice_fee(invoice: dict[str, Any], shop_id: int, number: str) -> None:
    """Stripe's fee on the charge that paid the invoice: the platform's expense, recorded under the
    invoice's id as its payment is (unknown yet or unreadable: left to the reconciliation to show)."""
    key = f"invoice-{invoice['id']}-stripe-fee"
    if db.session.scalar(sa.select(LedgerTransaction.id).where(LedgerTransaction.key == key)) is not None:
        return
    try:
        charge = gateway.invoice_charge(invoice)
        fee = gateway.charge_fee(charge) if charge else None
    except gateway.StripeError as error:
        log.warning("Stripe's fee on invoice %s could not be read: %s", invoice.get("id"), error)
        return
    if fee is None:
        log.warning("Stripe's fee on invoice %s is not known yet: recorded gross", invoice.get("id"))
        return
    ledger.record_stripe_fee(
        key, TransactionKind.SUBSCRIPTION, fee, stripe_id=str(invoice["id"]), shop_id=shop_id, memo=number
    )


def invoice_paid(invoice: dict[str, Any]) -> None:
    recorded = record_invoice(invoice)
    if recorded is None:
        return
    _, subscription = recorded
    subscription.status = SubscriptionStatus.ACTIVE
    subscription.past_due_since = None
    shop = db.session.get(Shop, subscription.shop_id)
    if shop is not None:
        _unhide(shop)


def invoice_failed(invoice: dict[str, Any], failed_at: dt.datetime) -> None:
    recorded = record_invoice(invoice)
    if recorded is None or recorded[0].status == "paid":
        return
    _, subscription = recorded
    if subscription.status == SubscriptionStatus.ACTIVE:
        subscription.status = SubscriptionStatus.PAST_DUE
    subscription.past_due_since = subscription.past_due_since or failed_at


def subscription_changed(stripe_subscription: dict[str, Any]) -> None:
    subscription = _subscription_by_stripe(str(stripe_subscription["id"]))
    if subscription is None:
        log.warning("subscription %s is no shop's", stripe_subscription.get("id"))
        return
    _sync(subscription, gateway.Subscription.from_stripe(stripe_subscription))


# -- the grace period -----------------------------------------------------------------------------


def grace() -> dt.timedelta:
    return dt.timedelta(days=int(current_app.config.get("BILLING_GRACE_DAYS", 7)))


def hide_unpaid(now: dt.datetime | None = None) -> int:
    """Hide the storefront of each shop unpaid for longer than the grace period."""
    now = now or utcnow()
    hidden = 0
    query = (
        sa.select(Shop)
        .join(ShopSubscription, ShopSubscription.shop_id == Shop.id)
        .where(
            ShopSubscription.status.in_((SubscriptionStatus.PAST_DUE, SubscriptionStatus.INCOMPLETE)),
            sa.or_(
                ShopSubscription.past_due_since <= now - grace(),
                # a paid plan chosen at onboarding, no card given since the approval
                sa.and_(
                    ShopSubscription.past_due_since.is_(None),
                    ShopSubscription.stripe_subscription_id.is_(None),
                    Shop.approved_at <= now - grace(),
                ),
            ),
            Shop.billing_hidden_at.is_(None),
        )
    )
    for shop in db.session.scalars(query):
        shop.billing_hidden_at = now
        hidden += 1
        log.info("shop %s hidden: subscription unpaid", shop.slug)
    return hidden


def _unhide(shop: Shop) -> None:
    if shop.billing_hidden_at is not None:
        shop.billing_hidden_at = None
