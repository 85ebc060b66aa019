"""What the shop's back office and the manager's console read: balances, transfers, figures, and the
reconciliation of the ledger with Stripe. Read-only; every figure comes from the ledger."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from app.database import utcnow
from app.extensions import db
from app.orders.models import DEMO_HISTORY, Order, VendorOrder, VendorOrderStatus
from payouts import bank, gateway, ledger, services
from payouts.models import (
    DisputePart,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    ShopTransfer,
    TransactionKind,
    TransferReversal,
    TransferStatus,
)
from vendors.models import Shop

log = logging.getLogger(__name__)

# -- a shop's money -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upcoming:
    part: VendorOrder
    amount_cents: int
    due_on: dt.datetime | None  # None: after delivery (or collection)
    waiting: str  # why it has not gone yet, when it is due


@dataclass(frozen=True)
class ShopMoney:
    pending_cents: int  # paid by shoppers, waiting for delivery and the hold
    available_cents: int  # transferable now (negative: owed by the shop, netted on the next transfers)
    paid_out_cents: int  # sent to the shop's Stripe account, less what was taken back
    upcoming: list[Upcoming]
    transfers: list[ShopTransfer]
    failed_reversals: list[TransferReversal]


def shop_money(shop: Shop) -> ShopMoney:
    moved = ledger.totals_by_kind(ledger.available(shop.id))
    paid_out = -(moved.get(TransactionKind.TRANSFER, 0) + moved.get(TransactionKind.TRANSFER_REVERSAL, 0))
    transfers = list(
        db.session.scalars(
            sa.select(ShopTransfer)
            .where(ShopTransfer.shop_id == shop.id)
            .order_by(ShopTransfer.id.desc())
            .limit(100)
        )
    )
    released = {transfer.vendor_order_id: transfer for transfer in transfers}
    upcoming: list[Upcoming] = []
    query = (
        sa.select(VendorOrder)
        .where(
            VendorOrder.shop_id == shop.id,
            VendorOrder.status.not_in((VendorOrderStatus.PENDING_PAYMENT, VendorOrderStatus.CANCELLED)),
        )
        .options(orm.selectinload(VendorOrder.order))
        .order_by(VendorOrder.id)
    )
    for part in db.session.scalars(query):
        transfer = released.get(part.id)
        if transfer is not None and transfer.status in (TransferStatus.PAID, TransferStatus.NETTED):
            continue
        if transfer is None:
            amount = ledger.balance(ledger.pending(shop.id), vendor_order_id=part.id)
            due = part.received_at + services.hold() if part.received_at else None
            waiting = "return" if services.return_open(part) else ""
        else:
            amount = ledger.balance(ledger.available(shop.id), vendor_order_id=part.id)
            due = transfer.next_attempt_at
            waiting = transfer.last_error
            if transfer.status == TransferStatus.WAITING:
                waiting = "dac7" if transfer.last_error == services.DAC7_WITHHELD else "payouts"
        if amount:
            upcoming.append(Upcoming(part, amount, due, waiting))
    failed = list(
        db.session.scalars(
            sa.select(TransferReversal)
            .join(ShopTransfer, ShopTransfer.id == TransferReversal.transfer_id)
            .where(
                ShopTransfer.shop_id == shop.id,
                TransferReversal.stripe_reversal_id.is_(None),
                TransferReversal.settled_at.is_(None),
            )
        )
    )
    return ShopMoney(
        pending_cents=ledger.balance(ledger.pending(shop.id)),
        available_cents=ledger.balance(ledger.available(shop.id)),
        paid_out_cents=paid_out,
        upcoming=upcoming,
        transfers=transfers,
        failed_reversals=failed,
    )


# -- the manager's figures ------------------------------------------------------------------------


@dataclass(frozen=True)
class PlatformFigures:
    stripe_cents: int
    commission_cents: int
    commission_vat_cents: int
    subscriptions_cents: int
    subscription_vat_cents: int
    owed_to_shops_cents: int
    unallocated_cents: int
    in_flight: list[ShopTransfer]
    failed: list[ShopTransfer]
    negative_balances: list[tuple[Shop, int]]
    stripe_fees_cents: int = (
        0  # Stripe's fees the platform bore (an expense: the Stripe balance is net of it)
    )
    bank_cents: int = 0  # what Stripe paid out of the platform's balance to its bank
    bank_payouts: list[bank.BankMovement] = field(default_factory=list)  # the latest, newest first


def platform_figures() -> PlatformFigures:
    shop_accounts = db.session.execute(
        sa.select(LedgerAccount.shop_id, sa.func.coalesce(sa.func.sum(LedgerEntry.amount_cents), 0))
        .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
        .where(LedgerAccount.shop_id.is_not(None), LedgerAccount.code.like("%:available"))
        .group_by(LedgerAccount.shop_id)
    ).all()
    negative = [(shop_id, -int(total)) for shop_id, total in shop_accounts if -int(total) < 0]
    shops = {
        shop.id: shop
        for shop in db.session.scalars(sa.select(Shop).where(Shop.id.in_([s for s, _ in negative])))
    }
    owed = -int(
        db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.amount_cents), 0))
            .join(LedgerAccount, LedgerEntry.account_id == LedgerAccount.id)
            .where(LedgerAccount.shop_id.is_not(None))
        )
        or 0
    )
    return PlatformFigures(
        stripe_cents=ledger.balance(ledger.STRIPE),
        commission_cents=ledger.balance(ledger.COMMISSION),
        commission_vat_cents=ledger.balance(ledger.COMMISSION_VAT),
        subscriptions_cents=ledger.balance(ledger.SUBSCRIPTIONS),
        subscription_vat_cents=ledger.balance(ledger.SUBSCRIPTION_VAT),
        owed_to_shops_cents=owed,
        unallocated_cents=ledger.balance(ledger.UNALLOCATED),
        stripe_fees_cents=ledger.balance(ledger.STRIPE_FEES),
        bank_cents=ledger.balance(ledger.BANK),
        bank_payouts=bank.recent_payouts(),
        in_flight=_transfers(TransferStatus.WAITING),
        failed=_transfers(TransferStatus.FAILED),
        negative_balances=[(shops[shop_id], amount) for shop_id, amount in negative if shop_id in shops],
    )


def _transfers(status: TransferStatus) -> list[ShopTransfer]:
    return list(
        db.session.scalars(
            sa.select(ShopTransfer).where(ShopTransfer.status == status).order_by(ShopTransfer.id)
        )
    )


# -- what shops owe the platform ------------------------------------------------------------------


@dataclass(frozen=True)
class Receivable:
    shop: Shop
    owed_cents: int  # what the shop's available balance still owes (the ledger's word)
    since: dt.datetime  # the first refused reversal still open
    reversals: list[TransferReversal]  # each with its attempts


def receivables(now: dt.datetime | None = None) -> list[Receivable]:
    """Shops still owing what refused transfer reversals left, after ``RECEIVABLE_AFTER`` (30 days):
    the retries and later sales have not settled it, the manager has to claim it."""
    now = now or utcnow()
    open_reversals = list(
        db.session.scalars(
            sa.select(TransferReversal)
            .join(ShopTransfer, ShopTransfer.id == TransferReversal.transfer_id)
            .where(TransferReversal.stripe_reversal_id.is_(None), TransferReversal.settled_at.is_(None))
            .options(orm.selectinload(TransferReversal.attempts))
            .order_by(TransferReversal.id)
        )
    )
    transfers = {
        transfer.id: transfer
        for transfer in db.session.scalars(
            sa.select(ShopTransfer).where(ShopTransfer.id.in_({r.transfer_id for r in open_reversals}))
        )
    }
    by_shop: dict[int, list[TransferReversal]] = {}
    for reversal in open_reversals:
        by_shop.setdefault(transfers[reversal.transfer_id].shop_id, []).append(reversal)
    found: list[Receivable] = []
    for shop_id, reversals in by_shop.items():
        since = min(reversal.created_at for reversal in reversals)
        owed = -ledger.balance(ledger.available(shop_id))
        if since > now - services.RECEIVABLE_AFTER or owed <= 0:
            continue
        shop = db.session.get(Shop, shop_id)
        assert shop is not None
        found.append(Receivable(shop, owed, since, reversals))
    return sorted(found, key=lambda receivable: receivable.since)


# -- a shop's payouts to its bank -----------------------------------------------------------------


def bank_payouts(shop: Shop) -> list[gateway.BankPayout] | None:
    """The shop's latest payouts from its Stripe account to its bank; None when Stripe cannot be asked
    (unreachable, or refusing): the page says so instead of failing."""
    if not shop.stripe_account_id:
        return []
    try:
        return gateway.bank_payouts(shop.stripe_account_id)
    except gateway.StripeError as error:
        log.warning("bank payouts of shop %d: %s", shop.id, error)
        return None


# -- reconciliation with Stripe -------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    what: str  # a short code: missing_in_ledger, missing_in_stripe, amount, balance, unbalanced, transfer
    stripe_id: str
    stripe_cents: int | None
    ledger_cents: int | None
    detail: str = ""


@dataclass
class Reconciliation:
    checked: int = 0
    differences: list[Difference] = field(default_factory=list)
    stripe_balance_cents: int = 0
    ledger_balance_cents: int = 0

    @property
    def ok(self) -> bool:
        return not self.differences


def reconcile() -> Reconciliation:
    """Every platform balance transaction against the ledger's Stripe entries, each transfer against the
    shop transfer it pays, and the balances themselves; each difference is listed.

    Amounts are net of Stripe's fees (a balance transaction's ``net``): the ledger writes each fee under
    the Stripe id of its money event, so a fee the ledger does not know shows as an ``amount`` difference.
    """
    report = Reconciliation()
    for key in ledger.unbalanced():
        report.differences.append(Difference("unbalanced", key, None, None))
    ledger_by_stripe = ledger_stripe_movements()
    seen: set[str] = set()
    for transaction in merge_by_source(gateway.balance_transactions()):
        report.checked += 1
        source = str(transaction.get("source") or "")
        # What reached the balance: the amount less Stripe's fee, which the ledger records as an expense.
        amount = int(transaction["net"])
        matched = ledger_amount(source, transaction, ledger_by_stripe)
        seen.update(matched[1])
        if matched[0] is None:
            report.differences.append(
                Difference("missing_in_ledger", source, amount, None, str(transaction.get("type")))
            )
        elif matched[0] != amount:
            report.differences.append(
                Difference("amount", source, amount, matched[0], str(transaction.get("type")))
            )
    for stripe_id, total in ledger_by_stripe.items():
        if stripe_id not in seen:
            report.differences.append(Difference("missing_in_stripe", stripe_id, None, total))
    by_id = {
        transfer.stripe_transfer_id: transfer
        for transfer in db.session.scalars(
            sa.select(ShopTransfer).where(ShopTransfer.stripe_transfer_id.is_not(None))
        )
    }
    # A won dispute's transfer giving a shop back what was reversed (DISPUTE_SHOP_LIABILITY = "reverse").
    returned = {
        row.returned_transfer_id: row.reversed_cents
        for row in db.session.scalars(
            sa.select(DisputePart).where(DisputePart.returned_transfer_id.is_not(None))
        )
    }
    for stripe_transfer in gateway.transfers():
        report.checked += 1
        mine = by_id.get(stripe_transfer["id"])
        if mine is None and stripe_transfer["id"] in returned:
            sent = int(stripe_transfer["amount"]) - int(stripe_transfer.get("amount_reversed") or 0)
            if sent != returned[stripe_transfer["id"]]:
                report.differences.append(
                    Difference(
                        "transfer",
                        stripe_transfer["id"],
                        sent,
                        returned[stripe_transfer["id"]],
                        "dispute won",
                    )
                )
            continue
        if mine is None:
            report.differences.append(
                Difference(
                    "transfer",
                    stripe_transfer["id"],
                    int(stripe_transfer["amount"]),
                    None,
                    "unknown transfer",
                )
            )
            continue
        if (mine.amount_cents, mine.reversed_cents) != (
            int(stripe_transfer["amount"]),
            int(stripe_transfer.get("amount_reversed") or 0),
        ):
            report.differences.append(
                Difference(
                    "transfer",
                    stripe_transfer["id"],
                    int(stripe_transfer["amount"]) - int(stripe_transfer.get("amount_reversed") or 0),
                    mine.amount_cents - mine.reversed_cents,
                    "amount or reversals differ",
                )
            )
    report.stripe_balance_cents = gateway.platform_balance()
    report.ledger_balance_cents = ledger.balance(ledger.STRIPE) - _demo_history_cents()
    if report.stripe_balance_cents != report.ledger_balance_cents:
        report.differences.append(
            Difference("balance", "platform", report.stripe_balance_cents, report.ledger_balance_cents)
        )
    return report


def ledger_stripe_movements(
    since: dt.datetime | None = None, until: dt.datetime | None = None
) -> dict[str, int]:
    """The ledger's movements on the platform's Stripe balance, per Stripe id (a charge, refund, transfer,
    reversal, dispute or invoice), of the transactions that occurred in ``[since, until)`` when given."""
    query = (
        sa.select(LedgerTransaction.stripe_id, sa.func.sum(LedgerEntry.amount_cents))
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerEntry.account_id == LedgerAccount.id)
        .where(LedgerAccount.code == ledger.STRIPE, LedgerTransaction.stripe_id.is_not(None))
        .group_by(LedgerTransaction.stripe_id)
    )
    if since is not None:
        query = query.where(LedgerTransaction.occurred_at >= since)
    if until is not None:
        query = query.where(LedgerTransaction.occurred_at < until)
    return {str(stripe_id): int(total) for stripe_id, total in db.session.execute(query)}


def _demo_history_cents() -> int:
    """What the demo town's past orders moved through the ledger's Stripe account: Stripe never saw
    them (they have no Stripe id), so the balances compare without them."""
    query = (
        sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.amount_cents), 0))
        .join(LedgerTransaction, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .join(VendorOrder, VendorOrder.id == LedgerTransaction.vendor_order_id)
        .join(Order, Order.id == VendorOrder.order_id)
        .where(
            LedgerAccount.code == ledger.STRIPE,
            LedgerTransaction.stripe_id.is_(None),
            Order.payment_status == DEMO_HISTORY,
        )
    )
    return int(db.session.scalar(query) or 0)


def merge_by_source(transactions: Any) -> list[dict[str, Any]]:
    """One movement per Stripe object: a refund and its failure (both with the refund as ``source``)
    are compared together with the ledger, which records both under the refund's id."""
    merged: dict[str, dict[str, Any]] = {}
    kept: list[dict[str, Any]] = []
    for transaction in transactions:
        source = str(transaction.get("source") or "")
        if source and source in merged:
            first = merged[source]
            first["amount"] = int(first["amount"]) + int(transaction["amount"])
            first["net"] = int(first["net"]) + int(transaction["net"])
            continue
        copy = dict(transaction)
        kept.append(copy)
        if source:
            merged[source] = copy
    return kept


def ledger_amount(
    source: str, transaction: dict[str, Any], ledger_by_stripe: dict[str, int]
) -> tuple[int | None, set[str]]:
    """The ledger's Stripe movement for one balance transaction, and the ids it was matched by."""
    if source in ledger_by_stripe:
        return ledger_by_stripe[source], {source}
    invoice = _invoice_of_charge(transaction)
    if invoice and invoice in ledger_by_stripe:
        return ledger_by_stripe[invoice], {invoice}
    return None, set()


def _invoice_of_charge(transaction: dict[str, Any]) -> str | None:
    """A subscription's charge is recorded under its invoice: find the invoice the charge paid."""
    if transaction.get("type") not in ("charge", "payment"):
        return None
    return gateway.invoice_of_charge(str(transaction.get("source") or ""))
