"""The demo town's past orders: deterministic, plausible, and real money (the ledger balances, each part's
balances follow its story, the real payouts functions find their own rows), with no Stripe call, no
e-mail and no stock moved; ``flask demo load`` adds them once."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import orm

from app import demo
from app.accounts.models import User
from app.catalog.models import Product, Variant
from app.database import utcnow
from app.extensions import db
from app.ops.services import NUMBER_SERIES, check_series
from app.orders import credit_notes, demo_history
from app.orders.credit_notes import credit_note_figures
from app.orders.models import (
    CreditNote,
    CreditNoteCounter,
    Order,
    Refund,
    RefundReason,
    ReturnRequest,
    VendorOrder,
    VendorOrderStatus,
)
from payouts import commission, gateway, ledger, reports
from payouts import services as payouts
from payouts.models import LedgerAccount, LedgerEntry, LedgerTransaction, ShopTransfer, TransferStatus
from tests.plugins.stripe import StripeEmulator
from vendors.hours import TOWN_TZ

SHOPS = 8  # the first shops of the demo data: every delivery mode among them


def _cut_data(app: Flask, folder: Path, shops: list[int]) -> Path:
    """The demo data cut down to the shops at ``shops`` (positions in vendors.json) and their products."""
    source = Path(app.config["DEMO_DATA_DIR"])
    shutil.copy(source / "categories.json", folder / "categories.json")
    every = json.loads((source / "vendors.json").read_text(encoding="utf-8"))
    vendors = [every[index] for index in shops]
    (folder / "vendors.json").write_text(json.dumps(vendors, ensure_ascii=False), encoding="utf-8")
    slugs = {vendor["slug"] for vendor in vendors}
    lines = [
        line
        for line in (source / "products.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip() and json.loads(line)["vendor"] in slugs
    ]
    (folder / "products.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def small_data(app: Flask, tmp_path: Path) -> Path:
    """The demo data cut down to a few shops and their products, for a quick load."""
    return _cut_data(app, tmp_path, list(range(SHOPS)))


@pytest.fixture
def mixed_town(app: Flask, db_session: Any, tmp_path: Path) -> Iterator[Path]:
    """A few shops selling food (perishable, excluded from withdrawal) and goods that can be sent back,
    most of them shipping, so that withdrawals are frequent."""
    data = _cut_data(app, tmp_path, [2, 6, 7, 10, 11, 18, 26, 29])
    with app.test_request_context("/"):
        demo.load(data, with_photos=False, with_history=False)
        yield data


@pytest.fixture
def town(app: Flask, db_session: Any, small_data: Path) -> Iterator[Path]:
    with app.test_request_context("/"):
        demo.load(small_data, with_photos=False, with_history=False)
        yield small_data


def _today() -> dt.date:
    return utcnow().astimezone(TOWN_TZ).date()


def _history_parts() -> list[VendorOrder]:
    return list(
        db.session.scalars(
            sa.select(VendorOrder)
            .join(Order, Order.id == VendorOrder.order_id)
            .where(Order.checkout_token.startswith(demo_history.TOKEN_PREFIX))
            .options(
                orm.joinedload(VendorOrder.order).selectinload(Order.vendor_orders),
                orm.selectinload(VendorOrder.lines),
                orm.selectinload(VendorOrder.refunds),
            )
            .order_by(VendorOrder.id)
        )
    )


def _shop_balances() -> dict[tuple[int, str], int]:
    """Per part and shop account (pending, available), what the ledger says the platform owes."""
    rows = db.session.execute(
        sa.select(
            LedgerTransaction.vendor_order_id, LedgerAccount.code, sa.func.sum(LedgerEntry.amount_cents)
        )
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerAccount.code.startswith("shop:"))
        .group_by(LedgerTransaction.vendor_order_id, LedgerAccount.code)
    )
    return {(int(part_id or 0), code.rsplit(":", 1)[1]): -int(total) for part_id, code, total in rows}


def _refuse_outside_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    def refused(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the history must not call Stripe nor send mail")

    monkeypatch.setattr(gateway, "client", refused)
    monkeypatch.setattr("app.mail.send", refused)


def test_a_month_of_history_is_plausible_and_its_money_balances_to_the_cent(
    app: Flask, town: Path, monkeypatch: pytest.MonkeyPatch, own_stripe_api: StripeEmulator
) -> None:
    stock = db.session.scalar(sa.select(sa.func.sum(Variant.stock)))
    # The demo town's own few orders (app/reviews/demo.py) are in the ledger already: the history's
    # money is read as what it adds.
    stripe_before, commission_before = ledger.balance(ledger.STRIPE), ledger.balance(ledger.COMMISSION)
    transfers_before = set(db.session.scalars(sa.select(ShopTransfer.id)))
    today = _today()
    with monkeypatch.context() as patched:
        _refuse_outside_calls(patched)
        report = demo_history.generate_history(
            today - dt.timedelta(days=35), today - dt.timedelta(days=1), 14, seed=3
        )
    db.session.expire_all()
    parts = _history_parts()
    assert report.orders > 300
    assert report.parts == len(parts)
    assert report.rate > 0

    # Plausible: Saturdays busier than Sundays and Mondays; click & collect first, every mode used.
    weekdays = report.by_weekday
    assert weekdays[5] > weekdays[6]
    assert weekdays[5] > weekdays[0]
    methods = Counter(part.delivery_method.value for part in parts)
    assert methods.most_common(1)[0][0] == "click_collect"
    assert set(methods) == {"click_collect", "local_delivery", "home_delivery", "relay"}
    statuses = Counter(part.status for part in parts)
    assert statuses[VendorOrderStatus.COMPLETED] > len(parts) / 3
    assert statuses[VendorOrderStatus.CANCELLED] > 0
    reasons = Counter(refund.reason for refund in db.session.scalars(sa.select(Refund)))
    assert reasons[RefundReason.REFUSED]
    assert reasons[RefundReason.CANCELLED]
    assert reasons[RefundReason.WITHDRAWAL] + reasons[RefundReason.PARTIAL] > 3
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReturnRequest)) == report.withdrawals
    assert all(1 <= len(part.lines) <= 4 for part in parts)
    orders = {part.order for part in parts}
    assert max(len(order.vendor_orders) for order in orders) > 1
    now = utcnow()
    assert all(order.paid_at is not None and order.paid_at < now for order in orders)
    assert all(order.number.startswith("M-") and order.payment_intent_id is None for order in orders)

    # Shoppers: returning ones, generated addresses only, most living in the town.
    buyers = Counter(order.user_id for order in orders)
    assert sum(1 for count in buyers.values() if count > 1) > len(buyers) / 4
    shoppers = list(db.session.scalars(sa.select(User).where(User.id.in_(buyers))))
    assert all(user.email.endswith(("@example.org", "@example.test")) for user in shoppers)
    delivered = [order for order in orders if order.postcode]
    local = sum(1 for order in delivered if order.postcode in demo_history.TOWN_POSTCODES)
    assert local > len(delivered) / 2

    # The past never empties today's shelves.
    assert db.session.scalar(sa.select(sa.func.sum(Variant.stock))) == stock

    # Money: balanced; each part's balances follow its story; the platform's Stripe balance adds up.
    assert ledger.unbalanced() == []
    balances = _shop_balances()
    transfers = {
        t.vendor_order_id: t
        for t in db.session.scalars(sa.select(ShopTransfer).where(ShopTransfer.id.not_in(transfers_before)))
    }
    assert report.transfers == len(transfers) > 0
    for part in parts:
        given = sum(done.commission_cents + done.commission_vat_cents for done in part.refunds)
        due = (
            part.total_cents - part.commission_cents - part.commission_vat_cents - part.refunded_cents + given
        )
        assert part.refunded_cents == sum(done.amount_cents for done in part.refunds)
        if part.id in transfers:
            transfer = transfers[part.id]
            assert part.received_at is not None
            assert transfer.transferred_at is not None
            assert transfer.transferred_at >= part.received_at + payouts.hold()
            assert (transfer.amount_cents, transfer.status) == (
                (due, TransferStatus.PAID) if due else (0, TransferStatus.NETTED)
            )
            assert balances.get((part.id, "pending"), 0) == balances.get((part.id, "available"), 0) == 0
        else:
            assert balances.get((part.id, "pending"), 0) == due
    refunds = list(db.session.scalars(sa.select(Refund)))
    paid_in = sum(part.total_cents for part in parts)
    paid_out = sum(done.amount_cents for done in refunds) + sum(t.amount_cents for t in transfers.values())
    assert ledger.balance(ledger.STRIPE) - stripe_before == paid_in - paid_out
    assert ledger.balance(ledger.COMMISSION) - commission_before == sum(
        part.commission_cents for part in parts
    ) - sum(done.commission_cents for done in refunds)
    assert commission.given_back(parts[0]) == (
        sum(done.commission_cents for done in parts[0].refunds),
        sum(done.commission_vat_cents for done in parts[0].refunds),
    )
    occurred = db.session.scalars(
        sa.select(LedgerTransaction.occurred_at).where(
            LedgerTransaction.vendor_order_id.in_([part.id for part in parts])
        )
    ).all()
    assert min(occurred) >= dt.datetime.combine(today - dt.timedelta(days=35), dt.time(), TOWN_TZ)
    assert max(occurred) < now

    # The reconciliation with Stripe finds nothing: the history has no Stripe id anywhere in its ledger,
    # and the balances compare without the money Stripe never saw.
    assert db.session.scalar(sa.select(sa.func.count()).where(LedgerTransaction.stripe_id.is_not(None))) == 0
    found = reports.reconcile()
    assert (found.differences, found.ledger_balance_cents) == ([], found.stripe_balance_cents)
    assert ledger.balance(ledger.STRIPE) - found.ledger_balance_cents == stripe_before + paid_in - paid_out


def test_the_real_payouts_functions_find_the_same_rows(
    app: Flask, town: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run again on the generated orders, the real functions write nothing (same business keys) and would
    have posted the same lines; the commission engine freezes the same rates."""
    today = _today()
    with monkeypatch.context() as patched:
        _refuse_outside_calls(patched)
        demo_history.generate_history(today - dt.timedelta(days=24), today - dt.timedelta(days=1), 4, seed=4)
        db.session.expire_all()
        stored = {
            transaction.key: sorted((entry.account.code, entry.amount_cents) for entry in transaction.entries)
            for transaction in db.session.scalars(sa.select(LedgerTransaction))
        }
        asked: list[tuple[str, list[tuple[str, int]]]] = []
        original = ledger.post

        def spy(key: str, kind: Any, lines: Any, **kwargs: Any) -> Any:
            kept = sorted((line.code, line.amount_cents) for line in lines if line.amount_cents)
            asked.append((key, kept))
            return original(key, kind, lines, **kwargs)

        patched.setattr(ledger, "post", spy)
        parts = _history_parts()
        for order in {part.order for part in parts}:
            payouts.record_payment(order)
        released = {t.vendor_order_id for t in db.session.scalars(sa.select(ShopTransfer))}
        checked_refunds = 0
        for part in parts:
            for done in part.refunds:
                before = (done.commission_cents, done.commission_vat_cents)
                if part.id in released:  # refunded before the release: what it gave back is the same
                    assert commission.refund_share(part, done) == before
                else:
                    payouts.record_refund(done)
                    assert (done.commission_cents, done.commission_vat_cents) == before
                checked_refunds += 1
            if part.id in released:
                assert payouts.release(part).vendor_order_id == part.id
            rates = [line.commission_bps for line in part.lines]
            frozen = (part.commission_cents, part.commission_vat_cents)
            commission.freeze(part, part.created_at.astimezone(TOWN_TZ).date())
            assert [line.commission_bps for line in part.lines] == rates
            assert (part.commission_cents, part.commission_vat_cents) == frozen
        assert checked_refunds > 0
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerTransaction)) == len(stored)
        for key, lines in asked:
            assert key in stored, key
            assert stored[key] == lines, key
    db.session.rollback()


