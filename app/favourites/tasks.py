"""Jobs of the favourites: the weekly e-mail. Safe to run twice; ``flask cron`` runs it every week."""

from __future__ import annotations

import logging

import click
from flask import current_app, has_request_context
from flask.cli import AppGroup

from app import jobs
from app.extensions import db
from app.favourites import services

log = logging.getLogger(__name__)

WEEK_SECONDS = 7 * 24 * 3600


def send_weekly_emails() -> int:
    """Queue one job per shopper who asked for the weekly e-mail; the number queued."""
    subscribers = services.subscribers()
    for user_id in subscribers:
        jobs.enqueue(send_weekly_email, user_id)
    db.session.commit()
    return len(subscribers)


def send_weekly_email(user_id: int) -> bool:
    """One shopper's weekly e-mail, committed with the week it was for: a second run that week sends
    nothing (the row is locked while the first one runs)."""
    if not has_request_context():
        # The templates' context processors (the header's badges) read a request.
        with current_app.test_request_context("/"):
            return send_weekly_email(user_id)
    sent = services.send_weekly(user_id)
    db.session.commit()
    if sent:
        log.info("weekly favourites e-mail sent to user %d", user_id)
    return sent


# What ``flask cron`` schedules, every so many seconds.
SCHEDULE = ((send_weekly_emails, WEEK_SECONDS),)


favourites_cli = AppGroup("favourites", help="Favourites.")


@favourites_cli.command("send-weekly")
def send_weekly_command() -> None:
    """Queue this week's e-mail of favourites (weekly under cron; run twice a week, it sends once)."""
    click.echo(f"{send_weekly_emails()} shoppers asked for the weekly e-mail")
