"""Favourites: the products a shopper saved, the shops they follow, and their weekly e-mail."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import BigIntId, IdMixin, UTCDateTime, utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.catalog.models import Product
    from vendors.models import Shop


class SavedProduct(IdMixin, db.Model):  # type: ignore[name-defined]
    """A product a shopper saved, with the price it had then: the weekly e-mail tells when it drops."""

    __tablename__ = "saved_products"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "product_id"),
        sa.CheckConstraint("price_seen_cents > 0", name="price_seen_positive"),
        sa.CheckConstraint(
            "price_mailed_cents IS NULL OR price_mailed_cents > 0", name="price_mailed_positive"
        ),
    )

    user_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    product_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # The lowest price of its variants when saved, and when the last weekly e-mail was sent.
    price_seen_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    price_mailed_cents: Mapped[int | None] = mapped_column(sa.BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    product: Mapped[Product] = relationship()

    @property
    def reference_cents(self) -> int:
        """The price a drop is measured from: the last one mailed, else the one seen when saving."""
        return self.price_mailed_cents or self.price_seen_cents


class FollowedShop(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "followed_shops"
    __table_args__ = (sa.UniqueConstraint("user_id", "shop_id"),)

    user_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    shop_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    shop: Mapped[Shop] = relationship()


class WeeklyDigest(db.Model):  # type: ignore[name-defined]
    """A shopper's choice of the weekly e-mail (off until they tick it) and the last week it went out.

    ``last_week`` ("2026-W49", the town's ISO week) makes the weekly job safe to run twice."""

    __tablename__ = "favourite_digests"

    user_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    last_week: Mapped[str | None] = mapped_column(sa.String(8))
    last_sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), nullable=False, default=utcnow, onupdate=utcnow
    )
