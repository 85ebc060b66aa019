"""Recording and reading audit events."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.accounts.models import User
from app.audit.models import AuditEvent
from app.extensions import db


def record(
    actor: User | None,
    subject_type: str,
    subject_id: int,
    action: str,
    reason: str | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the current transaction (it commits with the change it describes)."""
    event = AuditEvent(
        actor=actor,
        subject_type=subject_type,
        subject_id=subject_id,
        action=action,
        reason=reason,
        details=details,
    )
    db.session.add(event)
    return event


def history(subject_type: str, subject_id: int) -> list[AuditEvent]:
    """Newest first."""
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        )
    )
