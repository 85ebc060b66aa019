"""Orders, each shop's part of them, and their lines (frozen at purchase)."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.cart.models import DeliveryMethod
from app.catalog.models import WithdrawalExclusion
from app.database import BigIntId, IdMixin, TimestampMixin, UTCDateTime, str_enum
from app.extensions import db
from vendors.models import RelayPoint, Shop

# The payment status of the demo town's past orders (``flask demo load``): money Stripe never saw.
DEMO_HISTORY = "demo"


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
    # A buyer buying for a company (optional at checkout): its invoices and credit notes are Factur-X.
    buyer_company: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    buyer_siren: Mapped[str] = mapped_column(sa.String(9), nullable=False, default="")
    buyer_vat_number: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")

    reserved_until: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The one PaymentIntent of the whole order, its last known status and why the last attempt failed.
    payment_intent_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # Stripe's PaymentIntent status, or ``DEMO_HISTORY`` for the demo town's past orders.
    payment_status: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")
    payment_error: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")
    # The charge the shops' transfers will draw on (``source_transaction``).
    charge_id: Mapped[str | None] = mapped_column(sa.String(64))
    # Which version of the terms of sale the shopper accepted before paying.
    terms_version: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")
    locale: Mapped[str] = mapped_column(sa.String(5), nullable=False, default="fr")

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
        sa.UniqueConstraint("shop_id", "invoice_number"),
        sa.CheckConstraint("total_cents = items_cents + delivery_fee_cents", name="total_adds_up"),
        sa.CheckConstraint("refunded_cents BETWEEN 0 AND total_cents", name="refund_within_total"),
        sa.CheckConstraint(
            "commission_cents >= 0 AND commission_vat_cents >= 0", name="commission_not_negative"
        ),
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
    refunded_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    # The platform's commission on this part (its lines' rates, rounded once, plus any fixed fee) and the
    # VAT on it, frozen when the order is placed.
    commission_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    commission_vat_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)

    # Click & collect: the slot the shopper chose, and the code they show at the counter.
    pickup_slot: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    pickup_code: Mapped[str | None] = mapped_column(sa.String(12))
    # Shipping
    carrier: Mapped[str] = mapped_column(sa.String(60), nullable=False, default="")
    tracking_number: Mapped[str] = mapped_column(sa.String(60), nullable=False, default="")

    # When each step happened (``received_at``: delivered or collected, the start of the withdrawal window)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    shipped_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ready_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")

    # The shop's invoice, numbered in the shop's own series when the shop accepts the order.
    invoice_number: Mapped[str | None] = mapped_column(sa.String(30))
    invoiced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship(back_populates="vendor_orders")
    shop: Mapped[Shop] = relationship()
    relay_point: Mapped[RelayPoint | None] = relationship()
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="vendor_order", cascade="all, delete-orphan", order_by="OrderLine.id"
    )
    refunds: Mapped[list[Refund]] = relationship(
        back_populates="vendor_order", cascade="all, delete-orphan", order_by="Refund.id"
    )
    returns: Mapped[list[ReturnRequest]] = relationship(
        back_populates="vendor_order", cascade="all, delete-orphan", order_by="ReturnRequest.id"
    )
    credit_notes: Mapped[list[CreditNote]] = relationship(
        back_populates="vendor_order", cascade="all, delete-orphan", order_by="CreditNote.id"
    )

    @property
    def remaining_cents(self) -> int:
        """What can still be refunded."""
        return self.total_cents - self.refunded_cents


class OrderLine(IdMixin, db.Model):  # type: ignore[name-defined]
    """What was bought, as it was at purchase: editing the product later changes nothing here."""

    __tablename__ = "order_lines"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("unit_price_cents > 0", name="unit_price_positive"),
        sa.CheckConstraint("total_cents = unit_price_cents * quantity", name="total_adds_up"),
        sa.CheckConstraint("returned_quantity BETWEEN 0 AND quantity", name="returned_within_quantity"),
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
    # The commission rate of this line on the day of the order (shop > category > plan > platform).
    commission_bps: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    # Units given back through a withdrawal (the shop confirmed their return).
    returned_quantity: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    # Whether the law excludes it from withdrawal (L221-28), as the product page said at purchase.
    withdrawal_exclusion: Mapped[WithdrawalExclusion] = mapped_column(
        str_enum(WithdrawalExclusion, "withdrawal_exclusion"),
        nullable=False,
        default=WithdrawalExclusion.NONE,
        server_default=WithdrawalExclusion.NONE.value,
    )

    vendor_order: Mapped[VendorOrder] = relationship(back_populates="lines")

    @property
    def withdrawable(self) -> bool:
        return self.withdrawal_exclusion == WithdrawalExclusion.NONE


class InvoiceCounter(db.Model):  # type: ignore[name-defined]
    """Each shop's last invoice number of the year: a shop's invoices follow each other without gaps."""

    __tablename__ = "invoice_counters"

    shop_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)


class RefundReason(enum.StrEnum):
    REFUSED = "refused"  # the shop refused the order
    CANCELLED = "cancelled"  # cancelled before shipping
    WITHDRAWAL = "withdrawal"  # the legal withdrawal right
    EXPIRED = "expired"  # paid after its reservation had lapsed and the stock was gone
    PARTIAL = "partial"  # the shop gives back part of its part (some lines, or an amount)
    GOODWILL = "goodwill"  # the manager gives back part of a shop's part, as a gesture
    EXTERNAL = "external"  # made on Stripe's dashboard, outside the marketplace


class RefundStatus(enum.StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class Refund(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """Money given back on one shop's part, through a Stripe Refund on the order's payment."""

    __tablename__ = "refunds"
    __table_args__ = (sa.CheckConstraint("amount_cents > 0", name="amount_positive"),)

    vendor_order_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("vendor_orders.id", ondelete="CASCADE"), nullable=False, index=True
    )
    amount_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    # Of which delivery fee (refunded with a withdrawal of the whole order, as the law says).
    delivery_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    # The platform's commission (and its VAT) given back with it, set by payouts when it is recorded.
    commission_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    commission_vat_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    reason: Mapped[RefundReason] = mapped_column(str_enum(RefundReason, "refund_reason"), nullable=False)
    status: Mapped[RefundStatus] = mapped_column(
        str_enum(RefundStatus, "refund_status"), nullable=False, default=RefundStatus.PENDING
    )
    # The Stripe call's idempotency key: a retry finds the same Stripe refund.
    key: Mapped[str] = mapped_column(sa.String(80), unique=True, nullable=False)
    stripe_refund_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    error: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")
    # Why, in the words of whoever gave it (a partial or goodwill refund, a shop's cancellation).
    note: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    # A refund made outside the marketplace, of which this is one part's share (several parts may share
    # one Stripe refund: its id is then on the outside refund, not here).
    external_refund_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("external_refunds.id", ondelete="SET NULL"), index=True
    )
    # A failed refund offered again: the refund that replaces it.
    retried_by_id: Mapped[int | None] = mapped_column(BigIntId, sa.ForeignKey("refunds.id"))

    vendor_order: Mapped[VendorOrder] = relationship(back_populates="refunds")
    external_refund: Mapped[ExternalRefund | None] = relationship(back_populates="parts")

    @property
    def stripe_id(self) -> str | None:
        """The Stripe refund this money went out with."""
        if self.stripe_refund_id:
            return self.stripe_refund_id
        return self.external_refund.stripe_refund_id if self.external_refund else None


class ExternalRefundStatus(enum.StrEnum):
    TO_ALLOCATE = "to_allocate"  # several parts could have given it: the manager chooses
    ALLOCATED = "allocated"
    FAILED = "failed"  # it failed before it was allocated: nothing to do


class ExternalRefund(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A refund made on Stripe's dashboard, not through the marketplace: allocated to the order's shop
    parts (by itself when only one part can have given it, otherwise by the manager)."""

    __tablename__ = "external_refunds"
    __table_args__ = (sa.CheckConstraint("amount_cents > 0", name="amount_positive"),)

    order_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False, index=True
    )
    stripe_refund_id: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    amount_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    status: Mapped[ExternalRefundStatus] = mapped_column(
        str_enum(ExternalRefundStatus, "external_refund_status"),
        nullable=False,
        default=ExternalRefundStatus.TO_ALLOCATE,
        index=True,
    )
    allocated_by_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    allocated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    order: Mapped[Order] = relationship()
    parts: Mapped[list[Refund]] = relationship(back_populates="external_refund", order_by="Refund.id")