def _fingerprint() -> list[tuple[Any, ...]]:
    return [
        (
            part.order.number,
            part.order.checkout_token,
            part.order.created_at,
            part.order.email,
            part.delivery_method,
            part.status,
            part.total_cents,
            part.commission_cents,
            part.refunded_cents,
            part.invoice_number,
            part.received_at,
            tuple((line.title, line.quantity, line.unit_price_cents) for line in part.lines),
        )
        for part in _history_parts()
    ]


def test_the_same_seed_writes_the_same_history(app: Flask, town: Path) -> None:
    today = _today()
    start, end = today - dt.timedelta(days=20), today - dt.timedelta(days=14)
    db.session.commit()
    connection = db.session.get_bind()
    assert isinstance(connection, sa.Connection)  # the test's transaction
    seen = []
    for _ in range(2):
        connection.exec_driver_sql("SAVEPOINT history_twice")
        report = demo_history.generate_history(start, end, 12, seed=9)
        seen.append((report.orders, report.refunded_cents, report.commission_cents, _fingerprint()))
        db.session.rollback()
        connection.exec_driver_sql("ROLLBACK TO SAVEPOINT history_twice")
        db.session.expire_all()
    assert seen[0][0] > 30
    assert seen[0] == seen[1]
    other = demo_history.generate_history(start, end, 12, seed=10)
    assert (other.orders, _fingerprint()) != (seen[0][0], seen[0][3])


