"""Stripe's fees on card charges in the emulator: on each charge's balance transaction (``fee``,
``fee_details``, ``net``), kept through refunds, set by ``--card-fee-bps``/``--card-fee-fixed-cents`` or
``POST /_emulator/fees``. One emulator serves the module: the platform's balance is checked as differences.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import stripe

from devtools.stripe_emulator.state import CardPricing
from tests.devtools.support import http
from tests.plugins.stripe import Running, start_emulator, stop_emulator

API_KEY = "sk_test_local_emulator"
WEBHOOK_SECRET = "whsec_emulator_fee_tests"


def _control(emulator: Running, body: dict[str, Any], status: int = 200) -> Any:
    answer = http("POST", f"{emulator.url}/_emulator/fees", json_body=body)
    assert answer.status == status, answer.text
    return answer.json()


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


def _charge_transaction(client: stripe.StripeClient, intent: Any) -> Any:
    charge: Any = client.v1.charges.retrieve(intent.latest_charge, params={"expand": ["balance_transaction"]})
    return charge.balance_transaction


def _available(client: stripe.StripeClient) -> int:
    balance: Any = client.v1.balance.retrieve()
    (eur,) = [entry for entry in balance.available if entry.currency == "eur"]
    return int(eur.amount)


@pytest.mark.parametrize(
    ("amount", "fee"),
    [(10000, 175), (1900, 54), (1000, 40), (50, 26), (20, 20), (0, 0)],
)
def test_the_default_is_stripes_eea_card_pricing_rounded_half_up_never_above_the_charge(
    amount: int, fee: int
) -> None:
    # 1.5 % of 19,00 € is 28.5 cents: 29, then 0,25 €; a charge of 0,20 € cannot lose more than itself.
    assert CardPricing().fee(amount) == fee
    assert CardPricing(0, 0).fee(amount) == 0


def test_a_charge_carries_the_fee_and_a_refund_gives_none_back(
    client: stripe.StripeClient, emulator: Running
) -> None:
    before = _available(client)
    intent = _paid(client, 12345)
    transaction = _charge_transaction(client, intent)
    fee = (12345 * 150 + 5_000) // 10_000 + 25
    assert (transaction.amount, transaction.fee, transaction.net) == (12345, fee, 12345 - fee)
    assert [detail.to_dict() for detail in transaction.fee_details] == [
        {
            "amount": fee,
            "application": None,
            "currency": "eur",
            "description": "Stripe processing fees",
            "type": "stripe_fee",
        }
    ]
    assert _available(client) == before + 12345 - fee

    refund: Any = client.v1.refunds.create(
        params={"payment_intent": intent.id}, options={"idempotency_key": f"fee-refund-{intent.id}"}
    )
    returned: Any = client.v1.balance_transactions.retrieve(refund.balance_transaction)
    assert (returned.amount, returned.fee, returned.net, returned.fee_details) == (-12345, 0, -12345, [])
    assert _available(client) == before - fee, "refunded in full, Stripe keeps its fee"


def test_the_pricing_is_a_setting_of_the_emulator(client: stripe.StripeClient, emulator: Running) -> None:
    try:
        assert _control(emulator, {"card_fee_bps": 250}) == {"card_fee_bps": 250, "card_fee_fixed_cents": 25}
        assert _charge_transaction(client, _paid(client, 2000)).fee == 75
        assert _control(emulator, {"card_fee_bps": 0, "card_fee_fixed_cents": 0}) == {
            "card_fee_bps": 0,
            "card_fee_fixed_cents": 0,
        }
        free = _charge_transaction(client, _paid(client, 2000))
        assert (free.fee, free.net, free.fee_details) == (0, 2000, [])
        for body, param in (
            ({"card_fee_bps": 10_001}, "card_fee_bps"),
            ({"card_fee_fixed_cents": -1}, "card_fee_fixed_cents"),
            ({"card_fee_bps": "much"}, "card_fee_bps"),
            ({"card_fee": 1}, "card_fee"),
        ):
            refused = _control(emulator, body, status=400)
            assert refused["error"]["param"] == param
    finally:
        _control(emulator, {"card_fee_bps": 150, "card_fee_fixed_cents": 25})


def test_the_command_line_sets_the_pricing(tmp_path: Path) -> None:
    running = start_emulator(tmp_path / "emulator.log", "--card-fee-bps", "0", "--card-fee-fixed-cents", "0")
    http_client = stripe.RequestsClient()
    try:
        client = stripe.StripeClient(
            API_KEY, base_addresses={"api": running.url, "connect": running.url}, http_client=http_client
        )
        transaction = _charge_transaction(client, _paid(client, 5000))
        assert (transaction.fee, transaction.net) == (0, 5000)
    finally:
        http_client.close()
        assert stop_emulator(running) == 0
