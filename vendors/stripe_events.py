"""Stripe webhook handlers of the vendors domain."""

from __future__ import annotations

import datetime as dt
from typing import Any

from payouts import gateway
from payouts.webhooks import handles
from vendors import services


@handles("account.updated")
def account_updated(account: dict[str, Any], created: dt.datetime) -> None:
    """Keep a shop's charges/payouts flags and Stripe's requirements in step with its account."""
    services.sync_connected_account(gateway.ConnectedAccount.from_stripe(account), created)
