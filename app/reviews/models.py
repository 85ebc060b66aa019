"""Reviews, their past versions, photos, the shop's reply, reports, and the ratings summed up.

A review is written by the buyer of what it reviews, and nobody else: it points at the order line
(a product review) or at the shop's part of the order (a shop review) it comes from, and the
database keeps one review per line and one shop review per part.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.database import BigIntId, IdMixin, TimestampMixin, UTCDateTime, str_enum, utcnow
from app.extensions import db
from app.orders.models import OrderLine, VendorOrder
from vendors.models import Shop

TITLE_MAX = 120
BODY_MAX = 5000
REPLY_MAX = 2000


class ReviewKind(enum.StrEnum):
    PRODUCT = "product"  # one order line
    SHOP = "shop"  # one shop's part of an order: its service, delivery, welcome


class ReviewStatus(enum.StrEnum):
    PENDING = "pending"  # in the manager's queue (held by a check, or reported)
    PUBLISHED = "published"
    REJECTED = "rejected"


class RejectionReason(enum.StrEnum):
    ABUSIVE = "abusive"
    OFF_TOPIC = "off_topic"
    PERSONAL_DATA = "personal_data"
    ADVERTISING = "advertising"
    OTHER = "other"


class Review(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "reviews"
    __table_args__ = (
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),
        sa.CheckConstraint(f"length(title) <= {TITLE_MAX}", name="title_length"),
        sa.CheckConstraint(f"length(body) <= {BODY_MAX}", name="body_length"),
        sa.CheckConstraint(
            "(kind = 'product' AND order_line_id IS NOT NULL) OR (kind = 'shop' AND order_line_id IS NULL)",
            name="kind_matches_line",
        ),
        sa.CheckConstraint(
            "status <> 'rejected' OR rejection_reason IS NOT NULL", name="rejection_has_reason"
        ),
        # One shop review per shop's part of an order (one product review per line: order_line_id).
        sa.Index(
            "uq_reviews_shop_review",
            "vendor_order_id",
            unique=True,
            postgresql_where=sa.text("kind = 'shop'"),
            sqlite_where=sa.text("kind = 'shop'"),
        ),
        sa.Index("ix_reviews_product_published", "product_id", "status", "published_at"),
        sa.Index("ix_reviews_shop_published", "shop_id", "kind", "status", "published_at"),
    )

    kind: Mapped[ReviewKind] = mapped_column(str_enum(ReviewKind, "review_kind"), nullable=False)
    author_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    vendor_order_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("vendor_orders.id", ondelete="CASCADE"), nullable=False
    )
    order_line_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("order_lines.id", ondelete="CASCADE"), unique=True
    )
    shop_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False
    )
    # The product as sold (SET NULL: a deleted product keeps its reviews' history).
    product_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("products.id", ondelete="SET NULL")
    )
    product_title: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")

    rating: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)
    title: Mapped[str] = mapped_column(sa.String(TITLE_MAX), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    status: Mapped[ReviewStatus] = mapped_column(
        str_enum(ReviewStatus, "review_status"), nullable=False, default=ReviewStatus.PENDING, index=True
    )
    # What the automatic checks found (codes of ``moderation.CHECKS``); empty when it passed them.
    flags: Mapped[list[str]] = mapped_column(sa.JSON, nullable=False, default=list)
    # The text, folded: the same text posted again and again is caught by it.
    fingerprint: Mapped[str] = mapped_column(sa.String(64), nullable=False, index=True)

    # When the order was placed: the "Achat vérifié" badge shows its month.
    purchased_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    edited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    # The manager's last decision.
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    rejection_reason: Mapped[RejectionReason | None] = mapped_column(
        str_enum(RejectionReason, "review_rejection_reason")
    )
    rejection_note: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    vendor_order: Mapped[VendorOrder] = relationship()
    order_line: Mapped[OrderLine | None] = relationship()
    shop: Mapped[Shop] = relationship()
    photos: Mapped[list[ReviewPhoto]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="ReviewPhoto.position"
    )
    revisions: Mapped[list[ReviewRevision]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="ReviewRevision.id"
    )
    reply: Mapped[ReviewReply | None] = relationship(
        back_populates="review", cascade="all, delete-orphan", uselist=False
    )
    reports: Mapped[list[ReviewReport]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="ReviewReport.id"
    )

    @property
    def open_reports(self) -> list[ReviewReport]:
        return [report for report in self.reports if report.resolved_at is None]

    def __repr__(self) -> str:
        return f"<Review {self.id} {self.kind} {self.rating}★ {self.status}>"


class ReviewRevision(IdMixin, db.Model):  # type: ignore[name-defined]
    """A review as it was before an edit: the history is kept, the page says "modifié"."""

    __tablename__ = "review_revisions"
    __table_args__ = (sa.CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),)

    review_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("reviews.id", ondelete="CASCADE"), nullable=False, index=True
    )
    rating: Mapped[int] = mapped_column(sa.SmallInteger, nullable=False)
    title: Mapped[str] = mapped_column(sa.String(TITLE_MAX), nullable=False)
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    status: Mapped[ReviewStatus] = mapped_column(str_enum(ReviewStatus, "review_status"), nullable=False)
    # When this version was written (the review's creation or its previous edit).
    written_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False)
    replaced_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    review: Mapped[Review] = relationship(back_populates="revisions")


class ReviewPhoto(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "review_photos"

    review_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("reviews.id", ondelete="CASCADE"), nullable=False, index=True
    )
    path: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    thumbnails: Mapped[dict[str, str]] = mapped_column(sa.JSON, nullable=False, default=dict)
    width: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    height: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)

    review: Mapped[Review] = relationship(back_populates="photos")


class ReviewReply(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """The shop's one public answer to a review."""

    __tablename__ = "review_replies"
    __table_args__ = (sa.CheckConstraint(f"length(body) <= {REPLY_MAX}", name="body_length"),)

    review_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("reviews.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    author_id: Mapped[int | None] = mapped_column(BigIntId, sa.ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(sa.Text, nullable=False)
    edited_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    review: Mapped[Review] = relationship(back_populates="reply")


class ReporterKind(enum.StrEnum):
    SHOP = "shop"
    SHOPPER = "shopper"


class ReviewReport(IdMixin, db.Model):  # type: ignore[name-defined]
    """A published review reported by the shop or a shopper: it goes back to the manager's queue."""

    __tablename__ = "review_reports"

    review_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("reviews.id", ondelete="CASCADE"), nullable=False, index=True
    )
    reporter_id: Mapped[int | None] = mapped_column(BigIntId, sa.ForeignKey("users.id", ondelete="SET NULL"))
    reporter_kind: Mapped[ReporterKind] = mapped_column(
        str_enum(ReporterKind, "review_reporter_kind"), nullable=False
    )
    reason: Mapped[RejectionReason] = mapped_column(
        str_enum(RejectionReason, "review_rejection_reason"), nullable=False
    )
    note: Mapped[str] = mapped_column(sa.String(500), nullable=False, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)
    # Set when the manager decides on the review.
    resolved_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    review: Mapped[Review] = relationship(back_populates="reports")
    reporter: Mapped[User | None] = relationship()


