"""The migrations build exactly the schema the models describe."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask

from app.extensions import db


def test_models_and_migrations_agree(app: Flask) -> None:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == []


def test_every_table_has_a_primary_key_and_named_constraints(app: Flask) -> None:
    for table in db.metadata.sorted_tables:
        assert table.primary_key.columns, table.name
        for constraint in table.constraints:
            assert constraint.name, f"unnamed constraint on {table.name}"