def test_bad_ranges_are_refused_and_the_future_is_left_alone(app: Flask, town: Path) -> None:
    today = _today()
    with pytest.raises(ValueError, match="ends before it starts"):
        demo_history.generate_history(today - dt.timedelta(days=1), today - dt.timedelta(days=5), 10, seed=1)
    with pytest.raises(ValueError, match="orders_per_day"):
        demo_history.generate_history(today - dt.timedelta(days=5), today, 10**9, seed=1)
    report = demo_history.generate_history(today, today + dt.timedelta(days=30), 10, seed=1)
    assert report.orders == 0


def test_demo_load_adds_the_history_once(
    app: Flask, db_session: Any, small_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "DEMO_HISTORY_DAYS", 12)
    monkeypatch.setitem(app.config, "DEMO_HISTORY_PER_DAY", 6)
    runner = app.test_cli_runner()
    skipped = runner.invoke(args=["demo", "load", "--no-photos", "--no-history", "--data", str(small_data)])
    assert skipped.exit_code == 0, skipped.output
    assert "past orders" not in skipped.output
    first = runner.invoke(args=["demo", "load", "--no-photos", "--data", str(small_data)])
    assert first.exit_code == 0, first.output
    created = int(first.output.split("past orders created: ")[1].split()[0])
    assert created > 20
    count = len(_history_parts())
    second = runner.invoke(args=["demo", "load", "--no-photos", "--data", str(small_data)])
    assert second.exit_code == 0, second.output
    assert "past orders created: 0" in second.output
    assert "past days skipped (already there): 0" not in second.output
    assert len(_history_parts()) == count

    more = runner.invoke(args=["demo", "history", "--days", "3", "--per-day", "5", "--seed", "77"])
    assert more.exit_code == 0, more.output
    assert "orders/s" in more.output
    assert len(_history_parts()) > count
    bad = runner.invoke(args=["demo", "history", "--days", "0"])
    assert bad.exit_code == 2
    assert ledger.unbalanced() == []


