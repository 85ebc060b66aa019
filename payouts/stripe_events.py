"""Stripe webhook handlers of payouts: shops' subscription invoices and subscriptions, disputes, the
platform's own payouts to its bank."""

from __future__ import annotations

import datetime as dt
from typing import Any

from payouts import bank, disputes, subscriptions
from payouts.webhooks import handles


@handles("invoice.paid")
def invoice_paid(invoice: dict[str, Any], created: dt.datetime) -> None:
    subscriptions.invoice_paid(invoice)


@handles("invoice.payment_failed")
def invoice_payment_failed(invoice: dict[str, Any], created: dt.datetime) -> None:
    subscriptions.invoice_failed(invoice, created)


@handles("customer.subscription.updated")
@handles("customer.subscription.deleted")
def subscription_changed(subscription: dict[str, Any], created: dt.datetime) -> None:
    subscriptions.subscription_changed(subscription)


@handles("charge.dispute.created")
@handles("charge.dispute.updated")
@handles("charge.dispute.closed")
@handles("charge.dispute.funds_withdrawn")
@handles("charge.dispute.funds_reinstated")
def dispute_changed(dispute: dict[str, Any], created: dt.datetime) -> None:
    # The event's snapshot may be older than another already applied: Stripe's current object decides.
    disputes.sync(str(dispute["id"]))


@handles("payout.created", platform_only=True)
@handles("payout.paid", platform_only=True)
@handles("payout.failed", platform_only=True)
@handles("payout.canceled", platform_only=True)
def platform_payout_changed(payout: dict[str, Any], created: dt.datetime) -> None:
    # A shop's payouts (events with an ``account``) move its own Stripe balance, not the platform's.
    bank.apply_payout(payout, seen_at=created)
