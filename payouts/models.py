"""Money records. For now: the Stripe events already applied, so each is applied once."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.database import UTCDateTime, utcnow
from app.extensions import db


class StripeEvent(db.Model):  # type: ignore[name-defined]
    """A webhook event from Stripe, stored when applied: a replay finds it and does nothing."""

    __tablename__ = "stripe_events"

    id: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    # When Stripe created the event: handlers use it to ignore events older than what they know.
    created: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
