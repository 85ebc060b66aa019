"""The API's periodic job: forget the idempotency answers past their 24 hours (safe to run twice)."""

from __future__ import annotations

from api import services
from app.extensions import db


def purge_idempotency_records() -> int:
    """Delete the expired records; how many went."""
    purged = services.purge_idempotency_records()
    db.session.commit()
    return purged


SCHEDULE = ((purge_idempotency_records, 3600),)
