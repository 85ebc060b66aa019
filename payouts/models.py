"""Money records: Stripe events applied once, commission rules, plans, subscriptions, ledger, transfers."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import BigIntId, IdMixin, TimestampMixin, UTCDateTime, str_enum, utcnow
from app.extensions import db


class StripeEvent(db.Model):  # type: ignore[name-defined]
    """A webhook event from Stripe, stored when applied: a replay finds it and does nothing."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    # When Stripe created the event: handlers use it to ignore events older than what they know.
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


# -- commission -----------------------------------------------------------------------------------


class RuleScope(enum.StrEnum):
    """Where a commission rule applies; the most specific wins: shop > category > plan > platform."""

    SHOP = "shop"
    CATEGORY = "category"
    PLAN = "plan"
    PLATFORM = "platform"


class CommissionRule(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A commission rate (and a fixed fee per shop order) from a date on. Never edited: a change is a new
    rule with a later date, so an order is always charged the rule of its day."""

    __tablename__ = "commission_rules"
    __table_args__ = (
        sa.CheckConstraint("rate_bps BETWEEN 0 AND 10000", name="rate_range"),
        # A category rule without a rate ends that category's own rate from its date on.
        sa.CheckConstraint("rate_bps IS NOT NULL OR scope = 'category'", name="rate_required"),
        sa.CheckConstraint("fixed_fee_cents >= 0", name="fixed_fee_not_negative"),
        sa.CheckConstraint(
            "(scope = 'platform' AND shop_id IS NULL AND category_id IS NULL AND plan_id IS NULL)"
            " OR (scope = 'shop' AND shop_id IS NOT NULL AND category_id IS NULL AND plan_id IS NULL)"
            " OR (scope = 'category' AND category_id IS NOT NULL AND shop_id IS NULL AND plan_id IS NULL)"
            " OR (scope = 'plan' AND plan_id IS NOT NULL AND shop_id IS NULL AND category_id IS NULL)",
            name="one_target",
        ),
        sa.Index(
            "ix_commission_rules_lookup", "scope", "shop_id", "category_id", "plan_id", "effective_from"
        ),
    )

    scope: Mapped[RuleScope] = mapped_column(str_enum(RuleScope, "rule_scope"), nullable=False)
    shop_id: Mapped[int | None] = mapped_column(BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"))
    category_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("categories.id", ondelete="CASCADE")
    )
    plan_id: Mapped[int | None] = mapped_column(BigIntId, sa.ForeignKey("plans.id", ondelete="CASCADE"))
    rate_bps: Mapped[int | None] = mapped_column(sa.Integer)
    # Per shop order, on top of the rate (a shop or platform rule; ignored on category rules).
    fixed_fee_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    effective_from: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    note: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")


# -- plans and subscriptions ----------------------------------------------------------------------


class Plan(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A monthly plan shops choose: its price (tax included), product limit; its rate is a plan rule."""

    __tablename__ = "plans"
    __table_args__ = (
        sa.CheckConstraint("monthly_price_cents >= 0", name="price_not_negative"),
        sa.CheckConstraint("product_limit IS NULL OR product_limit > 0", name="limit_positive"),
    )

    slug: Mapped[str] = mapped_column(sa.String(40), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    description: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    monthly_price_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    product_limit: Mapped[int | None] = mapped_column(sa.Integer)
    active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    # Stripe Billing: the plan's Product and its current Price (a new price is a new Price).
    stripe_product_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    stripe_price_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)


class SubscriptionStatus(enum.StrEnum):
    INCOMPLETE = "incomplete"  # the first payment has not gone through
    ACTIVE = "active"
    PAST_DUE = "past_due"  # a monthly payment failed: grace period, then the storefront is hidden
    CANCELED = "canceled"


class ShopSubscription(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A shop's plan and its Stripe Billing subscription (the shop is a Customer of the platform)."""

    __tablename__ = "shop_subscriptions"

    shop_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    plan_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("plans.id"), nullable=False)
    status: Mapped[SubscriptionStatus] = mapped_column(
        str_enum(SubscriptionStatus, "subscription_status"), nullable=False
    )
    stripe_customer_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    current_period_end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # When the first unpaid invoice failed; the storefront is hidden after the grace period.
    past_due_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    plan: Mapped[Plan] = relationship()


class BillingInvoice(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A Stripe invoice of a shop's subscription, as the webhooks told it."""

    __tablename__ = "billing_invoices"

    shop_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False, index=True
    )
    stripe_invoice_id: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    number: Mapped[str] = mapped_column(sa.String(64), nullable=False, default="")
    status: Mapped[str] = mapped_column(sa.String(20), nullable=False)
    amount_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    period_start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    period_end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    paid_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    hosted_url: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")


# -- the ledger -----------------------------------------------------------------------------------


class AccountKind(enum.StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    REVENUE = "revenue"
    EXPENSE = "expense"


class LedgerAccount(IdMixin, db.Model):  # type: ignore[name-defined]
    """One account of the ledger: the platform's Stripe balance, its revenues and VAT, each shop's due."""

    __tablename__ = "ledger_accounts"

    code: Mapped[str] = mapped_column(sa.String(80), unique=True, nullable=False)
    kind: Mapped[AccountKind] = mapped_column(str_enum(AccountKind, "account_kind"), nullable=False)
    shop_id: Mapped[int | None] = mapped_column(BigIntId, sa.ForeignKey("shops.id"), index=True)


class TransactionKind(enum.StrEnum):
    SALE = "sale"  # the shopper paid an order: the platform holds each shop's part
    COMMISSION = "commission"  # the platform's commission and its VAT, taken from a shop's part
    REFUND = "refund"  # money given back to the shopper from a shop's part
    COMMISSION_REFUND = "commission_refund"  # the commission given back with a refund
    RELEASE = "release"  # delivered and past the hold: the shop's part becomes transferable
    TRANSFER = "transfer"  # sent to the shop's Stripe account
    TRANSFER_REVERSAL = "transfer_reversal"  # taken back from the shop's Stripe account
    SUBSCRIPTION = "subscription"  # a shop paid its monthly plan
    # Stripe paid the platform's own balance out to its bank (or, reversed, the bank returned it)
    BANK_PAYOUT = "bank_payout"


class LedgerTransaction(IdMixin, db.Model):  # type: ignore[name-defined]
    """A balanced set of entries, written once for a business event (``key``) and never changed."""

    __tablename__ = "ledger_transactions"

    key: Mapped[str] = mapped_column(sa.String(120), unique=True, nullable=False)
    kind: Mapped[TransactionKind] = mapped_column(
        str_enum(TransactionKind, "transaction_kind"), nullable=False
    )
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    shop_id: Mapped[int | None] = mapped_column(BigIntId, sa.ForeignKey("shops.id"), index=True)
    vendor_order_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("vendor_orders.id"), index=True
    )
    # The Stripe object behind it (a charge, refund, transfer, reversal or invoice), for reconciliation.
    stripe_id: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    memo: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    entries: Mapped[list[LedgerEntry]] = relationship(back_populates="transaction", order_by="LedgerEntry.id")


class LedgerEntry(IdMixin, db.Model):  # type: ignore[name-defined]
    """One side of a transaction: positive debits, negative credits; a transaction's entries sum to 0."""

    __tablename__ = "ledger_entries"
    __table_args__ = (sa.CheckConstraint("amount_cents <> 0", name="amount_not_zero"),)

    transaction_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("ledger_transactions.id"), nullable=False, index=True
    )
    account_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("ledger_accounts.id"), nullable=False, index=True
    )
    amount_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)

    transaction: Mapped[LedgerTransaction] = relationship(back_populates="entries")
    account: Mapped[LedgerAccount] = relationship()


