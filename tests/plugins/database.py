"""One database per test run (per xdist worker), migrated once; each test inside a transaction.

The test's connection opens an outer transaction; the app's session joins it with
``join_transaction_mode="create_savepoint"``, so a view's ``commit()`` only releases a savepoint and
everything is rolled back when the test ends (tests/app/test_database_isolation.py proves it).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import orm

from app.extensions import db
from tests.plugins.services import Services

RUN_ID = os.environ.setdefault("MARKETPLACE_TEST_RUN", uuid.uuid4().hex[:8])


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def create_test_database(services: Services, tmp_root: Path, name: str) -> str:
    """A fresh, empty database; its URL."""
    if services.postgres_url:
        admin = sa.create_engine(services.postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return services.postgres_url.rsplit("/", 1)[0] + f"/{name}"
    return f"sqlite:///{tmp_root / (name + '.sqlite')}"


def drop_test_database(services: Services, name: str) -> None:
    if services.postgres_url:
        admin = sa.create_engine(services.postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(services: Services, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # Unique per run: two runs at once (two people, two terminals) never drop each other's database.
    name = f"marketplace_test_{_worker()}_{RUN_ID}"
    url = create_test_database(services, tmp_path_factory.mktemp("db"), name)
    yield url
    drop_test_database(services, name)


@contextlib.contextmanager
def transactional_session(app: Flask) -> Iterator[orm.scoped_session[orm.Session]]:
    """Bind ``db.session`` to one connection inside a transaction that is rolled back at the end."""
    with app.app_context():
        engine = db.engine
    connection = engine.connect()
    outer = connection.begin()
    factory = orm.sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    session = orm.scoped_session(factory, scopefunc=lambda: "test")
    original = db.session
    db.session = session
    try:
        yield session
    finally:
        db.session = original
        session.remove()
        if outer.is_active:
            outer.rollback()
        connection.close()


@pytest.fixture
def db_session(app: Flask) -> Iterator[orm.scoped_session[orm.Session]]:
    with transactional_session(app) as session:
        yield session