class ReturnStatus(enum.StrEnum):
    REQUESTED = "requested"  # the shopper withdrew; the goods are on their way back
    RECEIVED = "received"  # the shop confirmed receiving them; the refund follows
    REFUNDED = "refunded"


class ReturnRequest(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A withdrawal from some or all lines of one shop's part."""

    __tablename__ = "return_requests"

    vendor_order_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("vendor_orders.id", ondelete="CASCADE"), nullable=False, index=True
    )
    status: Mapped[ReturnStatus] = mapped_column(
        str_enum(ReturnStatus, "return_status"), nullable=False, default=ReturnStatus.REQUESTED
    )
    reason: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    received_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The refund is due within 14 days of the request (it may wait for the goods to come back).
    refund_due_on: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)

    vendor_order: Mapped[VendorOrder] = relationship(back_populates="returns")
    lines: Mapped[list[ReturnLine]] = relationship(
        back_populates="request", cascade="all, delete-orphan", order_by="ReturnLine.id"
    )
    refund_id: Mapped[int | None] = mapped_column(BigIntId, sa.ForeignKey("refunds.id"))
    refund: Mapped[Refund | None] = relationship()


class ReturnLine(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "return_lines"
    __table_args__ = (
        sa.UniqueConstraint("request_id", "order_line_id"),
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    request_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("return_requests.id", ondelete="CASCADE"), nullable=False, index=True
    )
    order_line_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("order_lines.id", ondelete="CASCADE"), nullable=False
    )
    quantity: Mapped[int] = mapped_column(sa.Integer, nullable=False)

    request: Mapped[ReturnRequest] = relationship(back_populates="lines")
    line: Mapped[OrderLine] = relationship()


