"""A generated month of the demo town (app/orders/demo_history.py): the dashboard's sales, refunds and
commission equal the ledger's own sums to the cent, and its order counts those of the orders."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from app.extensions import db
from app.figures import services, tasks
from app.orders import demo_history
from app.orders.models import Order, VendorOrder, VendorOrderStatus
from payouts import ledger
from payouts.models import TransactionKind
from tests.orders.test_demo_history import _today, small_data, town  # noqa: F401 - fixtures
from vendors.models import Shop


def test_a_generated_month_agrees_with_the_ledger(town: Path) -> None:  # noqa: F811 - the fixture
    today = _today()
    start, end = today - dt.timedelta(days=60), today - dt.timedelta(days=31)
    report = demo_history.generate_history(start, end, 6, seed=11)
    assert report.orders > 100
    # Every refund and withdrawal of those orders happens before today: the range holds their story.
    tasks.rollup_range(start, today)
    totals = services.town_totals(start, today)

    shop_ids = list(db.session.scalars(sa.select(Shop.id)))
    sales = sum(ledger.totals_by_kind(ledger.pending(shop)).get(TransactionKind.SALE, 0) for shop in shop_ids)
    refunds = -ledger.totals_by_kind(ledger.STRIPE).get(TransactionKind.REFUND, 0)
    assert (totals.gmv_cents, totals.refunds_cents, totals.commission_cents) == (
        sales,
        refunds,
        ledger.balance(ledger.COMMISSION),
    )
    assert refunds > 0
    paid_parts = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(VendorOrder)
        .join(Order, Order.id == VendorOrder.order_id)
        .where(VendorOrder.status != VendorOrderStatus.PENDING_PAYMENT, Order.paid_at.is_not(None))
    )
    assert totals.orders == paid_parts
