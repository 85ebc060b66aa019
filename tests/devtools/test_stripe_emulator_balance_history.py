"""``GET /v1/balance_transactions`` with ``created`` bounds, as the nightly reconciliation asks for one
day of the platform's balance (``payouts.gateway.balance_transactions(since=..., until=...)``)."""

from __future__ import annotations

import time
from typing import Any

import pytest
import stripe

from tests.plugins.stripe import Running

WEBHOOK_SECRET = "whsec_emulator_history_tests"


def _paid(client: stripe.StripeClient, amount: int) -> Any:
    intent: Any = client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "eur",
            "payment_method_types": ["card"],
            "payment_method": "pm_card_visa",
            "confirm": True,
        }
    )
    assert intent.status == "succeeded"
    return intent


def _sources(client: stripe.StripeClient, **created: int) -> list[str]:
    page = client.v1.balance_transactions.list(params={"limit": 1, "created": created})  # type: ignore[typeddict-item]
    return [str(item.source) for item in page.auto_paging_iter()]


def test_created_bounds_select_the_balance_transactions_of_a_window_on_every_page(
    client: stripe.StripeClient, emulator: Running
) -> None:
    before = int(time.time())
    first, second = _paid(client, 1200), _paid(client, 3400)
    after = int(time.time()) + 1
    charges = {first.latest_charge, second.latest_charge}
    # One per page (limit 1): the bounds hold across the pages auto-paging walks.
    assert set(_sources(client, gte=before, lt=after)) >= charges
    assert set(_sources(client, gte=before)) >= charges
    assert charges.isdisjoint(_sources(client, gte=after))
    assert charges.isdisjoint(_sources(client, lt=before))
    every = client.v1.balance_transactions.list(
        params={"limit": 100, "created": {"gte": before, "lt": after}}
    )
    assert all(before <= item.created < after for item in every.data)


def test_an_unknown_bound_is_refused_as_stripe_does(client: stripe.StripeClient, emulator: Running) -> None:
    with pytest.raises(stripe.InvalidRequestError) as raised:
        client.v1.balance_transactions.list(params={"created": {"after": 1}})  # type: ignore[typeddict-item]
    assert raised.value.http_status == 400