def _history_notes() -> list[CreditNote]:
    return list(
        db.session.scalars(
            sa.select(CreditNote)
            .options(orm.selectinload(CreditNote.lines), orm.joinedload(CreditNote.refund))
            .order_by(CreditNote.id)
        )
    )


def test_every_refund_of_an_invoiced_part_has_its_credit_note_in_a_gapless_chronological_series(
    app: Flask, town: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two batches and more (refunds of the first batch's orders made after the second's began): each
    refund of an invoiced part has one credit note of its amount, numbered in the order the refunds were
    made; refunds of parts never invoiced have none; the restore check finds every series whole."""
    today = _today()
    with monkeypatch.context() as patched:
        _refuse_outside_calls(patched)
        report = demo_history.generate_history(
            today - dt.timedelta(days=70), today - dt.timedelta(days=1), 14, seed=21
        )
    db.session.expire_all()
    assert report.orders > demo_history.BATCH * 2
    notes = {note.refund_id: note for note in _history_notes()}
    assert report.credit_notes == len(notes) > 5
    parts = _history_parts()
    kinds: Counter[RefundReason] = Counter()
    for part in parts:
        returned = {
            request.refund_id: {item.order_line_id: item.quantity for item in request.lines}
            for request in part.returns
        }
        for done in part.refunds:
            note = notes.pop(done.id, None)
            if part.invoice_number is None:
                assert note is None
                continue
            assert note is not None, done.key
            kinds[done.reason] += 1
            figures = credit_note_figures(note)
            assert note.total_cents == figures.gross_cents == done.amount_cents
            assert (note.net_cents, note.vat_cents) == (figures.net_cents, figures.vat_cents)
            assert (note.shop_id, note.vendor_order_id) == (part.shop_id, part.id)
            assert (note.invoice_number, note.invoice_issued_at) == (part.invoice_number, part.invoiced_at)
            assert note.issued_at == done.created_at
            assert note.number.startswith(f"AV-{done.created_at.astimezone(TOWN_TZ).year}-")
            goods = {line.order_line_id: line.quantity for line in note.lines if line.kind == "goods"}
            if done.reason == RefundReason.WITHDRAWAL:
                assert goods == returned[done.id]
                delivery = [line.total_cents for line in note.lines if line.kind == "delivery"]
                assert delivery == ([done.delivery_cents] if done.delivery_cents else [])
            else:
                assert goods == {}
                assert {line.kind for line in note.lines} == {"amount"}
    assert notes == {}  # no credit note without its refund
    assert kinds[RefundReason.WITHDRAWAL]
    assert kinds[RefundReason.PARTIAL]

    # Chronological in each shop's series of the year, and whole (the counters end on the last number).
    series: dict[tuple[int, str], list[CreditNote]] = {}
    for note in _history_notes():
        series.setdefault((note.shop_id, note.number[:7]), []).append(note)
    for same in series.values():
        same.sort(key=lambda note: note.number)
        assert [note.issued_at for note in same] == sorted(note.issued_at for note in same)
    connection = db.session.connection()
    for numbered in NUMBER_SERIES:
        if numbered.table not in ("vendor_orders", "credit_notes"):
            continue  # the demo's own orders are numbered M-DEMO-…, outside the yearly series
        check = check_series(connection, numbered)
        assert check.ok, check.problems
    counters = {
        (counter.shop_id, counter.year): counter.last
        for counter in db.session.scalars(sa.select(CreditNoteCounter))
    }
    assert counters == {(shop_id, int(prefix[3:])): len(same) for (shop_id, prefix), same in series.items()}


def _credit_series_checks() -> None:
    """Each shop's credit notes numbered in the order of their refunds, the series whole."""
    series: dict[tuple[int, str], list[CreditNote]] = {}
    for note in _history_notes():
        series.setdefault((note.shop_id, note.number[:7]), []).append(note)
    for same in series.values():
        same.sort(key=lambda note: note.number)
        assert [note.issued_at for note in same] == sorted(note.issued_at for note in same)
    credit_series = next(series for series in NUMBER_SERIES if series.table == "credit_notes")
    check = check_series(db.session.connection(), credit_series)
    assert check.ok, check.problems


def test_a_run_stopped_before_its_last_credit_notes_is_completed_by_the_next(
    app: Flask, town: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Batches are committed while the credit notes of their latest refunds wait for the next batch: a
    run stopped there leaves refunds without notes, which the next run writes (its days are skipped)."""
    today = _today()
    start, end = today - dt.timedelta(days=70), today - dt.timedelta(days=1)
    original = demo_history._Writer.credit

    def stopped(writer: Any, until: dt.datetime | None) -> None:
        if until is not None:  # the last call never comes
            original(writer, until)

    with monkeypatch.context() as patched:
        _refuse_outside_calls(patched)
        patched.setattr(demo_history._Writer, "credit", stopped)
        first = demo_history.generate_history(start, end, 14, seed=24)
    invoiced_refunds = (
        sa.select(sa.func.count())
        .select_from(Refund)
        .join(VendorOrder, VendorOrder.id == Refund.vendor_order_id)
        .where(VendorOrder.invoice_number.is_not(None))
    )
    missing = db.session.scalar(invoiced_refunds) - first.credit_notes
    assert first.credit_notes > 0
    assert missing > 0
    again = demo_history.generate_history(start, end, 14, seed=24)
    assert again.orders == 0
    assert again.credit_notes == missing
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CreditNote)) == db.session.scalar(
        invoiced_refunds
    )
    db.session.expire_all()
    _credit_series_checks()
    assert demo_history.generate_history(start, end, 14, seed=24).credit_notes == 0


def test_withdrawals_never_take_back_an_excluded_line(
    app: Flask, mixed_town: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = _today()
    with monkeypatch.context() as patched:
        _refuse_outside_calls(patched)
        report = demo_history.generate_history(
            today - dt.timedelta(days=60), today - dt.timedelta(days=1), 14, seed=22
        )
    db.session.expire_all()
    parts = _history_parts()
    withdrawn = [
        (item.line, item.quantity) for part in parts for request in part.returns for item in request.lines
    ]
    assert len(withdrawn) >= report.withdrawals > 5
    assert all(line.withdrawable for line, _count in withdrawn)
    # The shops sell perishable food too: many received parts hold lines a withdrawal could not take.
    excluded = [line for part in parts if part.received_at for line in part.lines if not line.withdrawable]
    assert len(excluded) > 100, len(excluded)
    products = {product.id: product for product in db.session.scalars(sa.select(Product))}
    for part in parts:
        for line in part.lines:
            # Frozen as the checkout freezes it: the product's own exclusion, else its category's.
            assert line.product_id is not None
            assert line.withdrawal_exclusion == products[line.product_id].withdrawal_exclusion_now
            if not line.withdrawable:
                assert line.returned_quantity == 0


def test_a_refund_after_the_history_continues_its_shop_series(
    app: Flask, town: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    today = _today()
    with monkeypatch.context() as patched:
        _refuse_outside_calls(patched)
        demo_history.generate_history(
            today - dt.timedelta(days=40), today - dt.timedelta(days=1), 14, seed=23
        )
    db.session.expire_all()
    year = utcnow().astimezone(TOWN_TZ).year
    counters = {
        counter.shop_id: counter.last
        for counter in db.session.scalars(sa.select(CreditNoteCounter).where(CreditNoteCounter.year == year))
    }
    assert counters
    part = next(
        part
        for part in _history_parts()
        if part.shop_id in counters and part.invoice_number and part.remaining_cents > 0
    )
    done = Refund(
        vendor_order=part,
        amount_cents=part.remaining_cents,
        reason=RefundReason.PARTIAL,
        key=f"vendor-order-{part.id}-after-history",
        note="geste",
    )
    db.session.add(done)
    part.refunded_cents += done.amount_cents
    db.session.flush()
    note = credit_notes.issue_for_refund(done)
    assert note is not None
    assert note.number == f"AV-{year}-{counters[part.shop_id] + 1:05d}"
    check = check_series(
        db.session.connection(), next(series for series in NUMBER_SERIES if series.table == "credit_notes")
    )
    assert check.ok, check.problems