class ReviewRequest(IdMixin, db.Model):  # type: ignore[name-defined]
    """The "how was it?" e-mail of one shop's part of an order: sent once."""

    __tablename__ = "review_requests"

    vendor_order_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("vendor_orders.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    sent_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)


class RatingSubject(enum.StrEnum):
    PRODUCT = "product"
    SHOP = "shop"


class RatingSummary(db.Model):  # type: ignore[name-defined]
    """The published ratings of one product or one shop: count, sum and how many of each star.

    Recomputed from the published reviews under this row's lock whenever one is published,
    unpublished or edited, so it never drifts; the search index reads the products' summaries.
    """

    __tablename__ = "rating_summaries"
    __table_args__ = (
        sa.CheckConstraint(
            "review_count = stars_1 + stars_2 + stars_3 + stars_4 + stars_5", name="count_adds_up"
        ),
        sa.CheckConstraint(
            "rating_sum = stars_1 + 2 * stars_2 + 3 * stars_3 + 4 * stars_4 + 5 * stars_5",
            name="sum_adds_up",
        ),
    )

    subject: Mapped[RatingSubject] = mapped_column(
        str_enum(RatingSubject, "rating_subject"), primary_key=True
    )
    subject_id: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    review_count: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    rating_sum: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    stars_1: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    stars_2: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    stars_3: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    stars_4: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    stars_5: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    @property
    def average(self) -> float:
        """The mean rating, 0 when there is none (for display and the index only: nothing sums it)."""
        return self.rating_sum / self.review_count if self.review_count else 0.0

    @property
    def distribution(self) -> list[tuple[int, int]]:
        """(stars, count) from 5 down to 1."""
        return [(stars, getattr(self, f"stars_{stars}")) for stars in (5, 4, 3, 2, 1)]

    def __repr__(self) -> str:
        return f"<RatingSummary {self.subject} {self.subject_id} {self.review_count}>"
