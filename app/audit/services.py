"""Recording and reading audit events and the log of e-mails sent."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy import orm

from app.accounts.models import User
from app.audit.models import AuditEvent, SentEmail
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


def trail(subjects: Iterable[tuple[str, int]]) -> list[AuditEvent]:
    """The events of several subjects (an order and its shop parts), oldest first, with their actors."""
    wanted = [
        sa.and_(AuditEvent.subject_type == kind, AuditEvent.subject_id == ident) for kind, ident in subjects
    ]
    if not wanted:
        return []
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(sa.or_(*wanted))
            .options(orm.joinedload(AuditEvent.actor))
            .order_by(AuditEvent.created_at, AuditEvent.id)
        )
    )


def record_email(
    recipient: str,
    subject: str,
    template: str,
    locale: str,
    *,
    order_id: int | None = None,
    vendor_order_id: int | None = None,
    refund_id: int | None = None,
) -> SentEmail:
    """Add an e-mail to the log of those sent (it commits with the change that sent it, as its delivery
    is enqueued after that commit)."""
    sent = SentEmail(
        recipient=recipient[:254],
        subject=subject[:300],
        template=template[:100],
        locale=locale[:5],
        order_id=order_id,
        vendor_order_id=vendor_order_id,
        refund_id=refund_id,
    )
    db.session.add(sent)
    return sent


def emails_about(order_id: int) -> list[SentEmail]:
    """The e-mails sent about an order, newest first."""
    return list(
        db.session.scalars(
            sa.select(SentEmail)
            .where(SentEmail.order_id == order_id)
            .order_by(SentEmail.sent_at.desc(), SentEmail.id.desc())
        )
    )
