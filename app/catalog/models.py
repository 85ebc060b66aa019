"""The category tree the town manager keeps. Shops and products are filed under it."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.database import BigIntId, IdMixin, TimestampMixin, UTCDateTime, str_enum, utcnow
from app.extensions import db
from app.i18n import localized

if TYPE_CHECKING:
    from vendors.models import Shop


class WithdrawalExclusion(enum.StrEnum):
    """Why goods cannot be withdrawn (Code de la consommation, article L221-28); NONE: they can."""

    NONE = "none"
    PERISHABLE = "perishable"  # deteriorate or expire quickly (3°)
    PERSONALISED = "personalised"  # made to the shopper's specifications or clearly personalised (4°)
    HYGIENE_SEAL = "hygiene_seal"  # sealed for health or hygiene, unsealed after delivery (5°)
    SEALED_MEDIA = "sealed_media"  # sealed audio, video or software, unsealed after delivery (9°)


class Category(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "categories"
    __table_args__ = (sa.CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),)

    slug: Mapped[str] = mapped_column(sa.String(80), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(sa.String(120), nullable=False)
    # The name in the English interface (the French one when there is none).
    name_en: Mapped[str | None] = mapped_column(sa.String(120))
    parent_id: Mapped[int | None] = mapped_column(BigIntId, sa.ForeignKey("categories.id"), index=True)
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    archived_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # The default of its products (None: the parent's, and none at the top of the tree).
    withdrawal_exclusion: Mapped[WithdrawalExclusion | None] = mapped_column(
        str_enum(WithdrawalExclusion, "withdrawal_exclusion")
    )

    parent: Mapped[Category | None] = relationship(remote_side="Category.id", back_populates="children")
    children: Mapped[list[Category]] = relationship(back_populates="parent", order_by="Category.position")

    @property
    def label(self) -> str:
        """The name in the interface's language."""
        return localized(self.name, self.name_en)

    @property
    def path(self) -> list[Category]:
        """From the root down to this category."""
        chain: list[Category] = []
        node: Category | None = self
        while node is not None:
            chain.insert(0, node)
            node = node.parent
        return chain

    @property
    def default_withdrawal_exclusion(self) -> WithdrawalExclusion:
        """The exclusion its products get unless the shop says otherwise: its own, else its parent's."""
        for node in reversed(self.path):
            if node.withdrawal_exclusion is not None:
                return node.withdrawal_exclusion
        return WithdrawalExclusion.NONE

    def __repr__(self) -> str:
        return f"<Category {self.slug}>"


# -- products -------------------------------------------------------------------------------------

# VAT rates a product may carry: French 20 / 10 / 5.5 / 2.1 %, Belgian 21 / 12 / 6 %, and 0 for a shop
# under the VAT franchise.
VAT_RATES_BPS = (2000, 1000, 550, 210, 2100, 1200, 600, 0)
MAX_STOCK = 1_000_000  # units of one variant a shop may hold: beyond, a typo (the column takes 2³¹)


class ProductStatus(enum.StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    ARCHIVED = "archived"


class StockReason(enum.StrEnum):
    """Why a stock level changed; every change is a row of stock_movements."""

    ADJUSTMENT = "adjustment"  # counted, received, broken…: typed by the shop
    IMPORT = "import"
    SALE = "sale"
    RELEASE = "release"  # a reservation given back (payment failed or abandoned)
    RETURN = "return"


class Product(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "products"
    __table_args__ = (
        sa.CheckConstraint(f"vat_bps IN ({', '.join(map(str, VAT_RATES_BPS))})", name="vat_rate_known"),
        sa.Index("ix_products_shop_status", "shop_id", "status"),
        # The public listings, newest first: a storefront, a category, the home page's new products.
        sa.Index(
            "ix_products_active_shop_newest",
            "shop_id",
            sa.text("created_at DESC"),
            sa.text("id DESC"),
            postgresql_where=sa.text("status = 'active'"),
        ),
        sa.Index(
            "ix_products_active_category_newest",
            "category_id",
            sa.text("created_at DESC"),
            sa.text("id DESC"),
            postgresql_where=sa.text("status = 'active'"),
        ),
        sa.Index(
            "ix_products_active_newest",
            sa.text("created_at DESC"),
            sa.text("id DESC"),
            postgresql_where=sa.text("status = 'active'"),
        ),
        # A shop's back-office list, last changed first.
        sa.Index("ix_products_shop_updated", "shop_id", sa.text("updated_at DESC"), sa.text("id DESC")),
    )

    shop_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("shops.id"), nullable=False)
    category_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("categories.id"), nullable=False, index=True
    )
    title: Mapped[str] = mapped_column(sa.String(200), nullable=False)
    # Markdown, rendered and sanitised for display.
    description: Mapped[str] = mapped_column(sa.Text, nullable=False, default="")
    # Descriptive facts: {"material": "cuir", "labels": ["bio", "local"], "origin": "Touraine"}.
    attributes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    # GTIN-8/12/13/14 (an ISBN is stored as its EAN-13), check digit validated.
    gtin: Mapped[str | None] = mapped_column(sa.String(14), index=True)
    vat_bps: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    status: Mapped[ProductStatus] = mapped_column(
        str_enum(ProductStatus, "product_status"), nullable=False, default=ProductStatus.DRAFT
    )
    # Set by the shop; None follows the category's default (see ``withdrawal_exclusion_now``).
    withdrawal_exclusion: Mapped[WithdrawalExclusion | None] = mapped_column(
        str_enum(WithdrawalExclusion, "withdrawal_exclusion")
    )

    shop: Mapped[Shop] = relationship()
    category: Mapped[Category] = relationship()
    variants: Mapped[list[Variant]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="Variant.position"
    )
    photos: Mapped[list[ProductPhoto]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="ProductPhoto.position"
    )

    @property
    def price_range(self) -> tuple[int, int] | None:
        prices = [variant.price_cents for variant in self.variants]
        return (min(prices), max(prices)) if prices else None

    @property
    def in_stock(self) -> bool:
        return any(variant.stock > 0 for variant in self.variants)

    @property
    def withdrawal_exclusion_now(self) -> WithdrawalExclusion:
        """The exclusion a sale made now carries: the shop's choice, else the category's default."""
        if self.withdrawal_exclusion is not None:
            return self.withdrawal_exclusion
        return self.category.default_withdrawal_exclusion

    @property
    def main_photo(self) -> ProductPhoto | None:
        return self.photos[0] if self.photos else None

    def __repr__(self) -> str:
        return f"<Product {self.id} {self.title!r}>"


