"""Jobs of the orders. Each is safe to run twice."""

from __future__ import annotations

import logging

import click
from flask.cli import AppGroup

from app.extensions import db
from app.orders import services

log = logging.getLogger(__name__)

orders_cli = AppGroup("orders", help="Orders.")


def release_expired() -> int:
    """Give back the stock of orders not paid in time; the number released."""
    released = 0
    for order in list(services.expired_orders()):
        services.release(order)
        released += 1
    db.session.commit()
    if released:
        log.info("%d unpaid orders released", released)
    return released


@orders_cli.command("release-expired")
def release_expired_command() -> None:
    """Release the stock of orders past their payment window (run it every few minutes)."""
    click.echo(f"{release_expired()} orders released")
