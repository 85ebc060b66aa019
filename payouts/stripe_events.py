"""Stripe webhook handlers of payouts: shops' subscription invoices and subscriptions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from payouts import subscriptions
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
