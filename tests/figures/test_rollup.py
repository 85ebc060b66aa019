"""The daily rollup: the town's days, recomputed as often as wanted with the same result, by the job,
the command and at the same time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa
import time_machine
from flask import Flask

from app import jobs
from app.cart.models import DeliveryMethod
from app.extensions import db
from app.figures import tasks
from app.figures.models import Dimension, FigureBreakdown, FigureDay
from tests.factories import ShopFactory, UserFactory
from tests.figures.support import paid_order, rollup
from tests.plugins.application import at_once, own_database_app
from tests.plugins.services import Services

DAY = dt.date(2026, 11, 20)
NOON = dt.datetime(2026, 11, 20, 11, 0, tzinfo=dt.UTC)  # 12:00 in the town


def _rows(day: dt.date) -> list[tuple[object, ...]]:
    return [
        tuple(row)
        for row in db.session.execute(
            sa.select(
                FigureDay.shop_id,
                FigureDay.category_id,
                FigureDay.orders,
                FigureDay.items,
                FigureDay.gmv_cents,
                FigureDay.refunds_cents,
                FigureDay.withdrawals,
                FigureDay.commission_cents,
            )
            .where(FigureDay.day == day)
            .order_by(FigureDay.shop_id)
        )
    ]


def _breakdown(day: dt.date, dimension: str) -> dict[str, int]:
    query = sa.select(FigureBreakdown.key, FigureBreakdown.orders).where(
        FigureBreakdown.day == day, FigureBreakdown.dimension == dimension
    )
    return dict(db.session.execute(query).all())


def test_a_day_is_rolled_up_per_shop_and_again_with_the_same_result(app_ctx: Flask) -> None:
    florist, baker = ShopFactory(), ShopFactory()
    anne, paul = UserFactory(), UserFactory()
    paid_order(
        anne.id,
        florist,
        at=NOON,
        prices=(1250, 800),
        delivery_cents=490,
        method=DeliveryMethod.LOCAL_DELIVERY,
    )
    paid_order(paul.id, florist, at=NOON + dt.timedelta(hours=6), prices=(3000,), postcode="75011")
    paid_order(paul.id, baker, at=NOON, prices=(450,))
    paid_order(paul.id, baker, at=NOON + dt.timedelta(days=1), prices=(999,))  # the next day

    assert rollup(DAY) == 1
    first = _rows(DAY)
    # 10 % commission on the goods (the default rate), rounded once per part.
    assert first == [
        (florist.id, florist.category_id, 2, 3, 1250 + 800 + 490 + 3000, 0, 0, 205 + 300),
        (baker.id, baker.category_id, 1, 1, 450, 0, 0, 45),
    ]
    assert _breakdown(DAY, Dimension.HOUR) == {"12": 2, "18": 1}
    assert _breakdown(DAY, Dimension.POSTCODE) == {"37000": 2, "75011": 1}
    assert _breakdown(DAY, Dimension.DELIVERY) == {"local_delivery": 1, "click_collect": 2}

    assert rollup(DAY) == 1
    assert _rows(DAY) == first
    assert db.session.scalar(sa.select(sa.func.count()).select_from(FigureDay)) == 2

    # A late order of the day: the day recomputed counts it; the next day is left as it was.
    rollup(DAY + dt.timedelta(days=1))
    next_day = _rows(DAY + dt.timedelta(days=1))
    paid_order(anne.id, baker, at=NOON + dt.timedelta(hours=2), prices=(200,))
    rollup(DAY)
    assert _rows(DAY)[1] == (baker.id, baker.category_id, 2, 2, 650, 0, 0, 65)
    assert _rows(DAY + dt.timedelta(days=1)) == next_day


def test_days_are_the_towns(app_ctx: Flask) -> None:
    shop, shopper = ShopFactory(), UserFactory()
    # 23:30 UTC on the 20th is 00:30 on the 21st in Paris.
    paid_order(shopper.id, shop, at=dt.datetime(2026, 11, 20, 23, 30, tzinfo=dt.UTC))
    rollup(DAY, DAY + dt.timedelta(days=1))
    assert _rows(DAY) == []
    assert len(_rows(DAY + dt.timedelta(days=1))) == 1
    assert _breakdown(DAY + dt.timedelta(days=1), Dimension.HOUR) == {"00": 1}


def test_a_day_without_sales_leaves_no_row_and_clears_old_ones(app_ctx: Flask) -> None:
    shop = ShopFactory()
    db.session.add(
        FigureDay(
            day=DAY,
            shop_id=shop.id,
            orders=3,
            items=3,
            gmv_cents=100,
            refunds_cents=0,
            withdrawals=0,
            commission_cents=10,
        )
    )
    db.session.commit()
    rollup(DAY)
    assert _rows(DAY) == []


def test_the_command_recomputes_a_range_and_refuses_an_inverted_one(app: Flask, app_ctx: Flask) -> None:
    shop, shopper = ShopFactory(), UserFactory()
    paid_order(shopper.id, shop, at=NOON)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["figures", "rollup", "--from", "2026-11-19", "--to", "2026-11-21"])
    assert result.exit_code == 0, result.output
    assert "3 days" in result.output
    assert len(_rows(DAY)) == 1
    result = runner.invoke(args=["figures", "rollup", "--from", "2026-11-21", "--to", "2026-11-19"])
    assert result.exit_code != 0
    result = runner.invoke(args=["figures", "rollup", "--from", "le 19"])
    assert result.exit_code != 0


def test_the_hourly_job_recomputes_today_and_yesterday(app_ctx: Flask) -> None:
    shop, shopper = ShopFactory(), UserFactory()
    paid_order(shopper.id, shop, at=NOON)
    paid_order(shopper.id, shop, at=NOON + dt.timedelta(days=1))
    assert (tasks.rollup_recent, 3600) in jobs.schedule()
    with time_machine.travel(NOON + dt.timedelta(days=1, hours=1), tick=False):
        assert tasks.rollup_recent() == 2
    assert len(_rows(DAY)) == len(_rows(DAY + dt.timedelta(days=1))) == 1


def test_rollups_of_a_day_at_once_wait_for_each_other(services: Services, tmp_path: Path) -> None:
    """Without the day's lock, two runs would both delete nothing and both insert: a duplicate key."""
    with own_database_app(services, tmp_path, "figures_race") as application:
        shop, shopper = ShopFactory(), UserFactory()
        paid_order(shopper.id, shop, at=NOON, prices=(700,))
        shop_id, category_id = shop.id, shop.category_id
        at_once(application, tasks.rollup_range, [(DAY, DAY)] * 4)
        db.session.expire_all()
        assert _rows(DAY) == [(shop_id, category_id, 1, 1, 700, 0, 0, 70)]
