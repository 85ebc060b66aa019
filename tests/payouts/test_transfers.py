"""Transfers to shops after delivery and the hold; refunds after a transfer; netting; failures."""

from __future__ import annotations

import pytest
import time_machine
from flask import Flask

from app.extensions import db
from app.orders import services as orders
from app.orders.models import RefundReason
from payouts import gateway, ledger, tasks
from payouts import services as payouts
from payouts.models import ShopTransfer, TransferStatus
from tests.orders.support import Town, fill_cart, make_town, part_of
from tests.orders.test_lifecycle import place_and_pay
from tests.payouts.support import after_hold, connect, connected_balance, deliver
from tests.plugins.stripe import StripeEmulator


@pytest.fixture
def town(app_ctx: Flask, stripe_api: StripeEmulator) -> Town:
    made = make_town()
    fill_cart(made, (made.bread, 2), (made.novel, 1))
    return made


def transfer_of(part_id: int) -> ShopTransfer:
    db.session.expire_all()
    return db.session.query(ShopTransfer).filter_by(vendor_order_id=part_id).one()


def test_a_delivered_part_is_transferred_after_the_hold_once(town: Town, stripe_api: StripeEmulator) -> None:
    account = connect(town.books_id, stripe_api)
    order = place_and_pay(town)
    deliver(order, town.books_id)
    books = part_of(order, town.books_id)
    owed = books.total_cents - books.commission_cents - books.commission_vat_cents
    assert ledger.balance(ledger.pending(town.books_id)) == owed
    assert tasks.transfer_due() == 0, "the hold has not passed"

    with time_machine.travel(after_hold()):
        assert tasks.transfer_due() == 1
        assert tasks.transfer_due() == 0, "once"
    transfer = transfer_of(books.id)
    assert (transfer.status, transfer.amount_cents) == (TransferStatus.PAID, owed)
    stripe_transfer = gateway.client().v1.transfers.retrieve(transfer.stripe_transfer_id or "")
    assert (
        stripe_transfer.destination,
        stripe_transfer.source_transaction,
        stripe_transfer.transfer_group,
    ) == (
        account,
        order.charge_id,
        order.number,
    )
    assert connected_balance(account) == owed
    assert (
        ledger.balance(ledger.pending(town.books_id)),
        ledger.balance(ledger.available(town.books_id)),
    ) == (0, 0)
    assert part_of(order, town.baker_id).status.value == "paid", (
        "the bakery's part is not delivered: no transfer"
    )


def test_a_refund_after_the_transfer_is_taken_back_from_the_shop(
    town: Town, stripe_api: StripeEmulator
) -> None:
    account = connect(town.books_id, stripe_api)
    order = place_and_pay(town)
    deliver(order, town.books_id)
    with time_machine.travel(after_hold()):
        tasks.transfer_due()
    books = part_of(order, town.books_id)
    before = connected_balance(account)
    refund = orders.refund(books, 1000, RefundReason.WITHDRAWAL, key="test-partial-refund")
    db.session.commit()
    # 10,00 of goods out of 24,00: the commission given back in proportion, the shop's share reversed.
    assert (refund.commission_cents, refund.commission_vat_cents) == (
        round(books.commission_cents * 1000 / books.items_cents),
        round(books.commission_cents * 1000 / books.items_cents * 0.2),
    )
    share = 1000 - refund.commission_cents - refund.commission_vat_cents
    assert connected_balance(account) == before - share
    assert transfer_of(books.id).reversed_cents == share
    assert ledger.balance(ledger.available(town.books_id)) == 0


def test_what_cannot_be_taken_back_is_netted_on_the_next_transfer(
    app_ctx: Flask, town: Town, stripe_api: StripeEmulator
) -> None:
    account = connect(town.books_id, stripe_api)
    first = place_and_pay(town)
    deliver(first, town.books_id)
    with time_machine.travel(after_hold()):
        tasks.transfer_due()
    stripe_api.control("POST", f"accounts/{account}/balance", {"available": 0})  # paid out to the bank
    books = part_of(first, town.books_id)
    refund = orders.refund(books, books.items_cents, RefundReason.WITHDRAWAL, key="test-full-goods")
    db.session.commit()
    owing = refund.amount_cents - refund.commission_cents - refund.commission_vat_cents
    assert ledger.balance(ledger.available(town.books_id)) == -owing, "the shop owes it"

    fill_cart(town, (town.novel, 1))
    second = place_and_pay(town)
    deliver(second, town.books_id)
    with time_machine.travel(after_hold(30)):
        tasks.transfer_due()
    again = part_of(second, town.books_id)
    due = again.total_cents - again.commission_cents - again.commission_vat_cents
    assert transfer_of(again.id).amount_cents == due - owing
    assert ledger.balance(ledger.available(town.books_id)) == 0


def test_no_transfer_without_payouts_then_it_goes_once_enabled(
    town: Town, stripe_api: StripeEmulator
) -> None:
    order = place_and_pay(town)
    deliver(order, town.books_id)
    books = part_of(order, town.books_id)
    with time_machine.travel(after_hold()):
        tasks.transfer_due()
        assert transfer_of(books.id).status == TransferStatus.WAITING
        owed = books.total_cents - books.commission_cents - books.commission_vat_cents
        assert ledger.balance(ledger.available(town.books_id)) == owed, "the amount waits in the balance"
        connect(town.books_id, stripe_api)
        tasks.transfer_due()
    assert transfer_of(books.id).status == TransferStatus.PAID


def test_a_transfer_stripe_refuses_is_kept_failed_and_retried(town: Town, stripe_api: StripeEmulator) -> None:
    account = connect(town.books_id, stripe_api)
    stripe_api.control("POST", f"accounts/{account}/fail_transfers", {"code": "account_closed", "count": 1})
    order = place_and_pay(town)
    deliver(order, town.books_id)
    books = part_of(order, town.books_id)
    with time_machine.travel(after_hold()):
        tasks.transfer_due()
    failed = transfer_of(books.id)
    assert (failed.status, failed.attempts) == (TransferStatus.FAILED, 1)
    assert failed.last_error
    assert ledger.balance(ledger.available(town.books_id)) > 0, "nothing left the ledger"
    with time_machine.travel(after_hold(16)):
        tasks.transfer_due()
    assert transfer_of(books.id).status == TransferStatus.PAID
    assert payouts.retry_parts() == []
