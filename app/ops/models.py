"""What the nightly reconciliation found, one row per town day."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.database import IdMixin, UTCDateTime, utcnow
from app.extensions import db


class ReconciliationRun(IdMixin, db.Model):  # type: ignore[name-defined]
    """The ledger's movements on the platform's Stripe balance during one town day, matched with Stripe's
    balance transactions of that day. Run again for the same day, the row is brought up to date (the
    latest run is the one that counts)."""

    __tablename__ = "reconciliation_runs"
    __table_args__ = (
        sa.CheckConstraint("difference_count >= 0", name="difference_count_not_negative"),
        sa.CheckConstraint("total_difference_cents >= 0", name="total_difference_not_negative"),
    )

    day: Mapped[dt.date] = mapped_column(sa.Date, unique=True, nullable=False)
    ran_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow, index=True)
    stripe_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)  # balance transactions
    ledger_count: Mapped[int] = mapped_column(
        sa.Integer, nullable=False, default=0
    )  # Stripe ids in the ledger
    matched_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    difference_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    # The sum of each difference's size (Stripe's amount against the ledger's, missing side counted as 0).
    total_difference_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    # [{"what", "stripe_id", "stripe_cents", "ledger_cents", "detail"}, ...] (see payouts.reports.Difference)
    differences: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, nullable=False, default=list)
    # The manager was e-mailed these differences (never twice for one day).
    mailed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
