"""Search documents: what the index knows of each product, built from the database.

One document per active product of an open shop. Everything a shopper filters, sorts or facets on is
here (category path, shop and its geo point, delivery methods, price range, stock, labels, rating
and review count, GTIN); what a result card shows (photo, exact prices) is read back from the
database by id, so the index never shows a stale price on a card.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from app.catalog.models import Category, Product, ProductStatus
from app.catalog.text import plain_text
from app.extensions import db
from app.reviews.models import RatingSubject, RatingSummary
from vendors.models import Shop

# Attribute keys whose values are searchable facts ("cuir", "chèvre", "3-6 ans", "Loire"). Author
# names are facts too: people search for them. The kind has a field of its own.
FACT_KEYS = (
    "material",
    "color",
    "colors",
    "origin",
    "region",
    "milk",
    "meat",
    "age",
    "author",
    "vintage",
    "service",
)
DESCRIPTION_LIMIT = 2000


@dataclass
class ProductDocument:
    """One product as both backends index it. Plain values only: it travels as JSON."""

    id: int
    title: str
    description: str
    facts: list[str]
    labels: list[str]
    category: str
    category_path: list[str]
    category_names: list[str]
    shop_id: int
    shop_slug: str
    shop_name: str
    delivery_methods: list[str]
    price_min_cents: int
    price_max_cents: int
    in_stock: bool
    rating: float  # the average of the product's published reviews, 0 without any
    gtin: str | None
    created_at: int  # microseconds since the epoch (fine enough that "newest" rarely ties)
    lat: float | None = None
    lon: float | None = None
    popularity: int = 0
    # The collapse key: the same GTIN (a book at three bookshops) is one product for the shopper.
    group: str = ""
    review_count: int = 0
    # What the product is within its category ("fromage", "viennoiserie"): related products share it.
    kind: str = ""
    rank_weight: float = field(default=0.0)
    # The sort "best rated": the average to the hundredth, then the number of reviews.
    rating_rank: int = field(default=0)

    def __post_init__(self) -> None:
        self.group = self.group or (f"gtin:{self.gtin}" if self.gtin else f"product:{self.id}")
        self.rank_weight = rank_weight(self.in_stock, self.rating)
        self.rating_rank = rating_rank(self.rating, self.review_count)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProductDocument:
        return cls(**data)


def rank_weight(in_stock: bool, rating: float) -> float:
    """The static part of relevance, the same in both backends.

    Both multiply the text score by log2(2 + weight) (tantivy's ``weight_by_field``; Elasticsearch's
    ``field_value_factor`` with ``ln2p``, which differs by a constant factor only): a product in stock
    weighs 1.58 times one that is sold out, and a 5-star rating adds as much again as half of that.
    """
    rating = min(max(rating, 0.0), 5.0)
    return (1.0 if in_stock else 0.0) + rating / 10.0


def rating_rank(rating: float, review_count: int) -> int:
    """One integer both backends sort on: the average first, then how many reviews make it."""
    return round(min(max(rating, 0.0), 5.0) * 100) * 1_000_000 + min(max(review_count, 0), 999_999)


def spelling_words(document: ProductDocument) -> list[str]:
    """The texts whose words "did you mean" may propose: titles, facts, categories, shops."""
    return [document.title, document.kind, *document.facts, *document.category_names, document.shop_name]


def _facts(attributes: dict[str, Any]) -> list[str]:
    facts: list[str] = []
    for key in FACT_KEYS:
        value = attributes.get(key)
        values = value if isinstance(value, list) else [value]
        facts.extend(str(item) for item in values if item not in (None, ""))
    return facts


def _kind(attributes: dict[str, Any]) -> str:
    value = attributes.get("kind")
    return str(value).strip().lower()[:80] if isinstance(value, str | int) else ""


def _labels(attributes: dict[str, Any]) -> list[str]:
    labels = attributes.get("labels") or []
    if isinstance(labels, str):
        labels = [labels]
    return sorted({str(label).strip().lower() for label in labels if str(label).strip()})


def build(product: Product, rating: float = 0.0, review_count: int = 0) -> ProductDocument:
    """The document of one product (its shop, category and variants loaded) and its rating."""
    shop = product.shop
    path: list[Category] = product.category.path
    prices = [variant.price_cents for variant in product.variants]
    has_point = shop.latitude is not None and shop.longitude is not None
    return ProductDocument(
        id=product.id,
        title=product.title,
        description=plain_text(product.description, limit=DESCRIPTION_LIMIT),
        facts=_facts(product.attributes or {}),
        kind=_kind(product.attributes or {}),
        labels=_labels(product.attributes or {}),
        category=product.category.slug,
        category_path=[category.slug for category in path],
        # English names too: a shopper may type the category as the English interface shows it.
        category_names=[category.name for category in path]
        + [category.name_en for category in path if category.name_en],
        shop_id=shop.id,
        shop_slug=shop.slug,
        shop_name=shop.name,
        delivery_methods=shop.delivery_methods,
        price_min_cents=min(prices),
        price_max_cents=max(prices),
        in_stock=product.in_stock,
        rating=rating,
        review_count=review_count,
        gtin=product.gtin,
        created_at=math.floor(product.created_at.timestamp() * 1_000_000),
        lat=shop.latitude if has_point else None,
        lon=shop.longitude if has_point else None,
    )


def _searchable() -> sa.Select[Any]:
    """Active products with at least one variant, of approved shops: what shoppers may find."""
    return (
        sa.select(Product)
        .join(Shop, Shop.id == Product.shop_id)
        .where(
            Product.status == ProductStatus.ACTIVE,
            Shop.is_public,
            Product.variants.any(),
        )
        .options(
            joinedload(Product.shop),
            joinedload(Product.category).joinedload(Category.parent),
            selectinload(Product.variants),
        )
    )


def _ratings(product_ids: Sequence[int]) -> dict[int, tuple[float, int]]:
    """(average, count) of the products' published reviews, from their rating summaries."""
    if not product_ids:
        return {}
    rows = db.session.execute(
        sa.select(RatingSummary.subject_id, RatingSummary.rating_sum, RatingSummary.review_count).where(
            RatingSummary.subject == RatingSubject.PRODUCT,
            RatingSummary.subject_id.in_(product_ids),
            RatingSummary.review_count > 0,
        )
    )
    return {int(pid): (total / count, int(count)) for pid, total, count in rows}


