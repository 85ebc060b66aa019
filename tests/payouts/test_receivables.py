"""Money a shop owes: transfers wait for an open withdrawal; refused reversals are retried, netted, or
shown to the manager as receivables after 30 days."""

from __future__ import annotations

import datetime as dt
import html
import uuid

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from app.database import utcnow
from app.extensions import db
from app.orders import services as orders
from app.orders.models import Refund, RefundReason
from payouts import gateway, ledger, reports, tasks
from payouts import services as payouts
from payouts.models import ReversalAttempt, ShopTransfer, TransferReversal, TransferStatus
from tests.catalog.test_categories import login_manager
from tests.orders.support import Town, fill_cart, login, make_town, part_of
from tests.orders.test_lifecycle import place_and_pay
from tests.payouts.support import after_hold, connect, connected_balance, deliver
from tests.plugins.application import Client
from tests.plugins.stripe import StripeEmulator


@pytest.fixture
def town(app_ctx: Flask, stripe_api: StripeEmulator) -> Town:
    made = make_town()
    fill_cart(made, (made.novel, 2))
    return made


def transfer_of(part_id: int) -> ShopTransfer | None:
    db.session.expire_all()
    return db.session.scalar(sa.select(ShopTransfer).where(ShopTransfer.vendor_order_id == part_id))


def owed_by_shop(part_refund: Refund) -> int:
    return part_refund.amount_cents - part_refund.commission_cents - part_refund.commission_vat_cents


def test_an_open_withdrawal_holds_the_transfer_then_what_is_left_goes(
    town: Town, stripe_api: StripeEmulator
) -> None:
    account = connect(town.books_id, stripe_api)
    order = place_and_pay(town)
    deliver(order, town.books_id)
    books = part_of(order, town.books_id)
    due = books.total_cents - books.commission_cents - books.commission_vat_cents
    novel = books.lines[0]
    orders.request_withdrawal(books, {novel.id: "1"}, "Déjà lu")
    db.session.commit()

    with time_machine.travel(after_hold()):
        assert payouts.due_parts() == []
        assert tasks.transfer_due() == 0
        assert payouts.pay_out(books.id) is None, "even asked directly, nothing leaves"
        db.session.commit()
        assert transfer_of(books.id) is None
        assert connected_balance(account) == 0
        assert reports.shop_money(books.shop).upcoming[0].waiting == "return"

        refund = orders.receive_return(books)
        db.session.commit()
        assert refund is not None
        assert tasks.transfer_due() == 1
    transfer = transfer_of(books.id)
    assert transfer is not None
    assert (transfer.status, transfer.amount_cents) == (TransferStatus.PAID, due - owed_by_shop(refund))
    assert transfer.reversed_cents == 0, "nothing to take back: the refund was netted before the transfer"
    assert connected_balance(account) == due - owed_by_shop(refund)
    assert ledger.balance(ledger.available(town.books_id)) == 0
    assert ledger.balance(ledger.pending(town.books_id)) == 0


def test_a_withdrawal_after_the_release_holds_the_waiting_transfer(
    app_ctx: Flask, town: Town, stripe_api: StripeEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app_ctx.config, "PAYOUT_HOLD_DAYS", 7)
    order = place_and_pay(town)
    deliver(order, town.books_id)
    books = part_of(order, town.books_id)
    due = books.total_cents - books.commission_cents - books.commission_vat_cents
    now = utcnow()
    with time_machine.travel(now + dt.timedelta(days=8)):
        tasks.transfer_due()  # released; waits for the shop's payment account
        waiting = transfer_of(books.id)
        assert waiting is not None
        assert waiting.status == TransferStatus.WAITING
        books = part_of(order, town.books_id)
        orders.request_withdrawal(books, {books.lines[0].id: "1"})
        db.session.commit()
        account = connect(town.books_id, stripe_api)
        assert payouts.retry_parts() == []
        tasks.transfer_due()
        assert payouts.pay_out(books.id) is not None
        db.session.commit()
        held = transfer_of(books.id)
        assert held is not None
        assert held.status == TransferStatus.WAITING, "the withdrawal is open"
        assert connected_balance(account) == 0
    with time_machine.travel(now + dt.timedelta(days=9)):
        refund = orders.receive_return(part_of(order, town.books_id))
        db.session.commit()
        assert refund is not None
        tasks.transfer_due()
    paid = transfer_of(books.id)
    assert paid is not None
    assert (paid.status, paid.amount_cents) == (TransferStatus.PAID, due - owed_by_shop(refund))
    assert connected_balance(account) == due - owed_by_shop(refund)
    assert ledger.balance(ledger.available(town.books_id)) == 0


