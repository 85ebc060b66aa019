"""Product cards: what a grid of products shows, read as plain rows in one query.

A card holds a product's id and title, its first photo, its shop (what the card and the distance from the
visitor read), the range of its variants' prices and whether any is in stock. Every public grid draws
cards (search results, category pages, storefronts, the home page's blocks, collections), and so do
the public search API and a product page's list of the other shops selling it: one statement per page,
however many cards, and no ORM objects to build and keep in the session for what is only shown. The
product's page and the back office read whole products.

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

from app import pagecache
from app.caching import TTLCache, after_changes
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


def _statement(*, only_online: bool, same_gtin: bool = False) -> sa.Select[Any]:
    """The cards of the products of the list bound as ``ids`` (``same_gtin``: of the products with the
    GTIN bound as ``gtin``): each with its shop, its variants' prices and stock folded in one grouped
    read of those products' variants, and its first photo (in the shop's order, ``Product.photos``;
    ties by age). With ``only_online``, those shoppers may see: active, in an open shop, with a variant
    (the inner join to the folded variants).

    Plain SQL that SQLite runs too (no LATERAL), built once: the variants are read once for the whole
    list rather than by three subqueries per product, which PostgreSQL planned for longer than it ran
    them (1.3 ms for 30 cards, now 0.5)."""
    products, variants, photos = Product.__table__, Variant.__table__, ProductPhoto.__table__
    shops = Shop.__table__
    ids: Any = sa.bindparam("ids", expanding=True)
    if same_gtin:
        ids = sa.select(products.c.id).where(products.c.gtin == sa.bindparam("gtin"))
    prices = (
        sa.select(
            variants.c.product_id,
            sa.func.min(variants.c.price_cents).label("low"),
            sa.func.max(variants.c.price_cents).label("high"),
            sa.func.max(sa.case((variants.c.stock > 0, 1), else_=0)).label("in_stock"),
        )
        .where(variants.c.product_id.in_(ids))
        .group_by(variants.c.product_id)
        .subquery("prices")
    )
    first_photo = (
        sa.select(photos.c.id)
        .where(photos.c.product_id == products.c.id)
        .order_by(photos.c.position, photos.c.id)
        .limit(1)
        .correlate(products)
        .scalar_subquery()
    )
    statement = (
        sa.select(
            products.c.id,
            products.c.title,
            shops.c.id.label("shop_id"),
            shops.c.slug,
            shops.c.name,
            shops.c.latitude,
            shops.c.longitude,
            prices.c.low,
            prices.c.high,
            prices.c.in_stock,
            photos.c.path,
            photos.c.alt,
            photos.c.thumbnails,
        )
        .select_from(products)
        .join(shops, shops.c.id == products.c.shop_id)
        .join(prices, prices.c.product_id == products.c.id, isouter=not only_online)
        .outerjoin(photos, photos.c.id == first_photo)
        .where(products.c.id.in_(ids))
    )
    if only_online:
        statement = statement.where(products.c.status == ProductStatus.ACTIVE, Shop.is_public)
    return statement


STATEMENTS = {only_online: _statement(only_online=only_online) for only_online in (False, True)}
SAME_GTIN = _statement(only_online=True, same_gtin=True)


# Cards as last read, by (product id, only online), the products that had none, and the cards of each
# GTIN's products shoppers may see, by ("gtin", GTIN): kept a minute per process, following the pages'
# generation (any process's change, with Redis) and forgotten at once by this process's own commits
# that touch what a card shows (a product, a variant's price or stock, a photo, a shop).
kept_cards = TTLCache(ttl=60.0, maxsize=5000, follows=pagecache.current_generation)
_NO_CARD = "none"  # kept for a product that has no card (gone, or not shown to shoppers)
_CARD_TABLES = frozenset({"products", "product_variants", "product_photos", "shops"})
after_changes("cards", _CARD_TABLES.__contains__, kept_cards.clear)


def cards(ids: Iterable[int], *, only_online: bool = False) -> dict[int, Card]:
    """The cards of the products ``ids`` (those that exist; with ``only_online``, those shoppers may
    see), by product id: those this process keeps, and the others read in one statement."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    found: dict[int, Card] = {}
    missing: list[int] = []
    kept_now = kept_cards.found_all((product_id, only_online) for product_id in wanted)
    for product_id in wanted:
        kept = kept_now.get((product_id, only_online))
        if kept is None:
            missing.append(product_id)
        elif kept is not _NO_CARD:
            found[product_id] = kept
    if missing:
        read = _cards(db.session.execute(STATEMENTS[only_online], {"ids": missing}))
        for product_id in missing:
            kept_cards.put((product_id, only_online), read.get(product_id, _NO_CARD))
        found.update(read)
    return found


def sold_as(gtin: str, excluding: int) -> list[Card]:
    """The cards shoppers may see of the products with this GTIN (a book, a bottle) but ``excluding``:
    kept with the cards (and forgotten with them) by GTIN, as every page of one of them asks."""
    offers: tuple[Card, ...] = kept_cards.get(
        ("gtin", gtin), lambda: tuple(_cards(db.session.execute(SAME_GTIN, {"gtin": gtin})).values())
    )
    return [card for card in offers if card.id != excluding]


def _cards(rows: Iterable[Any]) -> dict[int, Card]:
    shops: dict[int, CardShop] = {}
    found: dict[int, Card] = {}
    for row in rows:
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
