"""Jobs of the orders. Each is safe to run twice; ``flask cron`` runs them on a schedule."""

from __future__ import annotations

import logging

import click
from flask.cli import AppGroup

from app.extensions import db
from app.orders import services
from payouts import gateway

log = logging.getLogger(__name__)

orders_cli = AppGroup("orders", help="Orders.")


def release_expired() -> int:
    """Give back the stock of orders not paid in time; the number released.

    Each order is committed on its own: one that Stripe cannot answer for now waits for the next run.
    """
    released = 0
    for order_id in services.expired_order_ids():
        order = services.lock_for_expiry(order_id)
        if order is None:
            continue
        try:
            services.expire(order)
        except gateway.StripeError as error:
            db.session.rollback()
            log.warning("order %s not released yet: %s", order.number, error)
            continue
        db.session.commit()
        released += 1
    if released:
        log.info("%d unpaid orders released", released)
    return released


def complete_received() -> int:
    """Close the parts whose withdrawal window has passed."""
    done = services.advance_completed()
    db.session.commit()
    return done


# What ``flask cron`` schedules, every so many seconds.
SCHEDULE = ((release_expired, 300), (complete_received, 3600))


@orders_cli.command("release-expired")
def release_expired_command() -> None:
    """Release the stock of orders past their payment window (``flask cron`` runs it every 5 minutes)."""
    click.echo(f"{release_expired()} orders released")


@orders_cli.command("complete")
def complete_command() -> None:
    """Mark completed the parts whose withdrawal window has passed (``flask cron`` runs it hourly)."""
    click.echo(f"{complete_received()} orders completed")
