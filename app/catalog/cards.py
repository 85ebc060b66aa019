"""Product cards: what a grid of products shows, read as plain rows in one query.

A card holds a product's id and title, its first photo, its shop (what the card and the distance from the
visitor read), the range of its variants' prices and whether any is in stock. Every public grid draws
cards (search results, category pages, storefronts, the home page's blocks, collections) and so does the
public search API: one statement per page, however many cards, and no ORM objects to build and keep in
the session for what is only shown. The product's page and the back office read whole products.

A card answers the attributes the card's template reads on a ``Product`` (``id``, ``title``,
``main_photo``, ``shop.name``, ``price_range``, ``in_stock``), so ``product_card`` takes either. A card
is hashable, its content its identity: what it looks like is drawn once per content and language
(``app.catalog.views.card_face``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.catalog.models import Product, ProductPhoto, ProductStatus, Variant
from app.extensions import db
from vendors.models import Shop


@dataclass(frozen=True, slots=True)
class CardShop:
    id: int
    slug: str
    name: str
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True, slots=True)
class CardPhoto:
    path: str
    alt: str
    sizes: tuple[tuple[str, str], ...]  # the thumbnails' (size, path), as a tuple: a card is hashable

    @property
    def thumbnails(self) -> dict[str, str]:
        return dict(self.sizes)


@dataclass(frozen=True, slots=True)
class Card:
    id: int
    title: str
    shop: CardShop
    main_photo: CardPhoto | None
    price_range: tuple[int, int] | None  # the cheapest and dearest variant; None without variants
    in_stock: bool


def online() -> sa.ColumnElement[bool]:
    """A product shoppers may see: active, with a variant, in an open shop (``Shop`` joined)."""
    return sa.and_(Product.status == ProductStatus.ACTIVE, Shop.is_public, Product.variants.any())


def _statement() -> sa.Select[Any]:
    """Products with their shop, their variants' prices and stock folded, their first photo (in the
    shop's order, ``Product.photos``; ties by age). Plain SQL that SQLite runs too (no LATERAL)."""
    products, variants, photos = Product.__table__, Variant.__table__, ProductPhoto.__table__
    shops = Shop.__table__

    def of_product(*columns: Any) -> sa.Select[Any]:
        return sa.select(*columns).where(variants.c.product_id == products.c.id).correlate(products)

    first_photo = (
        sa.select(photos.c.id)
        .where(photos.c.product_id == products.c.id)
        .order_by(photos.c.position, photos.c.id)
        .limit(1)
        .correlate(products)
        .scalar_subquery()
    )
    return (
        sa.select(
            products.c.id,
            products.c.title,
            shops.c.id.label("shop_id"),
            shops.c.slug,
            shops.c.name,
            shops.c.latitude,
            shops.c.longitude,
            of_product(sa.func.min(variants.c.price_cents)).scalar_subquery().label("low"),
            of_product(sa.func.max(variants.c.price_cents)).scalar_subquery().label("high"),
            sa.exists(of_product(variants.c.id).where(variants.c.stock > 0)).label("in_stock"),
            photos.c.path,
            photos.c.alt,
            photos.c.thumbnails,
        )
        .select_from(products)
        .join(shops, shops.c.id == products.c.shop_id)
        .outerjoin(photos, photos.c.id == first_photo)
    )


STATEMENT = _statement()


def cards(ids: Iterable[int], *, only_online: bool = False) -> dict[int, Card]:
    """The cards of the products ``ids`` (those that exist; with ``only_online``, those shoppers may
    see), by product id."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    statement = STATEMENT.where(Product.__table__.c.id.in_(wanted))
    if only_online:
        statement = statement.where(online())
    shops: dict[int, CardShop] = {}
    found: dict[int, Card] = {}
    for row in db.session.execute(statement):
        shop = shops.get(row.shop_id)
        if shop is None:
            shop = shops[row.shop_id] = CardShop(row.shop_id, row.slug, row.name, row.latitude, row.longitude)
        found[row.id] = Card(
            id=row.id,
            title=row.title,
            shop=shop,
            main_photo=(
                CardPhoto(row.path, row.alt, tuple(sorted((row.thumbnails or {}).items())))
                if row.path is not None
                else None
            ),
            price_range=(row.low, row.high) if row.low is not None else None,
            in_stock=bool(row.in_stock),
        )
    return found


def card_list(ids: Sequence[int], *, only_online: bool = False) -> list[Card]:
    """The cards of ``ids`` in that order, skipping those not found."""
    found = cards(ids, only_online=only_online)
    return [found[product_id] for product_id in ids if product_id in found]
