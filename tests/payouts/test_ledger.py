"""The ledger: balanced, append-only, each business event written once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db
from payouts import ledger
from payouts.ledger import Line
from payouts.models import LedgerEntry, LedgerTransaction, TransactionKind
from tests.factories import ShopFactory


@pytest.fixture
def shop_id(app_ctx: Flask) -> int:
    return int(ShopFactory().id)


def test_a_balanced_transaction_is_written_once_per_key(shop_id: int) -> None:
    lines = [Line(ledger.STRIPE, 1000), Line(ledger.pending(shop_id), -1000)]
    first = ledger.post("test-sale-1", TransactionKind.SALE, lines)
    again = ledger.post("test-sale-1", TransactionKind.SALE, lines)
    assert first is again
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerTransaction)) == 1
    assert (ledger.balance(ledger.STRIPE), ledger.balance(ledger.pending(shop_id))) == (1000, 1000)


def test_an_unbalanced_transaction_is_refused_before_reaching_the_database(shop_id: int) -> None:
    with pytest.raises(ledger.UnbalancedTransaction, match="sum to 1"):
        ledger.post(
            "test-bad", TransactionKind.SALE, [Line(ledger.STRIPE, 1000), Line(ledger.pending(shop_id), -999)]
        )
    # Whatever writes entries directly is refused at flush as well.
    transaction = LedgerTransaction(key="test-direct", kind=TransactionKind.SALE)
    transaction.entries.append(LedgerEntry(account=ledger.account(ledger.STRIPE), amount_cents=5))
    db.session.add(transaction)
    with pytest.raises(ledger.UnbalancedTransaction):
        db.session.flush()
    db.session.rollback()


def test_entries_are_never_changed_or_deleted(shop_id: int) -> None:
    transaction = ledger.post(
        "test-sale-2", TransactionKind.SALE, [Line(ledger.STRIPE, 700), Line(ledger.pending(shop_id), -700)]
    )
    assert transaction is not None
    db.session.commit()
    transaction.entries[0].amount_cents = 800
    with pytest.raises(ledger.UnbalancedTransaction, match="append-only"):
        db.session.flush()
    db.session.rollback()
    transaction = db.session.scalars(sa.select(LedgerTransaction)).one()
    db.session.delete(transaction.entries[0])
    with pytest.raises(ledger.UnbalancedTransaction, match="append-only"):
        db.session.flush()
    db.session.rollback()


def test_postgresql_refuses_an_unbalanced_commit(app: Flask, database_url: str) -> None:
    """The database's own guard, for a writer that bypasses the app (a script, a console)."""
    if not database_url.startswith("postgresql"):
        pytest.skip("the trigger guards PostgreSQL")
    engine = sa.create_engine(database_url)
    try:
        with pytest.raises(sa.exc.DBAPIError, match="does not balance"):
            _write_unbalanced(engine)
        with engine.begin() as connection:
            assert (
                connection.execute(
                    sa.text("SELECT count(*) FROM ledger_transactions WHERE key = 'test-guard'")
                ).scalar()
                == 0
            )
    finally:
        engine.dispose()


def _write_unbalanced(engine: sa.Engine) -> None:
    """One transaction with a single 5-cent entry, committed as a script would."""
    with engine.begin() as connection:
        account = connection.execute(
            sa.text("INSERT INTO ledger_accounts (code, kind) VALUES ('test:guard', 'asset') RETURNING id")
        ).scalar_one()
        transaction = connection.execute(
            sa.text(
                "INSERT INTO ledger_transactions (key, kind, occurred_at, memo, created_at)"
                " VALUES ('test-guard', 'sale', now(), '', now()) RETURNING id"
            )
        ).scalar_one()
        connection.execute(
            sa.text(
                "INSERT INTO ledger_entries (transaction_id, account_id, amount_cents) VALUES (:t, :a, 5)"
            ),
            {"t": transaction, "a": account},
        )