def refused_reversal(town: Town, stripe_api: StripeEmulator) -> tuple[str, Refund, int]:
    """A part transferred, its money paid out to the bank, then a refund Stripe cannot take back."""
    account = connect(town.books_id, stripe_api)
    order = place_and_pay(town)
    deliver(order, town.books_id)
    with time_machine.travel(after_hold()):
        tasks.transfer_due()
    stripe_api.control("POST", f"accounts/{account}/balance", {"available": 0})
    books = part_of(order, town.books_id)
    refund = orders.refund(books, 1000, RefundReason.WITHDRAWAL, key=f"test-{uuid.uuid4().hex}")
    db.session.commit()
    owed = owed_by_shop(refund)
    assert ledger.balance(ledger.available(town.books_id)) == -owed
    reversal = db.session.scalars(sa.select(TransferReversal)).one()
    assert reversal.stripe_reversal_id is None
    assert reversal.error
    return account, refund, books.id


def test_a_refused_reversal_is_retried_until_the_shop_balance_covers_it(
    app_ctx: Flask, town: Town, stripe_api: StripeEmulator
) -> None:
    account, refund, part_id = refused_reversal(town, stripe_api)
    owed = owed_by_shop(refund)
    assert payouts.owing_shops() == [town.books_id]

    assert tasks.retry_reversals() == 0
    stripe_api.control("POST", f"accounts/{account}/balance", {"available": owed + 500})  # new sales
    result = app_ctx.test_cli_runner().invoke(args=["payouts", "reversals"])
    assert (result.exit_code, result.output) == (0, f"{owed} cents taken back from shops\n")
    assert tasks.retry_reversals() == 0, "settled once"
    assert (tasks.retry_reversals, 3600) in tasks.SCHEDULE, "hourly under flask cron"

    db.session.expire_all()
    reversal = db.session.scalars(sa.select(TransferReversal)).one()
    attempts = reversal.attempts
    assert [attempt.succeeded for attempt in attempts] == [False, True]
    assert "balance_insufficient" in attempts[0].error
    assert len({attempt.idempotency_key for attempt in attempts}) == 2, "each attempt has its own key"
    assert (reversal.stripe_reversal_id, reversal.recovered_cents) == (attempts[1].stripe_reversal_id, owed)
    assert reversal.settled_at is not None
    transfer = transfer_of(part_id)
    assert transfer is not None
    assert transfer.reversed_cents == owed
    stripe_transfer = gateway.client().v1.transfers.retrieve(transfer.stripe_transfer_id or "")
    assert stripe_transfer.amount_reversed == owed
    assert connected_balance(account) == 500
    assert ledger.balance(ledger.available(town.books_id)) == 0
    assert payouts.owing_shops() == []


def test_a_debt_still_owed_after_30_days_is_shown_to_the_manager(
    client: Client, town: Town, stripe_api: StripeEmulator
) -> None:
    refused_reversal(town, stripe_api)
    owed = -ledger.balance(ledger.available(town.books_id))
    with time_machine.travel(utcnow() + dt.timedelta(days=1)):
        tasks.retry_reversals()
        assert reports.receivables() == [], "not yet 30 days"
    with time_machine.travel(utcnow() + dt.timedelta(days=31)):
        tasks.retry_reversals()
        found = reports.receivables()
        assert [(r.shop.id, r.owed_cents) for r in found] == [(town.books_id, owed)]
        assert len(db.session.scalars(sa.select(ReversalAttempt)).all()) == 2
        login_manager(client)
        figures = client.get("/gestion/finances").get_data(as_text=True)
        assert "/gestion/finances/creances" in figures
        page = html.unescape(client.get("/gestion/finances/creances").get_data(as_text=True))
    assert "Librairie du Pont" in page
    assert page.count("balance_insufficient") == 3, "the first refusal and each retry, with Stripe's answer"
    assert page.count('data-testid="receivable"') == 1


def test_the_receivables_are_the_managers_only(client: Client, town: Town) -> None:
    login(client, town.books_owner_email)
    assert client.get("/gestion/finances/creances").status_code in (302, 403, 404)


def test_a_debt_netted_by_a_later_transfer_leaves_nothing_to_retry(
    town: Town, stripe_api: StripeEmulator
) -> None:
    account, refund, _ = refused_reversal(town, stripe_api)
    owed = owed_by_shop(refund)
    fill_cart(town, (town.novel, 1))
    second = place_and_pay(town)
    deliver(second, town.books_id)
    with time_machine.travel(after_hold(30)):
        tasks.transfer_due()
    again = part_of(second, town.books_id)
    due = again.total_cents - again.commission_cents - again.commission_vat_cents
    transfer = transfer_of(again.id)
    assert transfer is not None
    assert transfer.amount_cents == due - owed, "netted"
    assert ledger.balance(ledger.available(town.books_id)) == 0

    before = connected_balance(account)
    assert tasks.retry_reversals() == 0
    assert connected_balance(account) == before, "not taken back a second time"
    assert db.session.scalars(sa.select(ReversalAttempt)).all() == []
    db.session.expire_all()
    assert db.session.scalars(sa.select(TransferReversal)).one().settled_at is not None
    assert payouts.owing_shops() == []
    with time_machine.travel(utcnow() + dt.timedelta(days=31)):
        assert reports.receivables() == []