def _build_all(products: Sequence[Product]) -> list[ProductDocument]:
    ratings = _ratings([product.id for product in products])
    return [build(product, *ratings.get(product.id, (0.0, 0))) for product in products]


def documents_for(product_ids: Iterable[int]) -> dict[int, ProductDocument]:
    """The documents of those products that are searchable now; the others are absent (to delete)."""
    ids = sorted(set(product_ids))
    found: dict[int, ProductDocument] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        products = list(db.session.scalars(_searchable().where(Product.id.in_(chunk))).unique())
        found.update((document.id, document) for document in _build_all(products))
    return found


def all_documents(batch_size: int = 1000) -> Iterator[list[ProductDocument]]:
    """Every searchable product, in batches by id (keyset pagination: constant memory)."""
    last_id = 0
    while True:
        batch = list(
            db.session.scalars(
                _searchable().where(Product.id > last_id).order_by(Product.id).limit(batch_size)
            ).unique()
        )
        if not batch:
            return
        yield _build_all(batch)
        last_id = batch[-1].id
        db.session.expunge_all()  # keep memory flat over a whole catalogue


def searchable_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(_searchable().subquery())) or 0


def product_ids_of(shop_ids: Sequence[int] = (), category_ids: Sequence[int] = ()) -> list[int]:
    """Products whose document depends on these shops or categories (any status: some must go)."""
    conditions = []
    if shop_ids:
        conditions.append(Product.shop_id.in_(shop_ids))
    if category_ids:
        children = sa.select(Category.id).where(Category.parent_id.in_(category_ids))
        conditions.append(Product.category_id.in_(category_ids))
        conditions.append(Product.category_id.in_(children))
    if not conditions:
        return []
    return list(db.session.scalars(sa.select(Product.id).where(sa.or_(*conditions))))
