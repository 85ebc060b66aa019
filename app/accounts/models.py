"""People and their credentials."""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.database import BigIntId, IdMixin, TimestampMixin, UTCDateTime, str_enum
from app.extensions import db


class Role(enum.StrEnum):
    """What a person may do on the platform as a whole. Shop roles (owner, staff) live in vendors."""

    SHOPPER = "shopper"
    MANAGER = "manager"


class User(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint("email = lower(email)", name="email_lowercase"),
        sa.CheckConstraint("locale IN ('fr', 'en')", name="locale_supported"),
    )

    email: Mapped[str] = mapped_column(sa.String(254), unique=True, nullable=False)
    password_hash: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    first_name: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    last_name: Mapped[str] = mapped_column(sa.String(80), nullable=False)
    locale: Mapped[str] = mapped_column(sa.String(5), nullable=False, default="fr")
    role: Mapped[Role] = mapped_column(str_enum(Role, "user_role"), nullable=False, default=Role.SHOPPER)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    email_confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The generation of the account's sessions: sessions and "remember me" cookies carry it, and it
    # changes on a password change or reset and on "log out everywhere", which logs every device out.
    session_token: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    # Two-factor authentication (TOTP). The secret is set at enrolment and kept only once confirmed.
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_enabled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The last TOTP time step accepted, so a code cannot be replayed within its window.
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)
    # GDPR: when the account was erased (closed, its personal data pseudonymised; the row stays because
    # orders and invoices point at it), and when it was warned that it would be, for lack of activity.
    erased_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    inactivity_warned_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    recovery_codes: Mapped[list[RecoveryCode]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="RecoveryCode.id"
    )

    @property
    def session_key(self) -> str | None:
        """The key of the login session this object was loaded for (not a column): Flask-Login stores
        ``get_id()`` in the session and the remember cookie, so it names that one session."""
        return self.__dict__.get("_login_session_key")

    @session_key.setter
    def session_key(self, key: str | None) -> None:
        self.__dict__["_login_session_key"] = key

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}:{self.session_key or ''}"

    @property
    def is_manager(self) -> bool:
        return self.role == Role.MANAGER

    @property
    def email_confirmed(self) -> bool:
        return self.email_confirmed_at is not None

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def two_factor_required(self) -> bool:
        """Managers act for the whole town: they must use a second factor."""
        return self.is_manager

    @property
    def display_name(self) -> str:
        """First name and initial: how a person is shown to others (reviews, shops). An erased account
        whose reviews were kept is shown as "Client vérifié"."""
        if self.erased_at is not None:
            return str(_l("Client vérifié"))
        initial = f" {self.last_name[:1]}." if self.last_name else ""
        return f"{self.first_name}{initial}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class RecoveryCode(IdMixin, db.Model):  # type: ignore[name-defined]
    """A single-use code that replaces the second factor when the phone is lost. Stored hashed."""

    __tablename__ = "recovery_codes"

    user_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    code_hash: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(back_populates="recovery_codes")


class LoginSession(IdMixin, db.Model):  # type: ignore[name-defined]
    """One device's log-in. Logging out deletes it, so a copied session or remember-me cookie stops
    working too; the random key is in the cookie, only its hash here."""

    __tablename__ = "login_sessions"

    user_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)


class Address(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A delivery address a shopper saved at checkout, offered again next time."""

    __tablename__ = "addresses"

    user_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    full_name: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    street: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    postcode: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    city: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    country: Mapped[str] = mapped_column(sa.String(2), nullable=False, default="FR")
    phone: Mapped[str] = mapped_column(sa.String(30), nullable=False, default="")
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    def __str__(self) -> str:
        return f"{self.full_name}, {self.street}, {self.postcode} {self.city}"


class ExportStatus(enum.StrEnum):
    PENDING = "pending"  # the job has not built the archive yet
    READY = "ready"  # the archive is stored and its link mailed
    FAILED = "failed"
    DELETED = "deleted"  # expired: the archive is gone, the row says when it was asked for


class PersonalDataExport(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A person's request for a copy of their data (GDPR articles 15 and 20): a ZIP archive built by a
    job, kept privately and downloadable by them alone through a signed link, until ``expires_at``."""

    __tablename__ = "personal_data_exports"

    user_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    status: Mapped[ExportStatus] = mapped_column(
        str_enum(ExportStatus, "data_export_status"), nullable=False, default=ExportStatus.PENDING
    )
    # The archive's key in the private store (a random name), once built.
    file_key: Mapped[str | None] = mapped_column(sa.String(255))
    size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    ready_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), index=True)

    user: Mapped[User] = relationship()
