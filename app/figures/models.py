"""Daily rollups: what each shop sold on each day of the town's calendar, and how the town's orders
spread over hours, postcodes and delivery modes. Rebuilt from the orders and the ledger by
``services.rollup_day``; never edited by hand, so any day can be recomputed at any time."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.database import BigIntId
from app.extensions import db
from app.orders.models import Order
from payouts.models import LedgerTransaction


class FigureDay(db.Model):  # type: ignore[name-defined]
    """One shop's day (Europe/Paris). Money comes from the ledger, counts from the orders.

    ``category_id`` is the shop's trade on the day of the rollup (a bakery, a bookshop): sales per
    category add up the shops' days, so a shop moving to another category keeps its past days where
    they were counted.
    """

    __tablename__ = "figure_days"
    __table_args__ = (
        sa.CheckConstraint("orders >= 0 AND items >= 0 AND withdrawals >= 0", name="counts_not_negative"),
        sa.Index("ix_figure_days_shop_day", "shop_id", "day"),
    )

    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    shop_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    category_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("categories.id", ondelete="SET NULL")
    )
    orders: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)  # the shop's parts paid
    items: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)  # units on those parts
    # What shoppers paid for the shop's parts (goods and delivery, tax included): the ledger's sales.
    gmv_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    # Given back that day (a refund that failed later is taken off the day it failed).
    refunds_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    withdrawals: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)  # returns requested
    # The platform's commission, net of VAT and of what refunds gave back.
    commission_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)


class Dimension:
    HOUR = "hour"  # the hour (00-23) an order was paid, town time
    POSTCODE = "postcode"  # the order's delivery postcode
    DELIVERY = "delivery"  # a shop part's delivery method


class FigureBreakdown(db.Model):  # type: ignore[name-defined]
    """How many orders of a day fall under each key of a dimension: orders (checkouts) for the hour and
    the postcode, shop parts for the delivery method."""

    __tablename__ = "figure_breakdowns"
    __table_args__ = (sa.CheckConstraint("orders > 0", name="orders_positive"),)

    day: Mapped[dt.date] = mapped_column(sa.Date, primary_key=True)
    dimension: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    orders: Mapped[int] = mapped_column(sa.Integer, nullable=False)


# Indexes the rollup and the dashboard read through, on tables of other domains: one day's payments
# and ledger transactions are found without a scan, a period's shoppers by an index-only scan, and
# whether a shopper had paid before the period by one probe.
sa.Index("ix_orders_paid_at_user_id", Order.__table__.c.paid_at, Order.__table__.c.user_id)
sa.Index("ix_orders_user_id_paid_at", Order.__table__.c.user_id, Order.__table__.c.paid_at)
sa.Index("ix_ledger_transactions_occurred_at", LedgerTransaction.__table__.c.occurred_at)
