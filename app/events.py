"""What happened in the marketplace that shops' own systems may want to hear about: the event outbox.

A domain calls ``record`` where the thing happens (an order paid, a return refunded...), in the same
transaction as the change: the event row commits or rolls back with it, so no event is announced for a
change that did not happen, and none is lost when a worker is down. Whoever delivers events (the
outbound webhooks, in ``api.webhooks``) reads this table; no domain knows about them.

Payloads carry ids, numbers, states, amounts in cents with their currency and ISO 8601 UTC dates: never
a shopper's name, address or e-mail.
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.database import BigIntId, IdMixin, UTCDateTime, utcnow
from app.extensions import db

ORDER_PAID = "order.paid"
ORDER_CANCELLED = "order.cancelled"
RETURN_REQUESTED = "return.requested"
RETURN_REFUNDED = "return.refunded"
PRODUCT_LOW_STOCK = "product.low_stock"
REVIEW_PUBLISHED = "review.published"
EVENT_TYPES = (
    ORDER_PAID,
    ORDER_CANCELLED,
    RETURN_REQUESTED,
    RETURN_REFUNDED,
    PRODUCT_LOW_STOCK,
    REVIEW_PUBLISHED,
)


def new_event_id() -> str:
    return f"evt_{secrets.token_hex(12)}"


class Event(IdMixin, db.Model):  # type: ignore[name-defined]
    """One thing that happened to one shop; ``dispatched_at`` is set once its deliveries are planned."""

    __tablename__ = "events"
    __table_args__ = (sa.Index("ix_events_pending", "dispatched_at", "id"),)

    # The id receivers see, the same on every delivery and replay of this event.
    public_id: Mapped[str] = mapped_column(sa.String(40), unique=True, nullable=False, default=new_event_id)
    type: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    shop_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False, index=True
    )
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<Event {self.public_id} {self.type}>"


def iso(moment: dt.datetime | dt.date | None) -> str | None:
    """A date or UTC datetime as payloads write it (``2026-12-06T10:00:00Z``)."""
    if moment is None:
        return None
    if isinstance(moment, dt.datetime):
        return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    return moment.isoformat()


def record(event_type: str, shop_id: int, payload: dict[str, Any]) -> Event:
    """Write that ``event_type`` happened to shop ``shop_id``, in the caller's transaction."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    event = Event(
        public_id=new_event_id(), type=event_type, shop_id=shop_id, payload=payload, created_at=utcnow()
    )
    db.session.add(event)
    return event
