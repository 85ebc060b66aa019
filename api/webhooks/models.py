"""Outbound webhooks: the addresses shops (and the manager) register, and each delivery's log.

An endpoint belongs to a shop, or to no shop: the manager's, which hears every shop's events. Each event
of ``app.events`` gives one delivery per subscribed, enabled endpoint; each delivery is tried until it
succeeds or three days have passed, and every try is logged as an attempt (status code, duration, the
start of the answer).
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.database import BigIntId, IdMixin, UTCDateTime, str_enum, utcnow
from app.events import Event
from app.extensions import db
from vendors.models import Shop

URL_MAX = 2000
RESPONSE_EXCERPT = 1000  # characters of an answer kept in the log


class WebhookEndpoint(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "webhook_endpoints"
    __table_args__ = (sa.CheckConstraint("consecutive_failures >= 0", name="failures_not_negative"),)

    # None: the town manager's endpoint, which receives every shop's events.
    shop_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), index=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    url: Mapped[str] = mapped_column(sa.String(URL_MAX), nullable=False)
    description: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    events: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    # Kept as is: deliveries are signed with it (a hash could not sign). Shown once, when made.
    secret: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    # After a rotation the old secret signs too, for a day, so receivers can switch without a gap.
    previous_secret: Mapped[str | None] = mapped_column(sa.String(80))
    previous_secret_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    consecutive_failures: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    # The first failed attempt since the last success (None while the endpoint answers).
    failing_since: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    disabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    disabled_reason: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    shop: Mapped[Shop | None] = relationship()
    created_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<WebhookEndpoint {self.id} shop={self.shop_id} {self.url}>"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"  # to be tried (again) at ``next_attempt_at``
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # given up: three days of failures, or the endpoint was disabled


class WebhookDelivery(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        sa.CheckConstraint("attempts >= 0", name="attempts_not_negative"),
    )

    event_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("events.id", ondelete="CASCADE"), nullable=False, index=True
    )
    endpoint_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # A replay from the back office: a new delivery of the same event (same event id).
    replay_of_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("webhook_deliveries.id", ondelete="SET NULL")
    )
    status: Mapped[DeliveryStatus] = mapped_column(
        str_enum(DeliveryStatus, "delivery_status"), nullable=False, default=DeliveryStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # No try is made after this (three days after the delivery was planned).
    retry_until: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_status_code: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    event: Mapped[Event] = relationship()
    endpoint: Mapped[WebhookEndpoint] = relationship()
    log: Mapped[list[WebhookAttempt]] = relationship(
        back_populates="delivery", order_by="WebhookAttempt.number", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<WebhookDelivery {self.id} {self.status} attempts={self.attempts}>"


class WebhookAttempt(IdMixin, db.Model):  # type: ignore[name-defined]
    """One try of a delivery, as the receiver answered it (or why there was no answer)."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (sa.UniqueConstraint("delivery_id", "number"),)

    delivery_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), nullable=False
    )
    number: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    duration_ms: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    status_code: Mapped[int | None] = mapped_column(sa.Integer)
    response_excerpt: Mapped[str] = mapped_column(sa.String(RESPONSE_EXCERPT), nullable=False, default="")
    error: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="log")

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
