"""Shops, their people, opening hours, delivery options and relay points."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import permissions
from app.accounts.models import User
from app.catalog.models import Category
from app.database import BigIntId, IdMixin, TimestampMixin, UTCDateTime, str_enum
from app.extensions import db


class ShopStatus(enum.StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class MemberRole(enum.StrEnum):
    OWNER = "owner"
    STAFF = "staff"


class VatRegime(enum.StrEnum):
    """How the shop accounts for VAT; a shop under the franchise charges none."""

    NORMAL = "reel_normal"
    SIMPLIFIED = "reel_simplifie"
    FRANCHISE = "franchise"


class SellerKind(enum.StrEnum):
    """Who sells, as DAC7 reports it: a company (entity) or a person in their own name."""

    COMPANY = "company"
    INDIVIDUAL = "individual"


shop_relay_points = sa.Table(
    "shop_relay_points",
    db.metadata,
    sa.Column("shop_id", BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("relay_point_id", BigIntId, sa.ForeignKey("relay_points.id"), primary_key=True),
)


class Shop(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "shops"
    __table_args__ = (
        sa.CheckConstraint("country IN ('FR', 'BE')", name="country_supported"),
        sa.CheckConstraint("latitude IS NULL OR (latitude BETWEEN -90 AND 90)", name="latitude_range"),
        sa.CheckConstraint("longitude IS NULL OR (longitude BETWEEN -180 AND 180)", name="longitude_range"),
        sa.CheckConstraint("click_collect_prep_minutes >= 0", name="prep_minutes_positive"),
        sa.CheckConstraint("local_delivery_fee_cents >= 0", name="local_fee_positive"),
        sa.CheckConstraint(
            "local_delivery_free_over_cents IS NULL OR local_delivery_free_over_cents > 0",
            name="free_over_positive",
        ),
        sa.CheckConstraint("home_delivery_fee_cents >= 0", name="home_fee_positive"),
        sa.CheckConstraint("return_days >= 14", name="return_days_legal_minimum"),
    )

    slug: Mapped[str] = mapped_column(sa.String(60), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    status: Mapped[ShopStatus] = mapped_column(
        str_enum(ShopStatus, "shop_status"), nullable=False, default=ShopStatus.DRAFT, index=True
    )
    category_id: Mapped[int | None] = mapped_column(BigIntId, sa.ForeignKey("categories.id"), index=True)
    story: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    logo_path: Mapped[str | None] = mapped_column(sa.String(255))
    banner_path: Mapped[str | None] = mapped_column(sa.String(255))

    # Address and contact
    street: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    postcode: Mapped[str] = mapped_column(sa.String(10), nullable=False, default="")
    city: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    country: Mapped[str] = mapped_column(sa.String(2), nullable=False, default="FR")
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)
    phone: Mapped[str] = mapped_column(sa.String(30), nullable=False, default="")
    email: Mapped[str] = mapped_column(sa.String(254), nullable=False, default="")

    # Delivery options (amounts in cents, tax included)
    click_collect: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    click_collect_prep_minutes: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=120)
    local_delivery: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    local_delivery_postcodes: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    local_delivery_fee_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    local_delivery_free_over_cents: Mapped[int | None] = mapped_column(sa.BigInteger)
    home_delivery: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    home_delivery_fee_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False, default=0)
    relay: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)

    # Returns: the legal minimum is 14 days; a shop may offer more.
    return_days: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=14)
    return_policy: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")

    # Legal details (shown on the storefront and invoices, as French law requires)
    legal_name: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    # SIRET (France, 14 digits) or enterprise number (Belgium, 10 digits), as the country says.
    registration_number: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")
    vat_number: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")
    vat_regime: Mapped[VatRegime | None] = mapped_column(str_enum(VatRegime, "vat_regime"))
    trade_register: Mapped[str] = mapped_column(sa.String(120), nullable=False, default="")
    # What the platform must know of each seller under DAC7 (CGI art. 1649 ter A); a company's name,
    # address and VAT number are the legal details above.
    seller_kind: Mapped[SellerKind | None] = mapped_column(str_enum(SellerKind, "seller_kind"))
    seller_first_name: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    seller_last_name: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    seller_birth_date: Mapped[dt.date | None] = mapped_column(sa.Date)
    seller_birth_city: Mapped[str] = mapped_column(sa.String(100), nullable=False, default="")
    seller_birth_country: Mapped[str] = mapped_column(sa.String(2), nullable=False, default="")
    # The tax identification number: SIREN or BCE number of a company, a person's numéro fiscal.
    tax_number: Mapped[str] = mapped_column(sa.String(20), nullable=False, default="")
    # The IBAN of the Stripe account's payout bank account, masked as Stripe shows it ("FR76 … 2606").
    payout_account_masked: Mapped[str] = mapped_column(sa.String(40), nullable=False, default="")
    # Reminders sent while DAC7 data is missing; after two, payouts are withheld until it is given.
    dac7_reminders: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    dac7_reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    payouts_withheld_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    terms_accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    terms_version: Mapped[str | None] = mapped_column(sa.String(20))

    # Review by the town manager
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    approved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    status_reason: Mapped[str | None] = mapped_column(sa.Text)

    # Stripe Connect (Express). Kept in sync by the account.updated webhook.
    stripe_account_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    stripe_charges_enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    stripe_payouts_enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    stripe_details_submitted: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    stripe_requirements: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    stripe_disabled_reason: Mapped[str | None] = mapped_column(sa.String(120))
    stripe_synced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Set while the shop's subscription is unpaid past the grace period: the storefront is hidden
    # (nothing is deleted) until it pays.
    billing_hidden_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    category: Mapped[Category | None] = relationship()
    members: Mapped[list[ShopMember]] = relationship(back_populates="shop", cascade="all, delete-orphan")
    opening_hours: Mapped[list[OpeningHours]] = relationship(
        back_populates="shop",
        cascade="all, delete-orphan",
        order_by="(OpeningHours.weekday, OpeningHours.opens_at)",
    )
    closures: Mapped[list[Closure]] = relationship(
        back_populates="shop", cascade="all, delete-orphan", order_by="Closure.starts_on"
    )
    relay_points: Mapped[list[RelayPoint]] = relationship(
        secondary=shop_relay_points, order_by="RelayPoint.name"
    )

    @hybrid_property
    def is_public(self) -> bool:
        """Open to shoppers: approved, and not hidden for an unpaid subscription."""
        return self.status == ShopStatus.APPROVED and self.billing_hidden_at is None

    @is_public.inplace.expression
    @classmethod
    def _is_public_expression(cls) -> sa.ColumnElement[bool]:
        return sa.and_(cls.status == ShopStatus.APPROVED, cls.billing_hidden_at.is_(None))

    @property
    def is_french(self) -> bool:
        return self.country == "FR"

    @property
    def postcode_zone(self) -> list[str]:
        return self.local_delivery_postcodes.split()

    @property
    def delivery_methods(self) -> list[str]:
        flags = {
            "click_collect": self.click_collect,
            "local_delivery": self.local_delivery,
            "home_delivery": self.home_delivery,
            "relay": self.relay,
        }
        return [method for method, offered in flags.items() if offered]

    @property
    def payouts_ready(self) -> bool:
        return bool(self.stripe_account_id and self.stripe_payouts_enabled)

    def __repr__(self) -> str:
        return f"<Shop {self.slug} {self.status}>"


class ShopMember(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A person working for a shop. Owners manage staff, legal details and payouts."""

    __tablename__ = "shop_members"
    __table_args__ = (sa.UniqueConstraint("shop_id", "user_id"),)

    shop_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    role: Mapped[MemberRole] = mapped_column(str_enum(MemberRole, "member_role"), nullable=False)

    shop: Mapped[Shop] = relationship(back_populates="members")
    user: Mapped[User] = relationship()

    @property
    def is_owner(self) -> bool:
        return self.role == MemberRole.OWNER

    @property
    def actor(self) -> permissions.Actor:
        return MEMBER_ACTORS[self.role]

    def may(self, permission: permissions.Permission | str) -> bool:
        """Whether the permission table lets this member do ``permission`` in this shop."""
        return permissions.allows(self.actor, permission)


