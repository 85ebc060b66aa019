"""The nightly reconciliation: one town day of the ledger's Stripe movements against Stripe's balance
transactions of that day, kept as a row, the managers mailed the differences once."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app.database import utcnow
from app.extensions import db
from app.ops import services, tasks
from app.ops.models import ReconciliationRun
from payouts import gateway, ledger
from payouts.models import TransactionKind
from tests.factories import UserFactory
from tests.orders.support import Town, fill_cart, make_town
from tests.orders.test_lifecycle import place_and_pay
from tests.plugins.application import Client, Mailbox
from tests.plugins.stripe import StripeEmulator
from vendors.hours import TOWN_TZ


@pytest.fixture
def town(app_ctx: Flask, own_stripe_api: StripeEmulator) -> Town:
    made = make_town()
    fill_cart(made, (made.novel, 1))
    return made


def _today() -> dt.date:
    return utcnow().astimezone(TOWN_TZ).date()


def test_a_town_day_is_its_local_midnights_even_when_the_clocks_change() -> None:
    assert services.town_day_bounds(dt.date(2026, 12, 5)) == (
        dt.datetime(2026, 12, 4, 23, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 5, 23, tzinfo=dt.UTC),
    )
    start, end = services.town_day_bounds(dt.date(2026, 3, 29))  # summer time: a 23-hour day
    assert end - start == dt.timedelta(hours=23)
    # Yesterday, once the margin for late webhooks has passed after midnight (Paris time).
    assert services.day_to_reconcile(dt.datetime(2026, 12, 6, 0, 30, tzinfo=dt.UTC)) == dt.date(2026, 12, 4)
    assert services.day_to_reconcile(dt.datetime(2026, 12, 6, 1, 30, tzinfo=dt.UTC)) == dt.date(2026, 12, 5)


def test_a_day_whose_movements_all_match_has_no_difference_and_mails_nobody(
    town: Town, mailbox: Mailbox
) -> None:
    manager: Any = UserFactory(manager=True)
    order = place_and_pay(town)
    found = services.reconcile_day(_today())
    assert (found.stripe_count, found.ledger_count, found.matched_count) == (1, 1, 1)
    assert found.differences == []
    assert services.reconcile_day(_today() - dt.timedelta(days=1)).stripe_count == 0
    assert order.charge_id is not None

    assert tasks.reconcile_yesterday(_today()) == 0
    run = db.session.scalars(sa.select(ReconciliationRun)).one()
    assert (run.day, run.matched_count, run.difference_count, run.mailed_at) == (_today(), 1, 0, None)
    assert mailbox.to(manager.email) == []
    assert services.latest_reconciliation_differences() == 0


def test_differences_are_kept_and_mailed_to_the_managers_once(
    town: Town, mailbox: Mailbox, app: Flask
) -> None:
    manager: Any = UserFactory(manager=True, first_name="Hélène")
    assert services.latest_reconciliation_differences() is None
    order = place_and_pay(town)
    # A refund made on Stripe's dashboard, which the ledger never heard of...
    refund = gateway.client().v1.refunds.create(
        params={"payment_intent": order.payment_intent_id, "amount": 500}
    )
    # ...and a movement the ledger wrote for a charge Stripe does not have.
    ledger.post(
        "test:ghost-charge",
        TransactionKind.SALE,
        [ledger.Line(ledger.STRIPE, 700), ledger.Line(ledger.UNALLOCATED, -700)],
        stripe_id="ch_ghost",
    )
    db.session.commit()

    assert tasks.reconcile_yesterday(_today()) == 2
    run = db.session.scalars(sa.select(ReconciliationRun)).one()
    assert (run.stripe_count, run.ledger_count, run.matched_count) == (2, 2, 1)
    assert {(d["what"], d["stripe_id"], d["stripe_cents"], d["ledger_cents"]) for d in run.differences} == {
        ("missing_in_ledger", refund.id, -500, None),
        ("missing_in_stripe", "ch_ghost", None, 700),
    }
    assert run.total_difference_cents == 1200
    assert run.mailed_at is not None
    assert services.latest_reconciliation_differences() == 2
    message = mailbox.last_to(manager.email)
    assert "2 écart(s)" in message.subject
    assert refund.id in message.text
    assert "ch_ghost" in message.text
    assert "Bonjour Hélène" in message.text
    assert "/gestion/finances/rapprochement" in message.text

    # Run again (the schedule comes back to the same day): brought up to date, nobody mailed twice.
    assert tasks.reconcile_yesterday(_today()) == 2
    assert db.session.scalars(sa.select(ReconciliationRun)).one().id == run.id
    assert len(mailbox.to(manager.email)) == 1


def test_the_command_prints_the_differences_and_fails(town: Town, app: Flask) -> None:
    place_and_pay(town)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["ops", "reconcile", "--day", _today().isoformat()])
    assert result.exit_code == 0, result.output
    assert "1 matched, 0 differences" in result.output
    ledger.post(
        "test:ghost-transfer",
        TransactionKind.TRANSFER,
        [ledger.Line(ledger.STRIPE, -300), ledger.Line(ledger.UNALLOCATED, 300)],
        stripe_id="tr_ghost",
    )
    db.session.commit()
    result = runner.invoke(args=["ops", "reconcile", "--day", _today().isoformat()])
    assert result.exit_code == 1
    assert "missing_in_stripe tr_ghost: Stripe None, ledger -300" in result.output
    bad = runner.invoke(args=["ops", "reconcile", "--day", "05/12/2026"])
    assert bad.exit_code == 2
    assert "YYYY-MM-DD" in bad.output


def test_the_metrics_show_the_latest_days_differences(client: Client) -> None:
    assert "marketplace_ledger_differences " not in client.get("/metrics").get_data(as_text=True)
    db.session.add_all(
        [
            ReconciliationRun(day=dt.date(2026, 12, 5), difference_count=3, differences=[]),
            ReconciliationRun(day=dt.date(2026, 12, 4), difference_count=0, differences=[]),
        ]
    )
    db.session.commit()  # (a failing probe's rollback would otherwise take them back)
    scraped = client.get("/metrics").get_data(as_text=True)
    assert "marketplace_ledger_differences 3.0" in scraped