class Variant(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """What is actually bought: a size, a colour, a weight. SKUs are unique within a shop."""

    __tablename__ = "product_variants"
    __table_args__ = (
        sa.UniqueConstraint("shop_id", "sku"),
        sa.CheckConstraint("price_cents > 0", name="price_positive"),
        sa.CheckConstraint(
            "compare_at_cents IS NULL OR compare_at_cents > price_cents", name="compare_at_above_price"
        ),
        sa.CheckConstraint("stock >= 0", name="stock_not_negative"),
        sa.CheckConstraint("low_stock_threshold >= 0", name="threshold_not_negative"),
        sa.CheckConstraint("weight_grams IS NULL OR weight_grams >= 0", name="weight_not_negative"),
    )

    product_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True
    )
    # Repeated from the product so that the database itself keeps SKUs unique per shop.
    shop_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("shops.id"), nullable=False)
    sku: Mapped[str] = mapped_column(sa.String(64), nullable=False)
    # {"taille": "M", "couleur": "bleu"}; {} for a product sold in one form.
    options: Mapped[dict[str, str]] = mapped_column(sa.JSON, nullable=False, default=dict)
    price_cents: Mapped[int] = mapped_column(sa.BigInteger, nullable=False)
    compare_at_cents: Mapped[int | None] = mapped_column(sa.BigInteger)
    stock: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    low_stock_threshold: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=3)
    weight_grams: Mapped[int | None] = mapped_column(sa.Integer)
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)

    product: Mapped[Product] = relationship(back_populates="variants")

    @property
    def label(self) -> str:
        return " · ".join(str(value) for value in self.options.values())

    @property
    def low_stock(self) -> bool:
        return 0 < self.stock <= self.low_stock_threshold


class ProductPhoto(IdMixin, db.Model):  # type: ignore[name-defined]
    __tablename__ = "product_photos"

    product_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("products.id", ondelete="CASCADE"), nullable=False, index=True
    )
    path: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    thumbnails: Mapped[dict[str, str]] = mapped_column(sa.JSON, nullable=False, default=dict)
    width: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    height: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    alt: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    position: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)

    product: Mapped[Product] = relationship(back_populates="photos")


class StockMovement(IdMixin, db.Model):  # type: ignore[name-defined]
    """An append-only line of a variant's stock history."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        sa.CheckConstraint("delta <> 0", name="delta_not_zero"),
        sa.CheckConstraint("stock_after >= 0", name="stock_after_not_negative"),
    )

    variant_id: Mapped[int] = mapped_column(
        BigIntId, sa.ForeignKey("product_variants.id", ondelete="CASCADE"), nullable=False, index=True
    )
    delta: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    stock_after: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    reason: Mapped[StockReason] = mapped_column(str_enum(StockReason, "stock_reason"), nullable=False)
    note: Mapped[str] = mapped_column(sa.String(200), nullable=False, default="")
    actor_id: Mapped[int | None] = mapped_column(BigIntId, sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), nullable=False, default=utcnow)

    variant: Mapped[Variant] = relationship()
    actor: Mapped[User | None] = relationship()


class ImportStatus(enum.StrEnum):
    UPLOADED = "uploaded"  # waiting for the check
    CHECKED = "checked"  # dry run done: report ready, nothing written
    APPLYING = "applying"
    APPLIED = "applied"
    FAILED = "failed"  # the file could not be read, or the apply failed and was rolled back


class CatalogImport(IdMixin, TimestampMixin, db.Model):  # type: ignore[name-defined]
    """A CSV file uploaded by a shop: checked first (dry run), applied whole or not at all."""

    __tablename__ = "catalog_imports"

    shop_id: Mapped[int] = mapped_column(BigIntId, sa.ForeignKey("shops.id"), nullable=False, index=True)
    user_id: Mapped[int | None] = mapped_column(BigIntId, sa.ForeignKey("users.id", ondelete="SET NULL"))
    filename: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    stored_path: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    status: Mapped[ImportStatus] = mapped_column(
        str_enum(ImportStatus, "import_status"), nullable=False, default=ImportStatus.UPLOADED
    )
    rows_total: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    rows_done: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=0)
    # {"errors": [{"line": 3, "field": "price", "message": "..."}], "create": n, "update": n, ...}
    report: Mapped[dict[str, Any]] = mapped_column(sa.JSON, nullable=False, default=dict)
    applied_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
