"""Jobs of payouts, run on a schedule by ``flask cron``; each is safe to run twice."""

from __future__ import annotations

import logging

import click
from flask.cli import AppGroup

from app.extensions import db
from payouts import services, subscriptions

log = logging.getLogger(__name__)

payouts_cli = AppGroup("payouts", help="Transfers to shops, subscriptions.")


def transfer_due() -> int:
    """Release and transfer every shop part due (delivered, past the hold), and retry the waiting and
    failed ones; each in its own transaction, so one refusal never holds up the others."""
    done = 0
    for vendor_order_id in services.due_parts() + services.retry_parts():
        try:
            services.pay_out(vendor_order_id)
        except Exception:
            db.session.rollback()
            log.exception("transfer of vendor order %d", vendor_order_id)
            continue
        db.session.commit()
        done += 1
    return done


def enforce_billing() -> int:
    """Hide the storefronts of shops whose subscription is unpaid past the grace period."""
    hidden = subscriptions.hide_unpaid()
    db.session.commit()
    return hidden


SCHEDULE = ((transfer_due, 3600), (enforce_billing, 3600))


@payouts_cli.command("transfer")
def transfer_command() -> None:
    """Transfer to shops what is due (``flask cron`` runs it hourly)."""
    click.echo(f"{transfer_due()} shop parts handled")


@payouts_cli.command("billing")
def billing_command() -> None:
    """Hide storefronts unpaid past the grace period (``flask cron`` runs it hourly)."""
    click.echo(f"{enforce_billing()} storefronts hidden")