# -- credit notes ---------------------------------------------------------------------------------


class CreditNoteCounter(db.Model):  # type: ignore[name-defined]
    """Each shop's last credit note number of the year: its own series, next to its invoices'."""

    __tablename__ = "credit_note_counters"

    shop_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)


class CreditNote(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """The shop's credit note (facture d'avoir) for one refund of an invoiced part: what was given back,
    line by line with its VAT, frozen when the refund is recorded. Amounts are positive: the document
    says it is an "Avoir". One per refund (a retried refund is covered by its first one's)."""

    __tablename__ = "credit_notes"
    __table_args__ = (
        sa.UniqueConstraint("shop_id", "number"),
        sa.CheckConstraint("total_cents > 0", name="total_positive"),
        sa.CheckConstraint("total_cents = net_cents + vat_cents", name="total_adds_up"),
    )

    vendor_order_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("vendor_orders.id", ondelete="CASCADE"), nullable=False, index=True
    )
    shop_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("shops.id"), nullable=False, index=True)
    refund_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("refunds.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    number: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    # The invoice it corrects, as it was numbered (kept even if the part's columns were ever rewritten).
    invoice_number: Mapped[str] = mapped_column(sa.String(30), nullable=False)
    invoice_issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False, default="EUR")
    net_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    vat_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    total_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    # Under the VAT franchise no VAT is credited (the lines' rates are 0).
    vat_exempt: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)

    vendor_order: Mapped[VendorOrder] = relationship(back_populates="credit_notes")
    refund: Mapped[Refund] = relationship()
    lines: Mapped[list[CreditNoteLine]] = relationship(
        back_populates="credit_note", cascade="all, delete-orphan", order_by="CreditNoteLine.id"
    )


class CreditLineKind(enum.StrEnum):
    GOODS = "goods"  # units of an order line
    DELIVERY = "delivery"  # the delivery fee
    AMOUNT = "amount"  # an amount refunded without lines, at one VAT rate


class CreditNoteLine(IdMixin, db.Model):  # type: ignore[name-defined]
    """One line given back: units of an order line, the delivery fee, or an amount at one VAT rate
    (an amount refunded without lines is shared across the invoice's rates in proportion)."""

    __tablename__ = "credit_note_lines"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("total_cents > 0", name="total_positive"),
    )

    credit_note_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("credit_notes.id", ondelete="CASCADE"), nullable=False, index=True
    )
    order_line_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("order_lines.id", ondelete="SET NULL")
    )
    # The order line's title and variant as frozen on it (empty for delivery and amount lines, which
    # are named in the document's language when drawn).
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    variant_label: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    sku: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    quantity: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    unit_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    vat_bps: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    total_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    kind: Mapped[CreditLineKind] = mapped_column(
        str_enum(CreditLineKind, "credit_line_kind"), nullable=False, default=CreditLineKind.GOODS
    )

    credit_note: Mapped[CreditNote] = relationship(back_populates="lines")
