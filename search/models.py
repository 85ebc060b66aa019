"""The index outbox: which products, shops and categories changed, written in the same transaction.

A row is added by ``search.outbox`` whenever such a row is flushed; the ``drain`` job reads the
pending rows, rebuilds the affected documents and marks the rows processed. Processed rows are kept
a day so that a full reindex can replay what changed while it ran.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.database import IdMixin, UTCDateTime, str_enum, utcnow
from app.extensions import db


class ChangedEntity(enum.StrEnum):
    PRODUCT = "product"
    VARIANT = "variant"
    SHOP = "shop"
    CATEGORY = "category"


class IndexChange(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "search_outbox"
    __table_args__ = (sa.Index("ix_search_outbox_pending", "processed_at", "id"),)

    entity: Mapped[ChangedEntity] = mapped_column(str_enum(ChangedEntity, "changed_entity"), nullable=False)
    entity_id: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    processed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<IndexChange {self.entity} {self.entity_id}>"


class MissBucket(enum.StrEnum):
    NONE = "none"  # nothing found
    FEW = "few"  # fewer than ``search.misses.FEW_RESULTS`` found


class SearchMiss(IdMixin, db.Model):  # type: ignore[name-defined]
    """How many times a day a text search found nothing, or little: the query as folded, never who asked."""

    __tablename__ = "search_misses"
    __table_args__ = (
        sa.UniqueConstraint("day", "query", "bucket"),
        sa.CheckConstraint("count > 0", name="count_positive"),
        sa.CheckConstraint("max_results >= 0", name="max_results_not_negative"),
    )

    day: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    query: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    bucket: Mapped[MissBucket] = mapped_column(str_enum(MissBucket, "miss_bucket"), nullable=False)
    count: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    max_results: Mapped[int] = mapped_column(sa.Integer, nullable=False)

    def __repr__(self) -> str:
        return f"<SearchMiss {self.day} {self.query!r} {self.bucket} {self.count}>"
