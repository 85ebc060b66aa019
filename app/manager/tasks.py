"""Jobs of the console. Each is safe to run twice; ``flask cron`` runs the scheduled ones."""

from __future__ import annotations

import logging

from flask import current_app, has_request_context

from app.extensions import db
from app.manager import services

log = logging.getLogger(__name__)


def mail_announcement(announcement_id: int) -> int:
    """E-mail one announcement to the shops not mailed it yet; the number of shops mailed."""
    if not has_request_context():
        # Links in the mail are absolute and the templates read the request's globals.
        with current_app.test_request_context("/"):
            return mail_announcement(announcement_id)
    sent = services.mail_announcement(announcement_id)
    db.session.commit()
    if sent:
        log.info("announcement %d mailed to %d shops", announcement_id, sent)
    return sent


def send_due_announcements() -> int:
    """Mail the announcements whose start has come (those published to start later)."""
    return sum(mail_announcement(announcement_id) for announcement_id in services.due_announcements())


# What ``flask cron`` schedules, every so many seconds.
SCHEDULE = ((send_due_announcements, 900),)