# -- transfers to shops ---------------------------------------------------------------------------


class TransferStatus(enum.StrEnum):
    WAITING = "waiting"  # released, but the shop cannot receive transfers yet (payouts not enabled)
    PAID = "paid"  # sent to the shop's Stripe account
    FAILED = "failed"  # Stripe refused: retried by the job, shown to the manager
    NETTED = "netted"  # nothing to send: the shop's balance was used up by refunds


class ShopTransfer(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """The one transfer of a shop's part of an order, once delivered and past the payout hold."""

    __tablename__ = "shop_transfers"
    __table_args__ = (sa.CheckConstraint("amount_cents >= 0", name="amount_not_negative"),)

    vendor_order_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("vendor_orders.id"), unique=True, nullable=False
    )
    shop_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("shops.id"), nullable=False, index=True)
    status: Mapped[TransferStatus] = mapped_column(
        str_enum(TransferStatus, "transfer_status"), nullable=False
    )
    amount_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    reversed_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    stripe_transfer_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    last_error: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    transferred_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class TransferReversal(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """The shop's share of a refund taken back from a transfer already made."""

    __tablename__ = "transfer_reversals"
    __table_args__ = (sa.CheckConstraint("amount_cents > 0", name="amount_positive"),)

    transfer_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("shop_transfers.id"), nullable=False, index=True
    )
    refund_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("refunds.id"), unique=True, nullable=False)
    amount_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    stripe_reversal_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    error: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")
    # A refused reversal is retried on a schedule until taken back or netted by later transfers; then the
    # debt is closed here (with ``recovered_cents`` taken back by the retry, the rest netted).
    settled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    recovered_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0, server_default="0")

    attempts: Mapped[list[ReversalAttempt]] = relationship(
        back_populates="reversal", order_by="ReversalAttempt.id", cascade="all, delete-orphan"
    )


