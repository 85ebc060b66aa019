"""Jobs of the accounts: building a personal data export, and the retention rules of the register of
processing (inactive accounts, guests' carts, expired tokens, the mail log, expired exports).

Each takes ids or nothing, commits its own work and is safe to run twice: a second run finds nothing
left to do. ``flask cron`` runs the retention rules daily; ``flask users retention`` runs them once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import current_app, has_request_context

from app.accounts import personal_data
from app.extensions import db

log = logging.getLogger(__name__)

DAY_SECONDS = 24 * 3600


def build_data_export(export_id: int) -> bool:
    """Build one requested export and mail its link (the mail's templates read a request)."""
    if not has_request_context():
        with current_app.test_request_context("/"):
            return build_data_export(export_id)
    built = personal_data.build_export(export_id)
    db.session.commit()
    return built


def _run(rule: Callable[[], int], name: str) -> int:
    if not has_request_context():
        with current_app.test_request_context("/"):
            return _run(rule, name)
    count = rule()
    db.session.commit()
    if count:
        log.info("retention %s: %d", name, count)
    return count


def warn_inactive_accounts() -> int:
    return _run(personal_data.warn_inactive_accounts, "inactive accounts warned")


def erase_inactive_accounts() -> int:
    return _run(personal_data.erase_inactive_accounts, "inactive accounts erased")


def purge_guest_carts() -> int:
    return _run(personal_data.purge_guest_carts, "guest carts purged")


def purge_expired_tokens() -> int:
    return _run(personal_data.purge_expired_tokens, "expired tokens purged")


def prune_mail_log() -> int:
    return _run(personal_data.prune_mail_log, "mail log entries pruned")


def delete_expired_exports() -> int:
    return _run(personal_data.delete_expired_exports, "expired exports deleted")


RETENTION_RULES = (
    warn_inactive_accounts,
    erase_inactive_accounts,
    purge_guest_carts,
    purge_expired_tokens,
    prune_mail_log,
    delete_expired_exports,
)

# What ``flask cron`` schedules, every so many seconds.
SCHEDULE = tuple((rule, DAY_SECONDS) for rule in RETENTION_RULES)
