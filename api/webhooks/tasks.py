"""Jobs of the outbound webhooks; each takes ids, opens its own transactions and is safe to run twice.

``fan_out`` runs after each commit that recorded events (``listen``) and plans their deliveries;
``deliver`` makes one try of one delivery; ``retry_due``, every minute under ``flask cron``, sends the
tries that are due (retries, and tries lost with a worker) and plans any event left unplanned.
"""

from __future__ import annotations

import logging
from typing import Any

import click
from flask import current_app, has_app_context, has_request_context
from flask.cli import AppGroup
from sqlalchemy import event
from sqlalchemy.orm import Session

from api.webhooks import services
from app import jobs, metrics
from app.events import Event
from app.extensions import db

log = logging.getLogger(__name__)

webhooks_cli = AppGroup("webhooks", help="Outbound webhooks.")


def fan_out() -> int:
    """Plan the deliveries of every event not yet planned, a batch per transaction; the events planned."""
    planned = 0
    while True:
        count, _ = services.plan_batch()
        db.session.commit()
        if not count:
            return planned
        planned += count


def deliver(delivery_id: int) -> bool:
    """Make the delivery's next try if it is due; whether a request was sent."""
    if not has_request_context():
        # A disabling e-mail carries absolute links; render it as any request would.
        with current_app.test_request_context("/"):
            return deliver(delivery_id)
    taken = services.claim(delivery_id)
    db.session.commit()  # the try is ours before anything leaves: a second run finds it taken
    if taken is None:
        return False
    outcome = services.send(taken)
    services.record(taken, outcome)
    db.session.commit()
    if not outcome.ok:
        log.info(
            "webhook delivery %d try %d failed: %s",
            delivery_id,
            taken.number,
            outcome.status_code or outcome.error,
        )
    return True


def retry_due() -> int:
    """Enqueue the tries that are due, and plan events a lost job left unplanned; the tries enqueued."""
    fan_out()
    due = services.due_deliveries()
    for delivery_id in due:
        jobs.enqueue(deliver, delivery_id, queue=services.QUEUE)
    db.session.commit()
    return len(due)


def _events_recorded(session: Session, flush_context: Any) -> None:
    # Outside an app context (a bare script) the events wait for the periodic job.
    if has_app_context() and any(isinstance(instance, Event) for instance in session.new):
        jobs.enqueue_on(session, fan_out, queue=services.QUEUE, once=True)


def listen() -> None:
    """Plan deliveries after every commit that recorded events, and show the deliveries waiting in
    ``/metrics`` (idempotent)."""
    if not event.contains(Session, "after_flush", _events_recorded):
        event.listen(Session, "after_flush", _events_recorded)
    metrics.register_backlog_probe("webhook_deliveries", services.webhook_backlog)


def forget_old() -> int:
    """Forget the events and delivery log older than 90 days; how many events."""
    forgotten = 0
    while count := services.forget_old():
        db.session.commit()
        forgotten += count
    db.session.commit()
    return forgotten


# What ``flask cron`` schedules, every so many seconds.
SCHEDULE = ((retry_due, 60), (forget_old, 86400))


@webhooks_cli.command("retry")
def retry_command() -> None:
    """Send the webhook tries that are due (every minute under cron)."""
    click.echo(f"{retry_due()} webhook tries enqueued")
