"""Jobs of the figures: the hourly rollup of today and yesterday, and ``flask figures rollup`` to
recompute any range of days. Each day is written in its own transaction; safe to run twice, and at
the same time (a day's rollup waits for another one of the same day)."""

from __future__ import annotations

import datetime as dt
import logging

import click
from flask.cli import AppGroup

from app.extensions import db
from app.figures import services

log = logging.getLogger(__name__)

figures_cli = AppGroup("figures", help="The town's figures: daily rollups.")


def rollup_range(start: dt.date, end: dt.date) -> int:
    """Recompute every day from ``start`` to ``end``; one commit per day. Returns the days done."""
    done = 0
    for day in services.days(start, end):
        try:
            services.rollup_day(day)
        except Exception:
            db.session.rollback()
            log.exception("figures rollup of %s", day)
            raise
        db.session.commit()
        done += 1
    return done


def rollup_recent() -> int:
    """Today and yesterday (a late refund or payment of yesterday is counted in the next hour)."""
    today = services.today()
    return rollup_range(today - dt.timedelta(days=1), today)


SCHEDULE = ((rollup_recent, 3600),)


@figures_cli.command("rollup")
@click.option("--from", "start", type=click.DateTime(formats=["%Y-%m-%d"]), help="First day (YYYY-MM-DD).")
@click.option("--to", "end", type=click.DateTime(formats=["%Y-%m-%d"]), help="Last day (YYYY-MM-DD).")
def rollup_command(start: dt.datetime | None, end: dt.datetime | None) -> None:
    """Recompute the daily figures of a range of days (yesterday and today by default)."""
    today = services.today()
    last = end.date() if end else today
    first = start.date() if start else (last - dt.timedelta(days=1) if end else today - dt.timedelta(days=1))
    if first > last:
        raise click.BadParameter("--from is after --to", param_hint="--from")
    if (last - first).days > 366 * 20:
        raise click.BadParameter("at most twenty years at once", param_hint="--from")
    click.echo(f"{rollup_range(first, last)} days recomputed ({first} to {last})")
