"""The platform's own payouts: Stripe pays the platform's balance out to its bank account (automatically,
typically daily), and the ledger follows the money from ``platform:stripe`` to ``platform:bank``.

Stripe takes a payout's amount from the balance when it creates the payout (a balance transaction of
type ``payout``, ``source`` the ``po_...`` id, negative); a payout the bank returns (``failed``) or that is
cancelled puts it back (``payout_failure`` / ``payout_cancel``, positive, same ``source``). The ledger
writes the same two movements under the payout's id, so the reconciliation matches them:

- ``bank_payout:<po>``: STRIPE → BANK, when the money left the balance (the payout's ``created``);
- ``bank_payout_failure:<po>``: BANK → STRIPE, when it came back.

Webhooks write them as they come (``payouts.stripe_events``); :func:`sync_platform_payouts`, run before
the nightly reconciliation, writes those whose webhook never came. Either way each is written once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.database import locked
from app.extensions import db
from payouts import gateway, ledger
from payouts.ledger import Line
from payouts.models import LedgerAccount, LedgerEntry, LedgerTransaction, TransactionKind

log = logging.getLogger(__name__)

# A payout in these states has taken its amount from the Stripe balance, and kept it.
LEFT_THE_BALANCE = frozenset({"pending", "in_transit", "paid"})
# In these, the amount is back on the Stripe balance (Stripe's payout_failure or payout_cancel).
RETURNED = frozenset({"failed", "canceled"})
LEDGER_CURRENCY = "eur"  # the ledger's amounts are the platform's euros


def payout_key(payout_id: str) -> str:
    return f"bank_payout:{payout_id}"


def failure_key(payout_id: str) -> str:
    return f"bank_payout_failure:{payout_id}"


def _created(payout: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(payout["created"]), tz=dt.UTC)


def _lock_bank() -> None:
    """Serialise the writers of bank payouts (a webhook and the nightly sync of the same payout) on the
    bank account's row, so each finds what the other wrote instead of both inserting it."""
    found = ledger.account(ledger.BANK)
    db.session.scalars(locked(sa.select(LedgerAccount.id).where(LedgerAccount.id == found.id))).one()


def _readable(payout: dict[str, Any]) -> bool:
    """A payout the ledger can hold: in euros, of a positive amount (anything else is logged, not
    written: the reconciliation then shows it)."""
    if str(payout.get("currency") or "").lower() != LEDGER_CURRENCY or int(payout.get("amount") or 0) <= 0:
        log.warning(
            "platform payout %s not recorded: %s %s",
            payout.get("id"),
            payout.get("amount"),
            payout.get("currency"),
        )
        return False
    return True


def record_payout(payout: dict[str, Any]) -> LedgerTransaction | None:
    """Stripe took the payout from the platform's balance for its bank: STRIPE → BANK, once per payout,
    dated when Stripe took it (the payout's creation, as its balance transaction is). Never commits."""
    if not _readable(payout):
        return None
    _lock_bank()
    amount = int(payout["amount"])
    return ledger.post(
        payout_key(str(payout["id"])),
        TransactionKind.BANK_PAYOUT,
        [Line(ledger.BANK, amount), Line(ledger.STRIPE, -amount)],
        stripe_id=str(payout["id"]),
        memo=f"platform payout {payout['id']}",
        occurred_at=_created(payout),
    )


def record_payout_failure(payout: dict[str, Any], returned_at: dt.datetime) -> LedgerTransaction | None:
    """The bank returned the payout (or it was cancelled): the money is back on the Stripe balance,
    BANK → STRIPE, once per payout, dated ``returned_at``. The payout itself is written first if it
    was not (its webhook lost), so the two sum to nothing as on Stripe. Never commits."""
    if record_payout(payout) is None:
        return None
    amount = int(payout["amount"])
    return ledger.post(
        failure_key(str(payout["id"])),
        TransactionKind.BANK_PAYOUT,
        [Line(ledger.STRIPE, amount), Line(ledger.BANK, -amount)],
        stripe_id=str(payout["id"]),
        memo=f"platform payout returned {payout['id']}",
        occurred_at=returned_at,
    )


def apply_payout(payout: dict[str, Any], seen_at: dt.datetime) -> None:
    """A platform payout as Stripe reports it now (an event's snapshot or a listed payout): what its
    status says has happened to the money is written, and only that. Never commits."""
    status = str(payout.get("status") or "")
    if status in LEFT_THE_BALANCE:
        record_payout(payout)
    elif status in RETURNED:
        record_payout_failure(payout, _returned_at(payout, seen_at))


def _returned_at(payout: dict[str, Any], seen_at: dt.datetime) -> dt.datetime:
    """When the money came back: its balance transaction's time when Stripe names it, else ``seen_at``."""
    returned = payout.get("failure_balance_transaction")
    if isinstance(returned, dict):
        return dt.datetime.fromtimestamp(int(returned["created"]), tz=dt.UTC)
    if returned:
        return gateway.balance_transaction_created(str(returned))
    return seen_at


def sync_platform_payouts(since: dt.datetime, until: dt.datetime) -> int:
    """Write what the ledger lacks (a webhook that never came) of the platform's payouts created in
    ``[since, until)``, and of those whose money came back in it (a payout of an earlier day the bank
    returned); the number of ledger transactions written. Safe to run twice. Never commits."""
    before = _count()
    for payout in gateway.platform_payouts(since=since, until=until):
        apply_payout(payout, seen_at=_created(payout))
    for payout, returned_at in gateway.platform_payout_returns(since=since, until=until):
        record_payout_failure(payout, returned_at)
    return _count() - before


def _count() -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(LedgerTransaction)
            .where(LedgerTransaction.kind == TransactionKind.BANK_PAYOUT)
        )
        or 0
    )


@dataclass(frozen=True)
class BankMovement:
    """One movement between the platform's Stripe balance and its bank, as the manager sees it."""

    payout_id: str
    amount_cents: int  # to the bank; negative when the bank returned it
    occurred_at: dt.datetime


def recent_payouts(limit: int = 10) -> list[BankMovement]:
    """The latest bank payout movements (payouts and their returns), newest first, for the manager."""
    rows = db.session.execute(
        sa.select(LedgerTransaction.stripe_id, LedgerTransaction.occurred_at, LedgerEntry.amount_cents)
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerEntry.account_id == LedgerAccount.id)
        .where(LedgerTransaction.kind == TransactionKind.BANK_PAYOUT, LedgerAccount.code == ledger.BANK)
        .order_by(LedgerTransaction.occurred_at.desc(), LedgerTransaction.id.desc())
        .limit(limit)
    )
    return [BankMovement(str(stripe_id), int(amount), occurred_at) for stripe_id, occurred_at, amount in rows]