MEMBER_ACTORS = {MemberRole.OWNER: permissions.Actor.OWNER, MemberRole.STAFF: permissions.Actor.STAFF}


class StaffInvitation(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """An invitation by e-mail to join a shop; accepted once, through a signed link."""

    __tablename__ = "staff_invitations"

    shop_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False, index=True
    )
    email: Mapped[str] = mapped_column(sa.String(254), nullable=False)
    role: Mapped[MemberRole] = mapped_column(str_enum(MemberRole, "member_role"), nullable=False)
    invited_by_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    accepted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    shop: Mapped[Shop] = relationship()
    invited_by: Mapped[User | None] = relationship()


class OpeningHours(IdMixin, db.Model):  # type: ignore[name-defined]
    """One opening interval of a weekday (0 = Monday); a day may have several (morning, afternoon)."""

    __tablename__ = "shop_opening_hours"
    __table_args__ = (
        sa.CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        sa.CheckConstraint("opens_at < closes_at", name="opens_before_closing"),
    )

    shop_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False, index=True
    )
    weekday: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)
    opens_at: Mapped[dt.time] = mapped_column(sa.Time, nullable=False)
    closes_at: Mapped[dt.time] = mapped_column(sa.Time, nullable=False)

    shop: Mapped[Shop] = relationship(back_populates="opening_hours")


class Closure(IdMixin, db.Model):  # type: ignore[name-defined]
    """Days the shop is closed outside its weekly hours: holidays, inventory, a public holiday."""

    __tablename__ = "shop_closures"
    __table_args__ = (sa.CheckConstraint("starts_on <= ends_on", name="dates_in_order"),)

    shop_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False, index=True
    )
    starts_on: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    ends_on: Mapped[dt.date] = mapped_column(sa.Date, nullable=False)
    label: Mapped[str] = mapped_column(sa.String(120), nullable=False, default="")

    shop: Mapped[Shop] = relationship(back_populates="closures")


class RelayPoint(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A parcel relay point the town manager lists; shops choose the ones they deliver to."""

    __tablename__ = "relay_points"

    name: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    street: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    postcode: Mapped[str] = mapped_column(sa.String(10), nullable=False)
    city: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)
    opening_notes: Mapped[str] = mapped_column(sa.String(300), nullable=False, default="")
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    @property
    def active(self) -> bool:
        return self.archived_at is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "street": self.street,
            "postcode": self.postcode,
            "city": self.city,
        }
