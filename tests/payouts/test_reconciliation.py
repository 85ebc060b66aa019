"""The reconciliation report flags every difference between the ledger and Stripe."""

from __future__ import annotations

import pytest
from flask import Flask

from payouts import gateway, reports
from tests.orders.support import Town, fill_cart, make_town
from tests.orders.test_lifecycle import place_and_pay
from tests.plugins.stripe import StripeEmulator


@pytest.fixture
def town(app_ctx: Flask, own_stripe_api: StripeEmulator) -> Town:
    made = make_town()
    fill_cart(made, (made.novel, 1))
    return made


def test_a_refund_made_on_stripe_behind_the_ledgers_back_is_flagged(town: Town) -> None:
    order = place_and_pay(town)
    assert reports.reconcile().ok
    refund = gateway.client().v1.refunds.create(
        params={"payment_intent": order.payment_intent_id, "amount": 500}
    )
    report = reports.reconcile()
    assert not report.ok
    kinds = {(difference.what, difference.stripe_id) for difference in report.differences}
    assert ("missing_in_ledger", refund.id) in kinds
    assert ("balance", "platform") in kinds
    assert report.stripe_balance_cents == report.ledger_balance_cents - 500
