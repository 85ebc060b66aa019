"""A transaction that only read ends without losing psycopg's prepared statements; one that wrote is
still rolled back (app/database.py, ``keep_prepared_statements``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from app.extensions import db

MARKED = "SELECT 42 AS kept_across_transactions"


@pytest.fixture
def connection(app: Flask, postgres_only: None) -> Iterator[sa.Connection]:
    with app.app_context():
        engine = db.engine
    with engine.connect() as connection:
        connection.execute(sa.text("CREATE TEMPORARY TABLE scratch (n integer)"))
        connection.commit()
        yield connection
        connection.rollback()
        connection.execute(sa.text("DROP TABLE scratch"))
        connection.commit()


def _prepared(connection: sa.Connection, statement: str) -> int:
    return connection.scalar(
        sa.text("SELECT count(*) FROM pg_prepared_statements WHERE statement = :statement"),
        {"statement": statement},
    )


def test_a_statement_run_in_transactions_that_only_read_gets_prepared(connection: sa.Connection) -> None:
    for _ in range(6):  # psycopg prepares on the sixth run (prepare_threshold is 5)
        assert connection.execute(sa.text(MARKED)).scalar() == 42
        connection.rollback()
    assert _prepared(connection, MARKED) == 1


def test_a_transaction_that_wrote_is_rolled_back(connection: sa.Connection) -> None:
    connection.execute(sa.text("SELECT count(*) FROM scratch")).scalar()
    connection.execute(sa.text("INSERT INTO scratch (n) VALUES (1)"))
    connection.execute(sa.text("SELECT count(*) FROM scratch")).scalar()
    connection.rollback()
    assert connection.execute(sa.text("SELECT count(*) FROM scratch")).scalar() == 0


def test_a_write_inside_a_savepoint_is_rolled_back_with_its_transaction(connection: sa.Connection) -> None:
    with connection.begin_nested():
        connection.execute(sa.text("INSERT INTO scratch (n) VALUES (1)"))
    connection.rollback()
    assert connection.execute(sa.text("SELECT count(*) FROM scratch")).scalar() == 0


def test_a_transaction_in_error_is_rolled_back(connection: sa.Connection) -> None:
    connection.execute(sa.text("INSERT INTO scratch (n) VALUES (1)"))
    with pytest.raises(sa.exc.DataError):
        connection.execute(sa.text("SELECT 1 / 0"))
    connection.rollback()
    assert connection.execute(sa.text("SELECT count(*) FROM scratch")).scalar() == 0


def test_a_read_only_transaction_in_error_is_rolled_back(connection: sa.Connection) -> None:
    with pytest.raises(sa.exc.DataError):
        connection.execute(sa.text("SELECT 1 / 0"))
    connection.rollback()
    assert connection.execute(sa.text("SELECT 1")).scalar() == 1


def test_a_status_compared_with_a_member_is_written_into_the_statement(app: Flask) -> None:
    from app.catalog.models import Product, ProductStatus

    statement = sa.select(Product.id).where(
        Product.status == ProductStatus.ACTIVE, Product.status != ProductStatus.DRAFT
    )
    with app.app_context():
        sql = str(statement.compile(db.engine, compile_kwargs={"render_postcompile": True}))
        assert "products.status = 'active'" in sql
        assert "products.status != 'draft'" in sql
        db.session.execute(statement).all()  # and the database takes it
