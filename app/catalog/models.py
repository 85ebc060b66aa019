"""The category tree the town manager keeps. Shops and products are filed under it."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import BigIntId, IdMixin, TimestampMixin, UTCDateTime
from app.extensions import db


class Category(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "categories"
    __table_args__ = (
        sa.CheckConstraint(
            "commission_bps IS NULL OR (commission_bps >= 0 AND commission_bps <= 10000)",
            name="commission_bps_range",
        ),
        sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    slug: Mapped[str] = mapped_column(sa.String(80), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(BigIntId, sa.ForeignKey("categories.id"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    # Commission for products of this category, when set (payouts reads it; a shop override wins).
    commission_bps: Mapped[int | None] = mapped_column(sa.Integer)
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    parent: Mapped[Category | None] = relationship(remote_side="Category.id", back_populates="children")
    children: Mapped[list[Category]] = relationship(back_populates="parent", order_by="Category.position")

    @property
    def path(self) -> list[Category]:
        """From the root down to this category."""
        chain: list[Category] = []
        node: Category | None = self
        while node is not None:
            chain.insert(0, node)
            node = node.parent
        return chain

    def __repr__(self) -> str:
        return f"<Category {self.slug}>"
