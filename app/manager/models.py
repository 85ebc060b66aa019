"""What the console keeps of its own: reminders sent to shops and announcements to all of them."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.database import BigIntId, IdMixin, TimestampMixin, UTCDateTime, utcnow
from app.extensions import db


class FollowUpReminder(IdMixin, db.Model):  # type: ignore[name-defined]
    """A reminder e-mailed to a shop's owners about one follow-up list; at most one a day per list."""

    __tablename__ = "followup_reminders"
    __table_args__ = (sa.Index("ix_followup_reminders_shop_list", "shop_id", "list_name", "sent_at"),)

    shop_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False
    )
    list_name: Mapped[str] = mapped_column(sa.String(40), nullable=False)
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    sent_by_id: Mapped[int | None] = mapped_column(BigIntId, sa.ForeignKey("users.id", ondelete="SET NULL"))


class Announcement(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A message from the manager to every shop: e-mailed once to each approved shop's owners, and shown
    in the back office from ``starts_at`` until ``ends_at`` (open-ended when None)."""

    __tablename__ = "announcements"
    __table_args__ = (
        sa.CheckConstraint("ends_at IS NULL OR ends_at >= starts_at", name="ends_after_start"),
        sa.Index("ix_announcements_period", "starts_at", "ends_at"),
    )

    title: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    # When every approved shop had been mailed (the job sets it once done).
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    created_by: Mapped[User | None] = relationship()

    def current(self, now: dt.datetime) -> bool:
        return self.starts_at <= now and (self.ends_at is None or self.ends_at > now)


class AnnouncementDelivery(IdMixin, db.Model):  # type: ignore[name-defined]
    """One shop mailed one announcement: the row that makes a second run of the job mail no one twice."""

    __tablename__ = "announcement_deliveries"
    __table_args__ = (sa.UniqueConstraint("announcement_id", "shop_id"),)

    announcement_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("announcements.id", ondelete="CASCADE"), nullable=False
    )
    shop_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False, index=True
    )
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class AnnouncementDismissal(IdMixin, db.Model):  # type: ignore[name-defined]
    """A member closed an announcement's banner: it no longer shows in their back office of that shop."""

    __tablename__ = "announcement_dismissals"
    __table_args__ = (sa.UniqueConstraint("announcement_id", "member_id"),)

    announcement_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("announcements.id", ondelete="CASCADE"), nullable=False
    )
    member_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("shop_members.id", ondelete="CASCADE"), nullable=False, index=True
    )
    dismissed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