class ReversalAttempt(IdMixin, db.Model):  # type: ignore[name-defined]
    """One retry of a refused transfer reversal: what was asked of Stripe, under which key, and its answer."""

    __tablename__ = "transfer_reversal_attempts"
    __table_args__ = (sa.CheckConstraint("amount_cents > 0", name="amount_positive"),)

    reversal_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("transfer_reversals.id"), nullable=False, index=True
    )
    attempted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    amount_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    idempotency_key: Mapped[str] = mapped_column(sa.String(120), unique=True, nullable=False)
    succeeded: Mapped[bool] = mapped_column(sa.Boolean, nullable=False)
    stripe_reversal_id: Mapped[str | None] = mapped_column(sa.String(64))
    # Stripe's answer when it refused (its message, with its error code).
    error: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")

    reversal: Mapped[TransferReversal] = relationship(back_populates="attempts")


# -- the platform's documents to shops ------------------------------------------------------------


class CommissionInvoice(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """The platform's monthly invoice to a shop for its commission (net, VAT 20 %), numbered without gaps
    in the platform's own series; its figures are read from the ledger when it is issued, then kept."""

    __tablename__ = "commission_invoices"
    __table_args__ = (
        sa.UniqueConstraint("shop_id", "year", "month"),
        sa.CheckConstraint("month BETWEEN 1 AND 12", name="month_range"),
    )

    shop_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("shops.id"), nullable=False, index=True)
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    month: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    number: Mapped[str] = mapped_column(sa.String(30), unique=True, nullable=False)
    net_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    vat_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    total_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class InvoiceSeries(db.Model):  # type: ignore[name-defined]
    """The platform's last commission invoice number of each year (gapless, under this row's lock)."""

    __tablename__ = "commission_invoice_series"

    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)


# -- disputes (chargebacks) -----------------------------------------------------------------------


class DisputeStatus(enum.StrEnum):
    """Stripe's statuses of a dispute; ``won`` and ``lost`` are final."""

    WARNING_NEEDS_RESPONSE = "warning_needs_response"
    WARNING_UNDER_REVIEW = "warning_under_review"
    WARNING_CLOSED = "warning_closed"
    NEEDS_RESPONSE = "needs_response"
    UNDER_REVIEW = "under_review"
    WON = "won"
    LOST = "lost"


