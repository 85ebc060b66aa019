"""The platform's own payouts to its bank through the emulator: ``POST/GET /v1/payouts`` without a
``Stripe-Account`` header pay out of, and list, the platform's balance; the bank can return them."""

from __future__ import annotations

from typing import Any

import pytest
import stripe

from tests.devtools.support import Receiver
from tests.devtools.test_stripe_emulator_transfers import (
    WEBHOOK_SECRET,
    _available,
    _control,
    _event,
    _paid,
    _shop,
    _transactions,
    _transfer,
)
from tests.plugins.stripe import Running

__all__ = ["WEBHOOK_SECRET"]  # the emulator fixture signs with the module's secret, the one _event checks


def test_the_platform_pays_its_balance_out_to_its_bank(
    client: stripe.StripeClient, emulator: Running, receiver: Receiver
) -> None:
    _paid(client, 5000)
    before = _available(client)

    payout: Any = client.v1.payouts.create(
        params={"amount": 3000, "currency": "eur"}, options={"idempotency_key": "platform-payout-1"}
    )
    again: Any = client.v1.payouts.create(
        params={"amount": 3000, "currency": "eur"}, options={"idempotency_key": "platform-payout-1"}
    )

    assert again.id == payout.id
    assert payout.id.startswith("po_")
    assert (payout.amount, payout.currency, payout.status, payout.automatic) == (3000, "eur", "paid", False)
    assert _available(client) == before - 3000
    (moved,) = _transactions(client, type="payout", source=payout.id)
    assert (moved.amount, moved.net, moved.fee, moved.id) == (-3000, -3000, 0, payout.balance_transaction)
    assert payout.id in [p.id for p in client.v1.payouts.list(params={"limit": 100}).auto_paging_iter()]
    assert client.v1.payouts.retrieve(payout.id).amount == 3000
    for event_type in ("payout.created", "payout.paid"):
        event = _event(receiver, event_type, payout.id)
        assert "account" not in event, "the platform's own event names no connected account"


def test_the_platform_cannot_pay_out_more_than_it_has(client: stripe.StripeClient, emulator: Running) -> None:
    _paid(client, 1000)
    left = _available(client)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payouts.create(params={"amount": left + 1, "currency": "eur"})
    assert (refused.value.code, refused.value.param) == ("balance_insufficient", "amount")
    assert _available(client) == left


def test_a_shops_payouts_and_the_platforms_are_listed_apart(
    client: stripe.StripeClient, emulator: Running
) -> None:
    shop = _shop(client, emulator)
    _transfer(client, shop, 2000, _paid(client, 2000))
    shop_payout = _control(emulator, f"accounts/{shop}/payout", {})
    platform_payout: Any = client.v1.payouts.create(params={"amount": 100, "currency": "eur"})

    platform_ids = [p.id for p in client.v1.payouts.list(params={"limit": 100}).auto_paging_iter()]
    shop_ids = [p.id for p in client.v1.payouts.list(options={"stripe_account": shop}).data]
    assert platform_payout.id in platform_ids
    assert shop_payout["id"] not in platform_ids
    assert shop_ids == [shop_payout["id"]]


def test_a_platform_payout_the_bank_returns_gives_the_money_back(
    client: stripe.StripeClient, emulator: Running, receiver: Receiver
) -> None:
    _paid(client, 4000)
    payout: Any = client.v1.payouts.create(params={"amount": 2500, "currency": "eur"})
    before = _available(client)

    failed = _control(emulator, f"payouts/{payout.id}/fail", {"code": "account_closed"})

    assert (failed["status"], failed["failure_code"]) == ("failed", "account_closed")
    assert _available(client) == before + 2500
    (returned,) = _transactions(client, type="payout_failure", source=payout.id)
    assert (returned.amount, returned.net, returned.id) == (2500, 2500, failed["failure_balance_transaction"])
    event = _event(receiver, "payout.failed", payout.id)
    assert "account" not in event
    assert event.data.previous_attributes.status == "paid"
