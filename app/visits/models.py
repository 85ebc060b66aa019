"""Daily visit counters, and the counter batches already added to the database.

A row is a count for one day (in the town's time zone), one shop, one product or none (the storefront)
and one kind. Nothing says who visited: no address, no cookie, no account, no browser. The shop and
product ids carry no foreign key on purpose: a count is written on every page view and must never fail
(or wait on a lock) because of the catalogue.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.database import IdMixin, UTCDateTime, str_enum, utcnow
from app.extensions import db


class VisitKind(enum.StrEnum):
    VIEW = "view"  # a storefront page (no product) or a product page
    CART_ADD = "cart_add"  # a product put in a cart


class VisitCount(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "visit_counts"
    __table_args__ = (
        sa.CheckConstraint("count > 0", name="count_positive"),
        sa.Index("ix_visit_counts_day_shop_id", "day", "shop_id"),
        # One row per key. product_id is NULL for the storefront, and NULLs are never equal in a unique
        # index: the storefront's rows have their own index.
        sa.Index(
            "uq_visit_counts_product",
            "day",
            "shop_id",
            "product_id",
            "kind",
            unique=True,
            postgresql_where=sa.text("product_id IS NOT NULL"),
            sqlite_where=sa.text("product_id IS NOT NULL"),
        ),
        sa.Index(
            "uq_visit_counts_storefront",
            "day",
            "shop_id",
            "kind",
            unique=True,
            postgresql_where=sa.text("product_id IS NULL"),
            sqlite_where=sa.text("product_id IS NULL"),
        ),
    )

    day: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    shop_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    product_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    kind: Mapped[VisitKind] = mapped_column(str_enum(VisitKind, "visit_kind"), nullable=False)
    count: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)

    def __repr__(self) -> str:
        return (
            f"<VisitCount {self.day} shop {self.shop_id} product {self.product_id} {self.kind} {self.count}>"
        )


class CounterBatch(db.Model):  # type: ignore[name-defined]
    """A batch of counts taken from Redis and added to the database, recorded in the same transaction:
    a batch read again (a flush that died before forgetting it, two flushes at once) is not added twice."""

    __tablename__ = "counter_batches"

    id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    applied_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<CounterBatch {self.id}>"
