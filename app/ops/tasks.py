"""Jobs of operations, run on a schedule by ``flask cron``; each is safe to run twice."""

from __future__ import annotations

import datetime as dt
import logging

from flask import current_app, has_request_context

from app.extensions import db
from app.ops import services

log = logging.getLogger(__name__)


def reconcile_yesterday(day: dt.date | None = None) -> int:
    """Reconcile the ledger with Stripe for the last town day (``services.day_to_reconcile``), keep the
    result and mail the managers any difference; the number of differences. Run again, the day's result
    is brought up to date and nobody is mailed twice."""
    if not has_request_context():
        # The mail's links are absolute and its templates read the request's globals.
        with current_app.test_request_context("/"):
            return reconcile_yesterday(day)
    run = services.record_reconciliation(day or services.day_to_reconcile())
    db.session.commit()
    if run.difference_count:
        log.warning(
            "reconciliation of %s: %d differences (%d cents)",
            run.day,
            run.difference_count,
            run.total_difference_cents,
        )
    return run.difference_count


# What ``flask cron`` schedules, every so many seconds: four times a day, so a missed night is caught up
# in a few hours; the same day again only refreshes its result.
SCHEDULE = ((reconcile_yesterday, 6 * 3600),)
