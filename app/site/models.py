"""What the home page shows and in which order, the manager's collections and featured shops.

These belong to the site, not to the catalogue: a collection or a home block mixes products and
shops (catalogue and vendors) and reads orders and reviews for its blocks; the site composes the
domains, none of them needs to know about the home page.
"""

from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.models import Product
from app.database import BigIntId, IdMixin, TimestampMixin, UTCDateTime, str_enum
from app.extensions import db
from vendors.models import Shop


class HomeBlockKind(enum.StrEnum):
    """The blocks of the home page; the manager orders them and turns them on or off."""

    CATEGORIES = "categories"
    COLLECTIONS = "collections"
    FEATURED_SHOPS = "featured_shops"
    NEW_PRODUCTS = "new_products"
    OPEN_NOW = "open_now"
    POPULAR = "popular"
    BEST_PRODUCTS = "best_products"
    BEST_SHOPS = "best_shops"


class HomeBlock(db.Model):  # type: ignore[name-defined]
    """One block's place and switch. A kind without a row shows in its default place."""

    __tablename__ = "home_blocks"

    kind: Mapped[HomeBlockKind] = mapped_column(str_enum(HomeBlockKind, "home_block_kind"), primary_key=True)
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    enabled: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)


class CollectionKind(enum.StrEnum):
    PRODUCTS = "products"
    SHOPS = "shops"


class Collection(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A selection the manager curates ("Noël à Bellerive"), shown between two moments."""

    __tablename__ = "collections"
    __table_args__ = (
        sa.CheckConstraint(
            "starts_at IS NULL OR ends_at IS NULL OR starts_at < ends_at", name="starts_before_end"
        ),
    )

    slug: Mapped[str] = mapped_column(sa.String(80), unique=True, nullable=False)
    title: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    text: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    kind: Mapped[CollectionKind] = mapped_column(
        str_enum(CollectionKind, "collection_kind"), nullable=False, default=CollectionKind.PRODUCTS
    )
    image_path: Mapped[str | None] = mapped_column(sa.String(255))
    image_thumbnails: Mapped[dict[str, str]] = mapped_column(sa.JSON, nullable=False, default=dict)
    # Shown from starts_at (included) to ends_at (excluded); no bound means open on that side.
    starts_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    ends_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())

    items: Mapped[list[CollectionItem]] = relationship(
        back_populates="collection",
        cascade="all, delete-orphan",
        order_by="(CollectionItem.position, CollectionItem.id)",
    )

    def is_current(self, now: dt.datetime) -> bool:
        return (self.starts_at is None or self.starts_at <= now) and (
            self.ends_at is None or now < self.ends_at
        )

    @property
    def card_image(self) -> str | None:
        return self.image_thumbnails.get("card", self.image_path) if self.image_path else None


class CollectionItem(IdMixin, db.Model):  # type: ignore[name-defined]
    """A product or a shop of a collection, in the manager's order."""

    __tablename__ = "collection_items"
    __table_args__ = (
        sa.CheckConstraint("(product_id IS NULL) <> (shop_id IS NULL)", name="one_product_or_one_shop"),
        sa.UniqueConstraint("collection_id", "product_id"),
        sa.UniqueConstraint("collection_id", "shop_id"),
    )

    collection_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("collections.id", ondelete="CASCADE"), nullable=False, index=True
    )
    product_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("products.id", ondelete="CASCADE"), index=True
    )
    shop_id: Mapped[int | None] = mapped_column(
        BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)

    collection: Mapped[Collection] = relationship(back_populates="items")
    product: Mapped[Product | None] = relationship()
    shop: Mapped[Shop | None] = relationship()


class FeaturedShop(IdMixin, db.Model):  # type: ignore[name-defined]
    """A shop the manager puts forward on the home page."""

    __tablename__ = "featured_shops"

    shop_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("shops.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)

    shop: Mapped[Shop] = relationship()
