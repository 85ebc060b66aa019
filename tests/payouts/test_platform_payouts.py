"""The platform's own payouts to its bank: Stripe's ``payout`` balance transactions are followed in the
ledger (``platform:stripe`` → ``platform:bank``), from the webhook or from the nightly sync, so neither
the nightly reconciliation nor the manager's report sees them as differences."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.database import utcnow
from app.extensions import db
from app.ops import services as ops
from app.ops import tasks as ops_tasks
from app.ops.models import ReconciliationRun
from payouts import bank, gateway, ledger, reports, webhooks
from payouts.models import LedgerTransaction, TransactionKind
from tests.catalog.test_categories import login_manager
from tests.orders.support import Town, fill_cart, make_town
from tests.orders.test_lifecycle import place_and_pay
from tests.payouts.test_end_to_end import deliver_webhooks
from tests.payouts.test_views import text
from tests.plugins.application import Client
from tests.plugins.stripe import StripeEmulator
from vendors.hours import TOWN_TZ

PAYOUT_EVENTS = {"payout.created", "payout.paid", "payout.failed"}


@pytest.fixture
def town(app_ctx: Flask, own_stripe_api: StripeEmulator) -> Town:
    made = make_town()
    fill_cart(made, (made.novel, 1))
    return made


def _today() -> dt.date:
    return utcnow().astimezone(TOWN_TZ).date()


def _pay_out(stripe_api: StripeEmulator, amount: int) -> Any:
    """The platform's payout to its bank, as Stripe's daily schedule makes it; its events sent."""
    payout = gateway.client().v1.payouts.create(params={"amount": amount, "currency": "eur"})
    stripe_api.webhooks.wait_for(
        lambda e: e["type"] == "payout.paid" and e["data"]["object"]["id"] == payout.id
    )
    return payout


def _bank_payouts() -> list[tuple[str, str | None, int]]:
    """(key, stripe id, movement on the Stripe balance) of every bank payout transaction."""
    rows = db.session.scalars(
        sa.select(LedgerTransaction)
        .where(LedgerTransaction.kind == TransactionKind.BANK_PAYOUT)
        .order_by(LedgerTransaction.id)
    )
    return [
        (
            row.key,
            row.stripe_id,
            sum(entry.amount_cents for entry in row.entries if entry.account.code == ledger.STRIPE),
        )
        for row in rows
    ]


def _reconciles() -> None:
    day = ops.reconcile_day(_today())
    assert day.differences == []
    assert day.stripe_count == day.matched_count
    report = reports.reconcile()
    assert report.differences == []
    assert report.stripe_balance_cents == report.ledger_balance_cents


def test_a_platform_payout_is_written_once_and_the_day_reconciles(
    client: Client, town: Town, own_stripe_api: StripeEmulator
) -> None:
    place_and_pay(town)
    stripe_before = ledger.balance(ledger.STRIPE)
    payout = _pay_out(own_stripe_api, 1000)

    seen: set[str] = set()
    assert deliver_webhooks(client, own_stripe_api, PAYOUT_EVENTS, seen) == 2  # created, then paid
    db.session.expire_all()

    assert _bank_payouts() == [(f"bank_payout:{payout.id}", payout.id, -1000)]
    assert ledger.balance(ledger.BANK) == 1000
    assert ledger.balance(ledger.STRIPE) == stripe_before - 1000
    # The same event delivered again is not applied again.
    delivery = own_stripe_api.webhooks.wait_for(lambda e: e["type"] == "payout.paid")
    again = client.post(
        "/webhooks/stripe",
        data=delivery.payload,
        headers={"Stripe-Signature": delivery.headers["Stripe-Signature"]},
    )
    assert again.get_json() == {"received": True, "applied": False}
    db.session.expire_all()
    assert len(_bank_payouts()) == 1

    _reconciles()
    assert ops_tasks.reconcile_yesterday(_today()) == 0
    run = db.session.scalars(sa.select(ReconciliationRun)).one()
    assert (run.stripe_count, run.matched_count, run.difference_count) == (2, 2, 0)  # the charge, the payout


def test_a_payout_the_bank_returns_is_reversed_and_still_reconciles(
    client: Client, town: Town, own_stripe_api: StripeEmulator
) -> None:
    place_and_pay(town)
    payout = _pay_out(own_stripe_api, 1500)
    seen: set[str] = set()
    deliver_webhooks(client, own_stripe_api, PAYOUT_EVENTS, seen)

    own_stripe_api.control("POST", f"payouts/{payout.id}/fail", {"code": "account_closed"})
    own_stripe_api.webhooks.wait_for(lambda e: e["type"] == "payout.failed")
    assert deliver_webhooks(client, own_stripe_api, PAYOUT_EVENTS, seen) == 1
    db.session.expire_all()

    assert _bank_payouts() == [
        (f"bank_payout:{payout.id}", payout.id, -1500),
        (f"bank_payout_failure:{payout.id}", payout.id, 1500),
    ]
    assert ledger.balance(ledger.BANK) == 0
    assert ledger.unbalanced() == []
    _reconciles()

    login_manager(client)
    page = text(client.get("/gestion/finances").get_data(as_text=True))
    listed = page[page.index("Virements vers la banque de la plateforme") :]
    assert f"{payout.id} — 15,00 €" in listed
    assert f"{payout.id} — rejeté par la banque : 15,00 €" in listed


def test_a_shops_payout_events_leave_the_platform_ledger_alone(app_ctx: Flask) -> None:
    payout = {"id": "po_shop", "object": "payout", "amount": 900, "currency": "eur", "status": "paid"}
    payout["created"] = int(utcnow().timestamp())
    event = {
        "id": "evt_shop_payout",
        "type": "payout.paid",
        "created": payout["created"],
        "account": "acct_shop",
        "data": {"object": payout},
    }
    assert webhooks.apply_event(event)
    assert _bank_payouts() == []
    assert ledger.balance(ledger.BANK) == 0

    # The same event of the platform's own (no account) is written.
    assert webhooks.apply_event({**event, "id": "evt_platform_payout", "account": None})
    assert _bank_payouts() == [("bank_payout:po_shop", "po_shop", -900)]


def test_the_nightly_sync_writes_the_payouts_whose_webhook_never_came(
    town: Town, own_stripe_api: StripeEmulator
) -> None:
    place_and_pay(town)
    paid = _pay_out(own_stripe_api, 700)
    returned = _pay_out(own_stripe_api, 300)
    own_stripe_api.control("POST", f"payouts/{returned.id}/fail", {})
    # No webhook handed to the app: without the sync, both payouts would be missing from the ledger.
    before = {(d.what, d.stripe_id) for d in ops.reconcile_day(_today()).differences}
    assert before == {("missing_in_ledger", paid.id), ("missing_in_ledger", returned.id)}

    assert ops_tasks.reconcile_yesterday(_today()) == 0

    db.session.expire_all()
    assert sorted(_bank_payouts()) == sorted(
        [
            (f"bank_payout:{paid.id}", paid.id, -700),
            (f"bank_payout:{returned.id}", returned.id, -300),
            (f"bank_payout_failure:{returned.id}", returned.id, 300),
        ]
    )
    _reconciles()
    # Run again: nothing more written.
    start, end = ops.town_day_bounds(_today())
    assert bank.sync_platform_payouts(start, end) == 0


def test_the_sync_writes_the_return_of_a_payout_made_on_an_earlier_day(
    town: Town, own_stripe_api: StripeEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    place_and_pay(town)
    payout = _pay_out(own_stripe_api, 400)
    start, end = ops.town_day_bounds(_today())
    assert bank.sync_platform_payouts(start, end) == 1
    own_stripe_api.control("POST", f"payouts/{payout.id}/fail", {})
    # The day the bank returns it, the payout itself (created earlier) is not among the day's payouts.
    monkeypatch.setattr(gateway, "platform_payouts", lambda **window: [])

    assert bank.sync_platform_payouts(start, end) == 1

    db.session.expire_all()
    assert _bank_payouts()[-1] == (f"bank_payout_failure:{payout.id}", payout.id, 400)
    assert ledger.balance(ledger.BANK) == 0
    _reconciles()
