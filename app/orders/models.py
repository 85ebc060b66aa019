"""Orders, each shop's part of them, and their lines (frozen at purchase)."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.cart.models import DeliveryMethod
from app.database import BigIntId, IdMixin, TimestampMixin, UTCDateTime, str_enum
from app.extensions import db


class OrderStatus(enum.StrEnum):
    PENDING_PAYMENT = "pending_payment"  # stock reserved until ``reserved_until``
    PAID = "paid"
    EXPIRED = "expired"  # not paid in time: the reservation was released
    CANCELLED = "cancelled"


class VendorOrderStatus(enum.StrEnum):
    """DESIGN.md's states of one shop's part."""

    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"
    ACCEPTED = "accepted"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    READY_FOR_PICKUP = "ready_for_pickup"
    COLLECTED = "collected"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    RETURN_REQUESTED = "return_requested"
    RETURNED = "returned"
    REFUNDED = "refunded"


class OrderCounter(db.Model):  # type: ignore[name-defined]
    """The last order number of each year: numbers follow each other without gaps."""

    __tablename__ = "order_counters"

    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)


class Order(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "orders"
    __table_args__ = (
        sa.CheckConstraint("items_cents >= 0", name="items_not_negative"),
        sa.CheckConstraint("delivery_cents >= 0", name="delivery_not_negative"),
        sa.CheckConstraint("total_cents = items_cents + delivery_cents", name="total_adds_up"),
    )

    number: Mapped[str] = mapped_column(sa.String(20), unique=True, nullable=False)
    # The checkout form's one-time token: a double click or a replayed request finds this order.
    checkout_token: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    user_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("users.id"), nullable=False, index=True)
    status: Mapped[OrderStatus] = mapped_column(
        str_enum(OrderStatus, "order_status"), nullable=False, default=OrderStatus.PENDING_PAYMENT, index=True
    )
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False, default="EUR")
    items_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    delivery_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    total_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)

    # Contact and address, as given at checkout
    email: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    phone: Mapped[str] = mapped_column(sa.String(30), nullable=False, default="")
    full_name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    street: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    postcode: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="")
    city: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    country: Mapped[str] = mapped_column(sa.String(2), nullable=False, default="FR")

    reserved_until: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    payment_intent_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    user: Mapped[User] = relationship()
    vendor_orders: Mapped[list[VendorOrder]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="VendorOrder.id"
    )

    def __repr__(self) -> str:
        return f"<Order {self.number} {self.status}>"


class VendorOrder(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """One shop's part of an order: its lines, its delivery, its own state."""

    __tablename__ = "vendor_orders"
    __table_args__ = (
        sa.UniqueConstraint("order_id", "shop_id"),
        sa.CheckConstraint("total_cents = items_cents + delivery_fee_cents", name="total_adds_up"),
    )

    order_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
    )
    shop_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("shops.id"), nullable=False, index=True)
    status: Mapped[VendorOrderStatus] = mapped_column(
        str_enum(VendorOrderStatus, "vendor_order_status"),
        nullable=False,
        default=VendorOrderStatus.PENDING_PAYMENT,
    )
    delivery_method: Mapped[DeliveryMethod] = mapped_column(
        str_enum(DeliveryMethod, "delivery_method"), nullable=False
    )
    relay_point_id: Mapped[int | None] = mapped_column(BigIntId, sa.ForeignKey("relay_points.id"))
    delivery_fee_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    delivery_vat_bps: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    items_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    total_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)

    order: Mapped[Order] = relationship(back_populates="vendor_orders")
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="vendor_order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )


class OrderLine(IdMixin, db.Model):  # type: ignore[name-defined]
    """What was bought, as it was at purchase: editing the product later changes nothing here."""

    __tablename__ = "order_lines"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("unit_price_cents > 0", name="unit_price_positive"),
        sa.CheckConstraint("total_cents = unit_price_cents * quantity", name="total_adds_up"),
    )

    vendor_order_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("vendor_orders.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # Kept for stock and links; SET NULL so that a deleted product never deletes a sale.
    variant_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("product_variants.id", ondelete="SET NULL"), index=True
    )
    product_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("products.id", ondelete="SET NULL")
    )
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    variant_label: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    sku: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    unit_price_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    quantity: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    vat_bps: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    total_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)

    vendor_order: Mapped[VendorOrder] = relationship(back_populates="lines")
