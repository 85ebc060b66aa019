"""Carts, their items and each shop's delivery choice."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.models import Variant
from app.database import BigIntId, IdMixin, TimestampMixin, UTCDateTime, str_enum, utcnow
from app.extensions import db

MAX_QUANTITY = 99  # per line: more is a typing slip or a wholesale order, not a shopper's cart


class DeliveryMethod(enum.StrEnum):
    CLICK_COLLECT = "click_collect"
    LOCAL_DELIVERY = "local_delivery"
    HOME_DELIVERY = "home_delivery"
    RELAY = "relay"


class Cart(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A signed-in shopper's cart (``user_id``) or a guest's (``token``, kept in their session)."""

    __tablename__ = "carts"
    __table_args__ = (sa.CheckConstraint("user_id IS NOT NULL OR token IS NOT NULL", name="owned"),)

    user_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # Where the shopper will be delivered, for local delivery zones (postcode), once given.
    postcode: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="")

    items: Mapped[list[CartItem]] = relationship(
        back_populates="cart", cascade="all, delete-orphan", order_by="CartItem.id"
    )
    deliveries: Mapped[list[CartDelivery]] = relationship(
        back_populates="cart", cascade="all, delete-orphan", order_by="CartDelivery.shop_id"
    )


class CartItem(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "cart_items"
    __table_args__ = (
        sa.UniqueConstraint("cart_id", "variant_id"),
        sa.CheckConstraint(f"quantity BETWEEN 1 AND {MAX_QUANTITY}", name="quantity_range"),
        sa.CheckConstraint("price_seen_cents > 0", name="price_seen_positive"),
    )

    cart_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("carts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    variant_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("product_variants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    quantity: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    # The price the shopper saw when adding: a change since is shown before paying.
    price_seen_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    cart: Mapped[Cart] = relationship(back_populates="items")
    variant: Mapped[Variant] = relationship()


class CartDelivery(IdMixin, db.Model):  # type: ignore[name-defined]
    """How one shop's part of the cart reaches the shopper."""

    __tablename__ = "cart_deliveries"
    __table_args__ = (sa.UniqueConstraint("cart_id", "shop_id"),)

    cart_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("carts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    shop_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False
    )
    method: Mapped[DeliveryMethod] = mapped_column(
        str_enum(DeliveryMethod, "delivery_method"), nullable=False
    )
    relay_point_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("relay_points.id", ondelete="SET NULL")
    )
    # Click & collect: the start of the chosen pickup slot.
    pickup_slot: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    cart: Mapped[Cart] = relationship(back_populates="deliveries")
