"""Audit events, and the e-mails sent. Written next to the change they record, in the same transaction."""

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


class SentEmail(IdMixin, db.Model):  # type: ignore[name-defined]
    """One e-mail handed to delivery by ``app.mail.send``: to whom, which template, in which language and
    about which order. The rendering context is not kept (it may hold a pickup code or a sign-in link): a
    resend renders the template again from the order as it is now."""

    __tablename__ = "sent_emails"

    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    recipient: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    subject: Mapped[str] = mapped_column(sa.String(300), nullable=False)
    # The template under ``templates/mail/`` (``orders/confirmation``...): it names the kind of message.
    template: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    locale: Mapped[str] = mapped_column(sa.String(5), nullable=False)
    # What the message is about, enough to render it again. No foreign keys: like the audit events, the
    # log outlives what it mentions and the core does not depend on the domains' tables.
    order_id: Mapped[int | None] = mapped_column(BigIntId, index=True)
    vendor_order_id: Mapped[int | None] = mapped_column(BigIntId)
    refund_id: Mapped[int | None] = mapped_column(BigIntId)
    # A resend's one-time key: the same request made twice (a double click) sends once.
    key: Mapped[str | None] = mapped_column(sa.String(80), unique=True)
