"""Jobs of the reviews. Each is safe to run twice; ``flask cron`` runs them on a schedule."""

from __future__ import annotations

import logging

import click
from flask import current_app, has_request_context
from flask.cli import AppGroup

from app.extensions import db
from app.reviews import services

log = logging.getLogger(__name__)

reviews_cli = AppGroup("reviews", help="Reviews.")


def send_requests() -> int:
    """E-mail "how was it?" to the buyers of parts received a few days ago; the number sent.

    Each part is committed on its own with its request row, so a part is never asked twice.
    """
    if not has_request_context():
        # Links in the mail are absolute: SERVER_NAME (or a local default) gives their host.
        with current_app.test_request_context("/"):
            return send_requests()
    sent = 0
    for part in services.due_requests():
        if services.send_request(part):
            sent += 1
        db.session.commit()
    if sent:
        log.info("%d review requests sent", sent)
    return sent


# What ``flask cron`` schedules, every so many seconds.
SCHEDULE = ((send_requests, 3600),)


@reviews_cli.command("send-requests")
def send_requests_command() -> None:
    """E-mail the review link to buyers who received their order a few days ago (hourly under cron)."""
    click.echo(f"{send_requests()} review requests sent")
