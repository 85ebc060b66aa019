"""Jobs of the visit counters. Each is safe to run twice; ``flask cron`` runs them on a schedule."""

from __future__ import annotations

import logging

import click
from flask.cli import AppGroup

from app.extensions import db
from app.visits import counters, services

log = logging.getLogger(__name__)

visits_cli = AppGroup("visits", help="Visit counters.")


def flush() -> int:
    """Move the visit counts waiting in Redis into the database; the number of visits moved."""
    moved = services.flush()
    counters.forget_old_batches()
    db.session.commit()
    if moved:
        log.info("%d visits counted", moved)
    return moved


# What ``flask cron`` schedules, every so many seconds: the dashboards lag Redis by this much at most.
SCHEDULE = ((flush, 300),)


@visits_cli.command("flush")
def flush_command() -> None:
    """Move the visit counts waiting in Redis into the database (every 5 minutes under cron)."""
    click.echo(f"{flush()} visits counted")