OPEN_DISPUTE_STATUSES = (
    DisputeStatus.WARNING_NEEDS_RESPONSE,
    DisputeStatus.WARNING_UNDER_REVIEW,
    DisputeStatus.NEEDS_RESPONSE,
    DisputeStatus.UNDER_REVIEW,
)


class Dispute(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A cardholder's bank disputing an order's charge, as Stripe last told it; its parts say which shops
    answer for it and with what evidence."""

    __tablename__ = "disputes"
    __table_args__ = (sa.CheckConstraint("amount_cents > 0", name="amount_positive"),)

    stripe_dispute_id: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    # None for a charge that paid no order (a shop's subscription): the manager deals with it on Stripe.
    order_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("orders.id", ondelete="SET NULL"), index=True
    )
    charge_id: Mapped[str] = mapped_column(sa.String(64), nullable=False, index=True)
    amount_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    currency: Mapped[str] = mapped_column(sa.String(3), nullable=False, default="eur")
    reason: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")
    status: Mapped[DisputeStatus] = mapped_column(
        sa.Enum(
            DisputeStatus,
            name="dispute_status",
            values_callable=lambda members: [member.value for member in members],
            native_enum=False,
            create_constraint=True,
            length=30,  # Stripe's longest status is 22 characters
        ),
        nullable=False,
        index=True,
    )
    evidence_due_by: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    submitted_by_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The shops were told once of the opening, once of the outcome.
    opening_notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    closing_notified_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    parts: Mapped[list[DisputePart]] = relationship(
        back_populates="dispute", order_by="DisputePart.id", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_DISPUTE_STATUSES


class DisputePart(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """One shop's part of a disputed order: its share of the amount (in proportion to the parts), the
    evidence the shop gives, and what was taken back from its transfer (when lost, or at once with the
    ``reverse`` policy) and given back (won)."""

    __tablename__ = "dispute_parts"
    __table_args__ = (
        sa.UniqueConstraint("dispute_id", "vendor_order_id"),
        sa.CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
    )

    dispute_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("disputes.id", ondelete="CASCADE"), nullable=False, index=True
    )
    vendor_order_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("vendor_orders.id"), nullable=False, index=True
    )
    shop_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("shops.id"), nullable=False, index=True)
    amount_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    tracking_number: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    evidence_text: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    evidence_by_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    evidence_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    reversed_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    stripe_reversal_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    reversal_error: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")
    # DISPUTE_SHOP_LIABILITY = "reverse": the transfer giving the shop back what was reversed, once won.
    returned_transfer_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    dispute: Mapped[Dispute] = relationship(back_populates="parts")
    files: Mapped[list[DisputeFile]] = relationship(
        order_by="DisputeFile.id", cascade="all, delete-orphan", passive_deletes=True
    )


class DisputeFile(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A file a shop gives as evidence (a photo or a PDF), stored under a random name and sent to Stripe
    as a File when the manager submits. Stripe takes one file per evidence field, hence one per
    ``field`` and dispute."""

    __tablename__ = "dispute_files"
    __table_args__ = (
        sa.UniqueConstraint("dispute_id", "field"),
        sa.CheckConstraint("size_bytes > 0", name="size_positive"),
    )

    dispute_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("disputes.id", ondelete="CASCADE"), nullable=False, index=True
    )
    dispute_part_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("dispute_parts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # Stripe's evidence field: receipt, shipping_documentation, customer_communication, uncategorized_file.
    field: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    path: Mapped[str] = mapped_column(sa.String(200), nullable=False)  # its key in the private media store
    filename: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    content_type: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    size_bytes: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    stripe_file_id: Mapped[str | None] = mapped_column(sa.String(64))


class Dac7Statement(IdMixin, db.Model):  # type: ignore[name-defined]
    """A seller's DAC7 statement of a year, sent once by e-mail (its figures are read again on demand)."""

    __tablename__ = "dac7_statements"
    __table_args__ = (sa.UniqueConstraint("shop_id", "year"),)

    shop_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False, index=True
    )
    year: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
