"""The double-entry ledger: balanced, append-only transactions, each written once for its business event.

Entries are signed: debits positive, credits negative; a transaction's entries sum to zero. Balances of
liabilities and revenues are read with the sign turned (what the platform owes a shop is positive).

Accounts:
- ``platform:stripe`` (asset): the platform's Stripe balance, net of Stripe's fees, as Stripe's balance
  transactions count it (``net``);
- ``platform:stripe_fees`` (expense): Stripe's fees (card payments, subscription invoices, disputes),
  each read from its balance transaction and written with the money event it belongs to, under the same
  ``stripe_id``, so the Stripe entries of that id sum to the balance transaction's ``net``. When shops
  bear the fees (``STRIPE_FEES_BORNE_BY = "shops"``) each shop's part of a payment is charged its share
  (in proportion to its amount) from its pending balance, and the expense nets to zero; refunds never
  give a fee back (Stripe keeps it);
- ``platform:commission`` (revenue), ``platform:commission_vat`` (liability, VAT to pay on commissions);
- ``platform:subscriptions`` (revenue), ``platform:subscription_vat`` (liability);
- ``platform:disputes`` (asset): money disputed orders' banks took back, until the dispute is won
  (Stripe gives it back) or lost (the shops bear it: see ``payouts.disputes``);
- ``platform:unallocated`` (liability): money in for no order any more (a payment after its order
  expired), until it is refunded;
- ``platform:bank`` (asset): the platform's own bank account, fed by Stripe's payouts of the platform's
  balance (``payouts.bank``); a payout the bank returns moves back to ``platform:stripe``;
- ``shop:<id>:pending`` (liability): a shop's parts paid but not yet delivered and past the hold;
- ``shop:<id>:available`` (liability): what can be transferred to the shop; negative when refunds after
  a transfer could not be taken back, netted on the next transfers.

Nothing here commits; an unbalanced transaction raises before it is flushed, and PostgreSQL refuses one
at commit (a deferred constraint trigger), so no partial money event can ever be stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy import event, orm
from sqlalchemy.exc import IntegrityError

from app.database import utcnow
from app.extensions import db
from payouts.models import AccountKind, LedgerAccount, LedgerEntry, LedgerTransaction, TransactionKind

STRIPE = "platform:stripe"
COMMISSION = "platform:commission"
COMMISSION_VAT = "platform:commission_vat"
SUBSCRIPTIONS = "platform:subscriptions"
SUBSCRIPTION_VAT = "platform:subscription_vat"
UNALLOCATED = "platform:unallocated"
STRIPE_FEES = "platform:stripe_fees"
DISPUTES = "platform:disputes"
BANK = "platform:bank"

KINDS = {
    STRIPE: AccountKind.ASSET,
    COMMISSION: AccountKind.REVENUE,
    COMMISSION_VAT: AccountKind.LIABILITY,
    SUBSCRIPTIONS: AccountKind.REVENUE,
    SUBSCRIPTION_VAT: AccountKind.LIABILITY,
    UNALLOCATED: AccountKind.LIABILITY,
    STRIPE_FEES: AccountKind.EXPENSE,
    DISPUTES: AccountKind.ASSET,
    BANK: AccountKind.ASSET,
}


class UnbalancedTransaction(ValueError):
    """Entries that do not sum to zero: a bug, never stored."""


def pending(shop_id: int) -> str:
    return f"shop:{shop_id}:pending"


def available(shop_id: int) -> str:
    return f"shop:{shop_id}:available"


def account(code: str) -> LedgerAccount:
    """The account with this code, created on first use (a savepoint absorbs a concurrent creation)."""
    found = db.session.scalar(sa.select(LedgerAccount).where(LedgerAccount.code == code))
    if found is not None:
        return found
    shop_id = int(code.split(":")[1]) if code.startswith("shop:") else None
    kind = AccountKind.LIABILITY if shop_id is not None else KINDS[code]
    try:
        with db.session.begin_nested():
            found = LedgerAccount(code=code, kind=kind, shop_id=shop_id)
            db.session.add(found)
    except IntegrityError:
        found = db.session.scalars(sa.select(LedgerAccount).where(LedgerAccount.code == code)).one()
    return found


@dataclass(frozen=True)
class Line:
    code: str
    amount_cents: int  # debit positive, credit negative


def post(
    key: str,
    kind: TransactionKind,
    lines: Iterable[Line],
    *,
    shop_id: int | None = None,
    vendor_order_id: int | None = None,
    stripe_id: str | None = None,
    memo: str = "",
    occurred_at: dt.datetime | None = None,
) -> LedgerTransaction | None:
    """Write one balanced transaction for the business event ``key``; the same key again writes nothing.

    Lines of zero are left out (a free delivery); a transaction with nothing left is not written.
    """
    existing = db.session.scalar(sa.select(LedgerTransaction).where(LedgerTransaction.key == key))
    if existing is not None:
        return existing
    kept = [line for line in lines if line.amount_cents]
    if sum(line.amount_cents for line in kept) != 0:
        raise UnbalancedTransaction(f"{key}: entries sum to {sum(line.amount_cents for line in kept)}")
    if not kept:
        return None
    transaction = LedgerTransaction(
        key=key,
        kind=kind,
        shop_id=shop_id,
        vendor_order_id=vendor_order_id,
        stripe_id=stripe_id,
        memo=memo[:300],
        occurred_at=occurred_at or utcnow(),
    )
    for line in kept:
        transaction.entries.append(LedgerEntry(account=account(line.code), amount_cents=line.amount_cents))
    db.session.add(transaction)
    db.session.flush()
    return transaction


def record_stripe_fee(
    key: str,
    kind: TransactionKind,
    fee_cents: int,
    *,
    stripe_id: str,
    shop_id: int | None = None,
    vendor_order_id: int | None = None,
    memo: str = "",
) -> LedgerTransaction | None:
    """Stripe's fee on the balance transaction of ``stripe_id`` (its ``fee``): an expense, paid from the
    platform's Stripe balance; once per ``key``, nothing for a fee of 0 (negative: a fee Stripe gives
    back, as ``fee_details`` show it).

    Record it under the ``stripe_id`` the money event itself is recorded under (a charge, an invoice, a
    dispute), with that event's ``kind``: the reconciliation then finds that id's ``net``.
    """
    return post(
        key,
        kind,
        [Line(STRIPE_FEES, fee_cents), Line(STRIPE, -fee_cents)],
        shop_id=shop_id,
        vendor_order_id=vendor_order_id,
        stripe_id=stripe_id,
        memo=memo,
    )


@event.listens_for(orm.Session, "before_flush")
def _refuse_unbalanced(session: orm.Session, context: object, instances: object) -> None:
    """Whatever writes entries (not only ``post``), an unbalanced transaction never reaches the database;
    and entries are never changed or deleted once written."""
    touched: dict[int, LedgerTransaction] = {}
    for obj in session.new:
        if isinstance(obj, LedgerEntry) and obj.transaction is not None:
            touched[id(obj.transaction)] = obj.transaction
    ledger = (LedgerEntry, LedgerTransaction)
    if any(isinstance(obj, ledger) for obj in session.deleted) or any(
        isinstance(obj, ledger) and session.is_modified(obj, include_collections=False)
        for obj in session.dirty
    ):
        raise UnbalancedTransaction("ledger entries and transactions are append-only")
    for transaction in touched.values():
        total = sum(entry.amount_cents for entry in transaction.entries)
        if total != 0:
            raise UnbalancedTransaction(f"{transaction.key}: entries sum to {total}")


# -- reading --------------------------------------------------------------------------------------


def balance(code: str, *, vendor_order_id: int | None = None) -> int:
    """The account's balance, in the account's natural sign (owed to a shop, earned, held: positive)."""
    query = (
        sa.select(sa.func.coalesce(sa.func.sum(LedgerEntry.amount_cents), 0))
        .join(LedgerAccount, LedgerEntry.account_id == LedgerAccount.id)
        .join(LedgerTransaction, LedgerEntry.transaction_id == LedgerTransaction.id)
        .where(LedgerAccount.code == code)
    )
    if vendor_order_id is not None:
        query = query.where(LedgerTransaction.vendor_order_id == vendor_order_id)
    total = int(db.session.scalar(query) or 0)
    kind = KINDS.get(code, AccountKind.LIABILITY)
    return total if kind in (AccountKind.ASSET, AccountKind.EXPENSE) else -total


def totals_by_kind(code: str) -> dict[TransactionKind, int]:
    """Per transaction kind, the movements of one account (natural sign)."""
    rows = db.session.execute(
        sa.select(LedgerTransaction.kind, sa.func.sum(LedgerEntry.amount_cents))
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerEntry.account_id == LedgerAccount.id)
        .where(LedgerAccount.code == code)
        .group_by(LedgerTransaction.kind)
    )
    sign = 1 if KINDS.get(code, AccountKind.LIABILITY) in (AccountKind.ASSET, AccountKind.EXPENSE) else -1
    return {kind: sign * int(total) for kind, total in rows}


def unbalanced() -> list[str]:
    """Keys of stored transactions whose entries do not sum to zero (the reconciliation's first check)."""
    rows = db.session.execute(
        sa.select(LedgerTransaction.key)
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .group_by(LedgerTransaction.id, LedgerTransaction.key)
        .having(sa.func.sum(LedgerEntry.amount_cents) != 0)
    )
    return [key for (key,) in rows]
