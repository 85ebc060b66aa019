"""Audit events. Written by services next to the change they record, in the same transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.database import BigIntId, IdMixin, UTCDateTime, utcnow
from app.extensions import db


class AuditEvent(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_subject", "subject_type", "subject_id", "created_at"),)

    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    # None when the system acted (a webhook, a scheduled job).
    actor_id: Mapped[int | None] = mapped_column(BigIntId, sa.ForeignKey("users.id", ondelete="SET NULL"))
    subject_type: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    subject_id: Mapped[int] = mapped_column(BigIntId, nullable=False)
    action: Mapped[str] = mapped_column(sa.String(60), nullable=False)
    reason: Mapped[str | None] = mapped_column(sa.Text)
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)

    actor: Mapped[User | None] = relationship()
