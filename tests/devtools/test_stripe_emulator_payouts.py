"""A connected account's payouts to its bank through the emulator: ``POST/GET /v1/payouts`` with the
``Stripe-Account`` header, and payouts the bank returns (``/_emulator/payouts/{id}/fail``)."""

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

API_KEY = "sk_test_local_emulator"
__all__ = ["WEBHOOK_SECRET"]  # the emulator fixture signs with the module's secret, the one _event checks


def test_a_connected_account_pays_out_part_of_its_balance_in_stripes_shape(
    client: stripe.StripeClient, emulator: Running
) -> None:
    shop = _shop(client, emulator)
    _transfer(client, shop, 3000, _paid(client, 3000))
    options: Any = {"stripe_account": shop, "idempotency_key": f"{shop}-first-payout"}

    payout: Any = client.v1.payouts.create(
        params={
            "amount": 1200,
            "currency": "eur",
            "metadata": {"week": "49"},
            "statement_descriptor": "FOURNIL",
        },
        options=options,
    )
    again: Any = client.v1.payouts.create(
        params={
            "amount": 1200,
            "currency": "eur",
            "metadata": {"week": "49"},
            "statement_descriptor": "FOURNIL",
        },
        options=options,
    )

    assert again.id == payout.id, "the same idempotency key finds the same payout"
    assert payout.id.startswith("po_")
    assert (payout.object, payout.amount, payout.currency, payout.automatic) == ("payout", 1200, "eur", False)
    assert (payout.status, payout.failure_code, payout.failure_message) == ("paid", None, None)
    assert payout.metadata.to_dict() == {"week": "49"}
    assert payout.statement_descriptor == "FOURNIL"
    assert isinstance(payout.arrival_date, int)
    assert _available(client, shop) == 1800
    listed = client.v1.payouts.list(options={"stripe_account": shop}).data
    assert [p.id for p in listed] == [payout.id]
    assert [(t.type, t.amount) for t in _transactions(client, shop, type="payout")] == [("payout", -1200)]


def test_a_payout_beyond_the_available_balance_or_badly_asked_is_refused(
    client: stripe.StripeClient, emulator: Running
) -> None:
    shop = _shop(client, emulator)
    _transfer(client, shop, 500, _paid(client, 500))
    options: Any = {"stripe_account": shop}
    with pytest.raises(stripe.InvalidRequestError) as refused:
        client.v1.payouts.create(params={"amount": 501, "currency": "eur"}, options=options)
    assert (refused.value.code, refused.value.param) == ("balance_insufficient", "amount")
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payouts.create(params={"currency": "eur"}, options=options)  # type: ignore[typeddict-item]
    assert missing.value.param == "amount"
    with pytest.raises(stripe.InvalidRequestError) as negative:
        client.v1.payouts.create(params={"amount": -5, "currency": "eur"}, options=options)
    assert negative.value.param == "amount"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.payouts.create(
            params={"amount": 5, "currency": "eur", "colour": "red"},  # type: ignore[typeddict-unknown-key]
            options=options,
        )
    assert unknown.value.param == "colour"
    with pytest.raises(stripe.PermissionError):
        client.v1.payouts.create(
            params={"amount": 5, "currency": "eur"}, options={"stripe_account": "acct_nobody"}
        )
    assert _available(client, shop) == 500


def test_a_payout_the_bank_returns_fails_and_gives_the_money_back(
    client: stripe.StripeClient, emulator: Running, receiver: Receiver
) -> None:
    shop = _shop(client, emulator)
    _transfer(client, shop, 2000, _paid(client, 2000))
    payout = _control(emulator, f"accounts/{shop}/payout", {})  # the daily automatic payout
    assert _available(client, shop) == 0

    failed = _control(emulator, f"payouts/{payout['id']}/fail", {"code": "account_closed"})

    assert (failed["status"], failed["failure_code"]) == ("failed", "account_closed")
    assert failed["failure_message"] == "The bank account has been closed."
    assert failed["failure_balance_transaction"].startswith("txn_")
    assert _available(client, shop) == 2000
    read: Any = client.v1.payouts.retrieve(payout["id"], options={"stripe_account": shop})
    assert (read.status, read.failure_message) == ("failed", "The bank account has been closed.")
    event = _event(receiver, "payout.failed", payout["id"])
    assert (event.account, event.data.previous_attributes.status) == (shop, "paid")
    _control(emulator, "payouts/po_unknown/fail", {}, status=404)
    _control(emulator, f"payouts/{payout['id']}/fail", {"code": "Not A Code"}, status=400)
