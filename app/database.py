"""Database helpers shared by every domain: column types, the clock, common mixins.

Models never commit: services change state, views commit once.
"""

from __future__ import annotations

import datetime as dt
import enum
import os
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql import operators

from app.extensions import db

_Row = TypeVar("_Row")
_Select = TypeVar("_Select", bound=sa.Select[Any])

# BIGINT identities on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def utcnow() -> dt.datetime:
    """The current time, timezone-aware, in UTC. The only clock the app reads."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so values are stored as naive UTC
    and made aware again on the way out. Naive datetimes are refused: they are always a bug here.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class _StoredEnum(sa.Enum):
    """``sa.Enum`` whose comparison with one member writes the member's value into the SQL rather than
    binding it: ``products.status = 'active'`` rather than ``products.status = $1``.

    A column's members are a handful of words, so the statement's text still comes in few versions, and
    PostgreSQL can then plan a prepared statement once for all its runs (a generic plan): with the
    value bound, a partial index ``WHERE status = 'active'`` is only usable by a plan made for that value,
    so every run was planned again (the storefront's listing: 0.67 ms, now 0.40).
    """

    cache_ok = True

    class Comparator(sa.Enum.Comparator):
        def operate(self, op: Any, *other: Any, **kwargs: Any) -> sa.ColumnElement[Any]:
            if op in (operators.eq, operators.ne) and len(other) == 1 and isinstance(other[0], enum.Enum):
                other = (sa.bindparam(None, other[0], type_=self.type, literal_execute=True),)
            return super().operate(op, *other, **kwargs)

    comparator_factory = Comparator


def str_enum(kind: type[enum.Enum], name: str) -> sa.Enum:
    """An enum column stored as its values in a VARCHAR with a CHECK: readable, and portable to SQLite.
    Compared with a member, the member's value is written into the statement (``_StoredEnum``)."""
    return _StoredEnum(
        kind,
        name=name,
        values_callable=lambda members: [member.value for member in members],
        native_enum=False,
        create_constraint=True,
        length=20,
    )


class IdMixin:
    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, sort_order=-10)


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )


def database_backend() -> str:
    """'postgresql' or 'sqlite': the dialect of the configured database."""
    return db.engine.dialect.name


def protect_pool_across_forks(engine: Engine) -> None:
    """Never hand a connection opened by one process to another (RQ forks a process per job).

    SQLAlchemy's documented recipe: remember the pid that opened each connection and discard it on
    checkout from any other process.
    """

    @event.listens_for(engine, "connect")
    def _remember_pid(dbapi_connection: Any, record: Any) -> None:
        record.info["pid"] = os.getpid()

    @event.listens_for(engine, "checkout")
    def _check_pid(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if record.info.get("pid") != os.getpid():
            record.dbapi_connection = proxy.dbapi_connection = None
            raise exc.DisconnectionError("connection opened in another process")


# What a statement that only reads begins with (SQLAlchemy's own statements are upper case). Anything
# else (INSERT, UPDATE, DELETE, WITH, SAVEPOINT, DDL) counts as a write.
_READING = "SELECT"
_ONLY_READ = "only_read"  # in the connection's info: every statement of its transaction was a SELECT


def keep_prepared_statements(engine: Engine) -> None:
    """End with COMMIT rather than ROLLBACK a psycopg transaction that ran nothing but SELECTs.

    psycopg prepares a statement on the server after its fifth run on a connection, so that PostgreSQL
    plans it once, and forgets every prepared statement at each ROLLBACK. A request that only reads
    ends with the session's ROLLBACK, so its statements were planned anew on every request: planning
    took longer than running for the pages' statements (0.4 of 0.8 ms for 30 product cards, in a new
    transaction; ``bench/web.py``). For a transaction that wrote nothing, COMMIT and ROLLBACK end it the
    same way (its row locks are released, its reads leave no trace); psycopg's ROLLBACK on a connection
    no longer in a transaction then does nothing.

    Anything but a SELECT (or a transaction in error, or one not at the default READ COMMITTED level)
    leaves the ROLLBACK as it was. Statements only reach the server through SQLAlchemy here, so each is
    seen on its way.
    """
    if engine.dialect.driver != "psycopg":
        return
    from psycopg import IsolationLevel
    from psycopg.pq import TransactionStatus

    @event.listens_for(engine, "begin")
    def _begun(conn: sa.Connection) -> None:
        conn.info[_ONLY_READ] = True

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(conn: sa.Connection, cursor: Any, statement: str, *_rest: Any) -> None:
        if conn.info.get(_ONLY_READ) and not statement.lstrip().startswith(_READING):
            conn.info[_ONLY_READ] = False

    @event.listens_for(engine, "rollback")
    def _rollback(conn: sa.Connection) -> None:
        if not conn.info.pop(_ONLY_READ, False):
            return
        dbapi_connection = conn.connection.dbapi_connection
        if (
            dbapi_connection is not None
            and dbapi_connection.info.transaction_status == TransactionStatus.INTRANS
            and dbapi_connection.isolation_level in (None, IsolationLevel.READ_COMMITTED)
        ):
            dbapi_connection.commit()


def lock(model: type[_Row], ident: Any, **for_update: Any) -> _Row | None:
    """The row of ``model`` with primary key ``ident``, locked (SELECT ... FOR UPDATE) until the transaction
    ends, or None. Read afresh: an object the session already holds is overwritten with the row as it is
    once the lock is ours, not left as it was before waiting for it (the identity map would hand it back
    unchanged, and a second request would redo what the first has just done)."""
    return db.session.get(model, ident, with_for_update=for_update or True, populate_existing=True)


def locked(statement: _Select, **for_update: Any) -> _Select:
    """``statement`` as SELECT ... FOR UPDATE whose rows overwrite what the session already holds of them:
    the query form of ``lock`` (``for_update`` as ``with_for_update``'s: ``skip_locked``, ``of``...)."""
    return statement.with_for_update(**for_update).execution_options(populate_existing=True)


def next_in_series(counter: Any, **key: Any) -> int:
    """The next number of a gapless series: ``counter`` is a model with the ``key`` columns as its primary
    key and a ``last`` column. Taken by an UPDATE ... RETURNING, which holds the row's lock until the
    transaction ends, so two writers never draw the same number and a rollback leaves no gap; the
    series' first row is created in a savepoint, a concurrent creation being retried as an update."""
    from sqlalchemy.exc import IntegrityError

    bump = (
        sa.update(counter)
        .where(*(getattr(counter, column) == value for column, value in key.items()))
        .values(last=counter.last + 1)
        .returning(counter.last)
    )
    last = db.session.execute(bump).scalar_one_or_none()
    if last is not None:
        return int(last)
    try:
        with db.session.begin_nested():
            db.session.add(counter(**key, last=1))
        return 1
    except IntegrityError:
        return int(db.session.execute(bump).scalar_one())
