"""The home page, the category menu and the manager's collections.

Reading: the category menu (cached per process), the home page's blocks (each a bounded number of
queries whatever the size of the catalogue), a collection's public page. Writing (the manager only,
every change audited): the blocks' order and switches, collections and their items, featured shops.
Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import joinedload, selectinload

from app import images, pagecache
from app.accounts.models import User
from app.audit import services as audit
from app.caching import TTLCache, after_changes
from app.catalog.cards import Card, card_list, kept_cards
from app.catalog.cards import online as product_online
from app.catalog.models import Category, Product, ProductStatus
from app.catalog.services import category_cache
from app.database import database_backend, lock, locked
from app.errors import ServiceError
from app.extensions import db
from app.i18n import localized
from app.orders.models import Order, OrderLine, OrderStatus, VendorOrder
from app.reviews.models import RatingSubject, RatingSummary
from app.site.models import (
    Collection,
    CollectionItem,
    CollectionKind,
    FeaturedShop,
    HomeBlock,
    HomeBlockKind,
)
from vendors import geo, hours
from vendors.hours import TOWN_TZ
from vendors.models import Shop
from vendors.services import Timetable, timetable

BLOCK_SIZE = 8
NEW_PRODUCTS_DAYS = 7
POPULAR_DAYS = 30
BEST_RATED_MIN_REVIEWS = 2
MAX_COLLECTION_ITEMS = 60
MAX_COLLECTIONS_ON_HOME = 6
MAX_FEATURED_SHOPS = 12
PICK_RESULTS = 20
COLLECTION_IMAGE_SIZES = {"card": (800, 450, "crop")}
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")

# The order of the blocks until the manager changes it.
DEFAULT_BLOCKS: tuple[HomeBlockKind, ...] = (
    HomeBlockKind.CATEGORIES,
    HomeBlockKind.COLLECTIONS,
    HomeBlockKind.FEATURED_SHOPS,
    HomeBlockKind.NEW_PRODUCTS,
    HomeBlockKind.OPEN_NOW,
    HomeBlockKind.POPULAR,
    HomeBlockKind.BEST_PRODUCTS,
    HomeBlockKind.BEST_SHOPS,
)

BLOCK_LABELS = {
    HomeBlockKind.CATEGORIES: _l("Les rayons"),
    HomeBlockKind.COLLECTIONS: _l("Les sélections du moment"),
    HomeBlockKind.FEATURED_SHOPS: _l("Boutiques à la une"),
    HomeBlockKind.NEW_PRODUCTS: _l("Nouveautés de la semaine"),
    HomeBlockKind.OPEN_NOW: _l("Ouvert maintenant"),
    HomeBlockKind.POPULAR: _l("Populaire en ville"),
    HomeBlockKind.BEST_PRODUCTS: _l("Produits les mieux notés"),
    HomeBlockKind.BEST_SHOPS: _l("Boutiques les mieux notées"),
}


class SiteError(ServiceError):
    """A refused change to the home page or a collection."""


# Categories change rarely: at once in the process that changed them; elsewhere at once with Redis (the
# menu follows the pages' shared generation: several app servers show one menu), a minute at most without.
menu_cache = TTLCache(ttl=60.0, follows=pagecache.shared_generation)
# What the shared home blocks show (ids and numbers, by block): never pages, which hold forms' tokens.
block_cache = TTLCache(ttl=60.0)


def clear_caches() -> None:
    menu_cache.clear()
    block_cache.clear()
    kept_cards.clear()  # the products' cards
    category_cache.clear()  # the category pages' tree


after_changes("categories", frozenset({Category.__tablename__}).__contains__, clear_caches)


# -- the category menu ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MenuEntry:
    slug: str
    name: str
    name_en: str | None = None
    children: tuple[MenuEntry, ...] = ()

    @property
    def label(self) -> str:
        """The name in the interface's language (the French one when there is no English one)."""
        return localized(self.name, self.name_en)


def _load_menu() -> tuple[MenuEntry, ...]:
    rows = db.session.execute(
        sa.select(Category.id, Category.parent_id, Category.slug, Category.name, Category.name_en)
        .where(Category.archived_at.is_(None))
        .order_by(Category.position, Category.name, Category.id)
    ).all()
    children: dict[int, list[MenuEntry]] = {}
    for row in rows:
        if row.parent_id is not None:
            children.setdefault(row.parent_id, []).append(MenuEntry(row.slug, row.name, row.name_en))
    return tuple(
        MenuEntry(row.slug, row.name, row.name_en, tuple(children.get(row.id, ())))
        for row in rows
        if row.parent_id is None
    )


def category_menu() -> tuple[MenuEntry, ...]:
    """Top categories with their children, as the header's menu and the home page's tiles show them."""
    result: tuple[MenuEntry, ...] = menu_cache.get("menu", _load_menu)
    return result


# -- what is online -----------------------------------------------------------------------------------


def _public_products(ids: Sequence[int]) -> list[Card]:
    """The cards of the products of ``ids`` still online, in that order."""
    return card_list(ids, only_online=True)


SHOP_CARD_LOADING = (
    joinedload(Shop.category),
    selectinload(Shop.opening_hours),
    selectinload(Shop.closures),
)


# Built once, as loader options cost to build: the shops of the ids bound, with or without their hours.
PUBLIC_SHOPS = {
    with_hours: sa.select(Shop)
    .where(Shop.id.in_(sa.bindparam("ids", expanding=True)), Shop.is_public)
    .options(*(SHOP_CARD_LOADING if with_hours else (joinedload(Shop.category),)))
    for with_hours in (False, True)
}


def _public_shops(ids: Sequence[int], with_hours: bool = True) -> list[Shop]:
    """The open shops of ``ids``, in that order, with their category (and their hours and closures, to
    say whether they are open, unless the caller knows it already)."""
    if not ids:
        return []
    rows = db.session.scalars(PUBLIC_SHOPS[with_hours], {"ids": list(ids)})
    found = {shop.id: shop for shop in rows}
    return [found[shop_id] for shop_id in ids if shop_id in found]


# -- the home page's blocks ---------------------------------------------------------------------------


def block_order() -> list[tuple[HomeBlockKind, bool]]:
    """Every block with its switch, in the manager's order (a block never set keeps its default place)."""
    saved = {block.kind: block for block in db.session.scalars(sa.select(HomeBlock))}
    default_place = {kind: index for index, kind in enumerate(DEFAULT_BLOCKS)}

    def place(kind: HomeBlockKind) -> tuple[int, int]:
        block = saved.get(kind)
        return (block.position if block is not None else default_place[kind], default_place[kind])

    return [
        (kind, saved[kind].enabled if kind in saved else True) for kind in sorted(DEFAULT_BLOCKS, key=place)
    ]


def enabled_blocks() -> list[HomeBlockKind]:
    """The blocks the home page shows, in order: kept with the blocks' choices (a change of order or
    switch made here empties them at once, elsewhere within the minute)."""
    kinds: list[HomeBlockKind] = block_cache.get(
        "enabled", lambda: [kind for kind, enabled in block_order() if enabled]
    )
    return kinds


@dataclass
class ShopEntry:
    shop: Shop
    open_state: hours.OpenState
    distance_km: float | None = None
    rating: Rating | None = None


def _shop_entries(
    shops: Sequence[Shop],
    now: dt.datetime,
    near: tuple[float, float] | None = None,
    states: dict[int, hours.OpenState] | None = None,
) -> list[ShopEntry]:
    """Cards of ``shops``; their open state from ``states`` when the timetable was read already."""
    return [
        ShopEntry(
            shop,
            states[shop.id]
            if states is not None and shop.id in states
            else hours.open_state(shop.opening_hours, shop.closures, now),
            geo.distance_from(near, shop.latitude, shop.longitude),
        )
        for shop in shops
    ]


def _open_choice(
    table: Timetable, states: dict[int, hours.OpenState], near: tuple[float, float] | None
) -> list[tuple[int, hours.OpenState, float | None]]:
    """The shops open (``states``: the table's at a time) the block shows: the nearest first when a point
    is known, else by name."""
    chosen = [
        (shop, states[shop.id], geo.distance_from(near, shop.latitude, shop.longitude))
        for shop in table.shops
        if states[shop.id].open
    ]
    if near is not None:
        chosen.sort(key=lambda entry: (entry[2] is None, entry[2] or 0.0, entry[0].name))
    else:
        chosen.sort(key=lambda entry: entry[0].name.casefold())
    return [(shop.id, state, distance) for shop, state, distance in chosen[:BLOCK_SIZE]]


def _collections_choice(now: dt.datetime) -> sa.Select[Any]:
    """Collections shown now that still have something online, newest first."""
    return (
        sa.select(Collection.id)
        .where(_collection_current(now), Collection.id.in_(_collections_with_online_items()))
        .order_by(Collection.starts_at.desc().nulls_last(), Collection.id.desc())
        .limit(MAX_COLLECTIONS_ON_HOME)
    )


def current_collections(now: dt.datetime) -> list[Collection]:
    ids = _chosen(HomeBlockKind.COLLECTIONS, now)
    if not ids:
        return []
    found = {
        collection.id: collection
        for collection in db.session.scalars(sa.select(Collection).where(Collection.id.in_(ids)))
    }
    # Read again: one that ended or lost its last item since it was cached is left out.
    return [found[cid] for cid in ids if cid in found and found[cid].is_current(now)]


def _collection_current(now: dt.datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        sa.or_(Collection.starts_at.is_(None), Collection.starts_at <= now),
        sa.or_(Collection.ends_at.is_(None), Collection.ends_at > now),
    )


def _collections_with_online_items() -> sa.CompoundSelect:
    products = (
        sa.select(CollectionItem.collection_id)
        .join(Collection, Collection.id == CollectionItem.collection_id)
        .join(Product, Product.id == CollectionItem.product_id)
        .join(Shop, Shop.id == Product.shop_id)
        .where(Collection.kind == CollectionKind.PRODUCTS, product_online())
    )
    shops = (
        sa.select(CollectionItem.collection_id)
        .join(Collection, Collection.id == CollectionItem.collection_id)
        .join(Shop, Shop.id == CollectionItem.shop_id)
        .where(Collection.kind == CollectionKind.SHOPS, Shop.is_public)
    )
    return sa.union(products, shops)


def _cached_ids(kind: HomeBlockKind, compute: Callable[[], list[Any]]) -> list[Any]:
    """A block's choice (ids and numbers only, never a rendered page: a card holds a form's token)."""
    result: list[Any] = block_cache.get(kind, compute)
    return result


# The blocks whose choice (which ids, in which order) is made by a query and cached.
CHOSEN_BLOCKS = (
    HomeBlockKind.COLLECTIONS,
    HomeBlockKind.FEATURED_SHOPS,
    HomeBlockKind.NEW_PRODUCTS,
    HomeBlockKind.POPULAR,
    HomeBlockKind.BEST_PRODUCTS,
    HomeBlockKind.BEST_SHOPS,
)


def _choice_query(kind: HomeBlockKind, now: dt.datetime) -> sa.Select[Any] | sa.Select[int, int, int]:
    """A block's choice: one value a row, in the block's order ((id, count, sum) for a rating)."""
    if kind == HomeBlockKind.COLLECTIONS:
        return _collections_choice(now)
    if kind == HomeBlockKind.FEATURED_SHOPS:
        return (
            sa.select(FeaturedShop.shop_id)
            .join(Shop, Shop.id == FeaturedShop.shop_id)
            .where(Shop.is_public)
            .order_by(FeaturedShop.position, FeaturedShop.id)
            .limit(BLOCK_SIZE)
        )
    if kind == HomeBlockKind.NEW_PRODUCTS:
        return (
            sa.select(Product.id)
            .join(Shop, Shop.id == Product.shop_id)
            .where(product_online(), Product.created_at >= now - dt.timedelta(days=NEW_PRODUCTS_DAYS))
            .order_by(Product.created_at.desc(), Product.id.desc())
            .limit(BLOCK_SIZE)
        )
    if kind == HomeBlockKind.POPULAR:
        return _popular_choice(now)
    if kind == HomeBlockKind.BEST_PRODUCTS:
        online = sa.select(Product.id).join(Shop, Shop.id == Product.shop_id).where(product_online())
        return _best_rated(RatingSubject.PRODUCT, online)
    return _best_rated(RatingSubject.SHOP, sa.select(Shop.id).where(Shop.is_public))


def _choice_value(kind: HomeBlockKind, values: Sequence[Any]) -> list[Any]:
    if kind in (HomeBlockKind.BEST_PRODUCTS, HomeBlockKind.BEST_SHOPS):
        return [(int(value[0]), Rating(int(value[1]), int(value[2]))) for value in values]
    return [int(value) for value in values if value is not None]


_RATED_BLOCKS = (HomeBlockKind.BEST_PRODUCTS, HomeBlockKind.BEST_SHOPS)


def _read_choice(kind: HomeBlockKind, now: dt.datetime) -> list[Any]:
    query = _choice_query(kind, now)
    rows = db.session.execute(query).all() if kind in _RATED_BLOCKS else db.session.scalars(query).all()
    return _choice_value(kind, list(rows))


def _chosen(kind: HomeBlockKind, now: dt.datetime) -> list[Any]:
    """A block's choice, from the cache or read now."""
    return _cached_ids(kind, lambda: _read_choice(kind, now))


def choose_blocks(kinds: Sequence[HomeBlockKind], now: dt.datetime) -> None:
    """Make the choice of every block of ``kinds`` not in the cache, in one query (one array a block)."""
    missing = [kind for kind in dict.fromkeys(kinds) if kind in CHOSEN_BLOCKS and not block_cache.fresh(kind)]
    if not missing:
        return
    if database_backend() != "postgresql":
        # SQLite (the embedded default) has no arrays: a query a block.
        for kind in missing:
            block_cache.put(kind, _read_choice(kind, now))
        return

    def packed(kind: HomeBlockKind) -> Any:
        query = _choice_query(kind, now)
        if kind in _RATED_BLOCKS:  # three columns a row: one array a row
            query = query.with_only_columns(postgresql.array(list(query.selected_columns)))
        return sa.func.array(query.scalar_subquery())

    row = db.session.execute(sa.select(*(packed(kind) for kind in missing))).one()
    for kind, values in zip(missing, row, strict=True):
        block_cache.put(kind, _choice_value(kind, values))


def _featured_ids(now: dt.datetime) -> list[int]:
    return _chosen(HomeBlockKind.FEATURED_SHOPS, now)


def featured_shops(now: dt.datetime, rows: HomeRows | None = None) -> list[ShopEntry]:
    return _shop_entries(_shops_of(_featured_ids(now), rows), now, states=rows.states if rows else None)


def _new_ids(now: dt.datetime) -> list[int]:
    return _chosen(HomeBlockKind.NEW_PRODUCTS, now)


def new_products(now: dt.datetime, rows: HomeRows | None = None) -> list[Card]:
    """Products put online in the last week, newest first."""
    return _products_of(_new_ids(now), rows)


def open_now(
    now: dt.datetime, near: tuple[float, float] | None = None, rows: HomeRows | None = None
) -> list[ShopEntry]:
    """Open shops at ``now``, the nearest first when a point is known, else by name."""
    if rows is not None and rows.timetable is not None and rows.states is not None:
        table, states = rows.timetable, rows.states
    else:
        table = timetable(now)
        states = table.states(now)
    chosen = _open_choice(table, states, near)
    shops = {shop.id: shop for shop in _shops_of([shop_id for shop_id, _, _ in chosen], rows)}
    return [
        ShopEntry(shops[shop_id], state, distance) for shop_id, state, distance in chosen if shop_id in shops
    ]


def _popular_choice(now: dt.datetime) -> sa.Select[Any]:
    bought = sa.func.sum(OrderLine.quantity)
    return (
        sa.select(OrderLine.product_id)
        .join(VendorOrder, VendorOrder.id == OrderLine.vendor_order_id)
        .join(Order, Order.id == VendorOrder.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .join(Shop, Shop.id == Product.shop_id)
        .where(
            Order.status == OrderStatus.PAID,
            Order.paid_at >= now - dt.timedelta(days=POPULAR_DAYS),
            product_online(),
        )
        .group_by(OrderLine.product_id)
        .order_by(bought.desc(), OrderLine.product_id)
        .limit(BLOCK_SIZE)
    )


def popular_products(now: dt.datetime, rows: HomeRows | None = None) -> list[Card]:
    """The products most ordered (paid orders) in the town over the last 30 days."""
    return _products_of(_chosen(HomeBlockKind.POPULAR, now), rows)


@dataclass(frozen=True)
class Rating:
    """A published rating, as the cards show it."""

    review_count: int
    rating_sum: int

    @property
    def average(self) -> float:
        return self.rating_sum / self.review_count


def _best_rated(subject: RatingSubject, online: sa.Select[Any]) -> sa.Select[int, int, int]:
    average = sa.cast(RatingSummary.rating_sum, sa.Float) / RatingSummary.review_count
    return (
        sa.select(RatingSummary.subject_id, RatingSummary.review_count, RatingSummary.rating_sum)
        .where(
            RatingSummary.subject == subject,
            RatingSummary.review_count >= BEST_RATED_MIN_REVIEWS,
            RatingSummary.subject_id.in_(online),
        )
        .order_by(average.desc(), RatingSummary.review_count.desc(), RatingSummary.subject_id)
        .limit(BLOCK_SIZE)
    )


def best_rated_products(now: dt.datetime, rows: HomeRows | None = None) -> list[tuple[Card, Rating]]:
    rated = _chosen(HomeBlockKind.BEST_PRODUCTS, now)
    products = {product.id: product for product in _products_of([pid for pid, _ in rated], rows)}
    return [(products[pid], rating) for pid, rating in rated if pid in products]


def best_rated_shops(now: dt.datetime, rows: HomeRows | None = None) -> list[ShopEntry]:
    rated = _chosen(HomeBlockKind.BEST_SHOPS, now)
    entries = {
        entry.shop.id: entry
        for entry in _shop_entries(
            _shops_of([sid for sid, _ in rated], rows), now, states=rows.states if rows else None
        )
    }
    result = []
    for shop_id, rating in rated:
        entry = entries.get(shop_id)
        if entry is not None:
            entry.rating = rating
            result.append(entry)
    return result


@dataclass
class HomeRows:
    """The products and shops of every block of the page, read together rather than block by block:
    a block finds its rows here (still online: they are read on every request)."""

    products: dict[int, Card] = field(default_factory=dict)
    shops: dict[int, Shop] = field(default_factory=dict)
    timetable: Timetable | None = None  # every shop's hours, when the open-now block is shown
    states: dict[int, hours.OpenState] | None = None  # what the timetable says of each shop now


PRODUCT_BLOCKS = (HomeBlockKind.NEW_PRODUCTS, HomeBlockKind.POPULAR, HomeBlockKind.BEST_PRODUCTS)


def home_rows(
    kinds: Sequence[HomeBlockKind], now: dt.datetime, near: tuple[float, float] | None = None
) -> HomeRows:
    """Read the rows of the blocks ``kinds`` at once: their products in one go (with what a card
    shows), their shops in another (with the open ones the open-now block shows near ``near``)."""
    choose_blocks(kinds, now)
    product_ids: list[int] = []
    if HomeBlockKind.NEW_PRODUCTS in kinds:
        product_ids += _new_ids(now)
    if HomeBlockKind.POPULAR in kinds:
        product_ids += _chosen(HomeBlockKind.POPULAR, now)
    if HomeBlockKind.BEST_PRODUCTS in kinds:
        product_ids += [pid for pid, _ in _chosen(HomeBlockKind.BEST_PRODUCTS, now)]
    rows = HomeRows(
        products={product.id: product for product in _public_products(list(dict.fromkeys(product_ids)))}
    )
    shop_ids: list[int] = []
    if HomeBlockKind.OPEN_NOW in kinds:
        rows.timetable = timetable(now)
        rows.states = rows.timetable.states(now)
        shop_ids += [shop_id for shop_id, _, _ in _open_choice(rows.timetable, rows.states, near)]
    if HomeBlockKind.FEATURED_SHOPS in kinds:
        shop_ids += _featured_ids(now)
    if HomeBlockKind.BEST_SHOPS in kinds:
        shop_ids += [sid for sid, _ in _chosen(HomeBlockKind.BEST_SHOPS, now)]
    # With the timetable read, a card's open state is known: its shop needs no hours of its own.
    with_hours = rows.states is None
    rows.shops = {shop.id: shop for shop in _public_shops(list(dict.fromkeys(shop_ids)), with_hours)}
    return rows


def _products_of(ids: Sequence[int], rows: HomeRows | None) -> list[Card]:
    if rows is None:
        return _public_products(ids)
    return [rows.products[product_id] for product_id in ids if product_id in rows.products]


def _shops_of(ids: Sequence[int], rows: HomeRows | None) -> list[Shop]:
    if rows is None:
        return _public_shops(ids)
    return [rows.shops[shop_id] for shop_id in ids if shop_id in rows.shops]


def block_data(
    kind: HomeBlockKind,
    now: dt.datetime,
    near: tuple[float, float] | None = None,
    rows: HomeRows | None = None,
) -> Any:
    """What one block shows; empty (falsy) when it has nothing, and the block then hides itself.
    ``rows``: what home_rows() read for the whole page, else each block reads its own.

    The choice of each shared block (which ids) is cached for a minute; the rows are read on every
    request, so something gone offline since leaves the page at once."""
    if kind == HomeBlockKind.CATEGORIES:
        return category_menu()
    if kind == HomeBlockKind.COLLECTIONS:
        return current_collections(now)
    if kind == HomeBlockKind.FEATURED_SHOPS:
        return featured_shops(now, rows)
    if kind == HomeBlockKind.NEW_PRODUCTS:
        return new_products(now, rows)
    if kind == HomeBlockKind.OPEN_NOW:
        return open_now(now, near, rows)
    if kind == HomeBlockKind.POPULAR:
        return popular_products(now, rows)
    if kind == HomeBlockKind.BEST_PRODUCTS:
        return best_rated_products(now, rows)
    return best_rated_shops(now, rows)


# -- a collection's page ------------------------------------------------------------------------------


@dataclass
class CollectionPage:
    collection: Collection
    products: list[Card] = field(default_factory=list)
    shops: list[ShopEntry] = field(default_factory=list)


def collection_page(slug: str, now: dt.datetime) -> CollectionPage | None:
    """A current collection with what of it is still online; None if expired, not begun or empty."""
    collection = db.session.scalar(sa.select(Collection).where(Collection.slug == slug[:80]))
    if collection is None or not collection.is_current(now):
        return None
    page = CollectionPage(collection)
    if collection.kind == CollectionKind.PRODUCTS:
        page.products = _public_products([item.product_id for item in collection.items if item.product_id])
    else:
        page.shops = _shop_entries(
            _public_shops([item.shop_id for item in collection.items if item.shop_id]), now
        )
    if not page.products and not page.shops:
        return None
    return page


# -- the manager's changes ------------------------------------------------------------------------------


def _check_manager(manager: User) -> None:
    if not manager.is_manager:
        raise SiteError(_l("Réservé à la gestion de la place de marché."))


def _all_blocks_locked() -> list[HomeBlock]:
    """Every block's row, locked, created in its default place where missing, in the page's order."""
    saved = {block.kind: block for block in db.session.scalars(locked(sa.select(HomeBlock)))}
    for kind, enabled in block_order():
        if kind not in saved:
            saved[kind] = HomeBlock(kind=kind, enabled=enabled)
            db.session.add(saved[kind])
    ordered = [saved[kind] for kind, _ in block_order()]
    for position, block in enumerate(ordered):
        block.position = position
    return ordered


def move_block(manager: User, kind: HomeBlockKind, direction: int) -> None:
    """Up (direction < 0) or down one place on the home page."""
    _check_manager(manager)
    blocks = _all_blocks_locked()
    index = next(index for index, block in enumerate(blocks) if block.kind == kind)
    target = index + (1 if direction > 0 else -1)
    if 0 <= target < len(blocks):
        blocks[index].position, blocks[target].position = target, index
    audit.record(manager, "home_page", 0, "block_moved", block=kind.value, direction=direction)
    block_cache.clear()


def set_block_enabled(manager: User, kind: HomeBlockKind, enabled: bool) -> None:
    _check_manager(manager)
    block = next(block for block in _all_blocks_locked() if block.kind == kind)
    block.enabled = enabled
    audit.record(manager, "home_page", 0, "block_enabled" if enabled else "block_disabled", block=kind.value)
    block_cache.clear()


@dataclass(frozen=True)
class CollectionData:
    title: str
    slug: str
    text: str
    kind: CollectionKind
    starts_on: dt.date | None
    ends_on: dt.date | None


def town_midnight(day: dt.date) -> dt.datetime:
    """The start of ``day`` on the town's clock, in UTC."""
    return dt.datetime.combine(day, dt.time(), tzinfo=TOWN_TZ).astimezone(dt.UTC)


def save_collection(manager: User, collection_id: int | None, data: CollectionData) -> Collection:
    """Create or edit a collection. Shown from the morning of ``starts_on`` to the evening of ``ends_on``."""
    _check_manager(manager)
    title = data.title.strip()
    if not title:
        raise SiteError(_l("Donnez un titre à la sélection."), "title")
    slug = data.slug.strip().lower()
    if not SLUG_PATTERN.fullmatch(slug) or len(slug) > 80:
        raise SiteError(_l("Lettres minuscules, chiffres et tirets seulement."), "slug")
    if data.starts_on and data.ends_on and data.ends_on < data.starts_on:
        raise SiteError(_l("La fin vient avant le début."), "ends_on")
    collection = None
    if collection_id is not None:
        collection = lock(Collection, collection_id)
        if collection is None:
            raise SiteError(_l("Sélection introuvable."))
    clash = db.session.scalar(sa.select(Collection).where(Collection.slug == slug))
    if clash is not None and clash is not collection:
        raise SiteError(_l("Cette adresse est déjà prise : choisissez-en une autre."), "slug")
    if collection is None:
        collection = Collection(kind=data.kind)
        db.session.add(collection)
    elif collection.kind != data.kind and collection.items:
        raise SiteError(_l("Retirez d’abord ses éléments pour changer de genre."), "kind")
    collection.title = title[:120]
    collection.slug = slug
    collection.text = data.text.strip()[:5000]
    collection.kind = data.kind
    collection.starts_at = town_midnight(data.starts_on) if data.starts_on else None
    collection.ends_at = town_midnight(data.ends_on + dt.timedelta(days=1)) if data.ends_on else None
    db.session.flush()
    audit.record(
        manager,
        "collection",
        collection.id,
        "saved",
        starts_on=data.starts_on.isoformat() if data.starts_on else None,
        ends_on=data.ends_on.isoformat() if data.ends_on else None,
    )
    block_cache.clear()
    return collection


def set_collection_image(manager: User, collection_id: int, stream: IO[bytes]) -> Collection:
    _check_manager(manager)
    collection = _locked_collection(collection_id)
    try:
        stored = images.store_image(
            stream,
            folder="collections",
            max_bytes=current_app.config["MAX_IMAGE_BYTES"],
            sizes=COLLECTION_IMAGE_SIZES,
            main_size=(1600, 1600),
            min_size=(200, 200),
        )
    except images.ImageRejected as rejected:
        raise SiteError(images.rejection_message(rejected), "image") from rejected
    collection.image_path = stored.path
    collection.image_thumbnails = stored.thumbnails
    audit.record(manager, "collection", collection.id, "image_changed")
    block_cache.clear()
    return collection


def _locked_collection(collection_id: int) -> Collection:
    collection = lock(Collection, collection_id)
    if collection is None:
        raise SiteError(_l("Sélection introuvable."))
    return collection


def delete_collection(manager: User, collection_id: int) -> None:
    _check_manager(manager)
    collection = _locked_collection(collection_id)
    audit.record(manager, "collection", collection.id, "deleted", slug=collection.slug)
    db.session.delete(collection)
    block_cache.clear()


def add_collection_item(manager: User, collection_id: int, item_id: int) -> CollectionItem:
    """Add a product (or a shop, for a collection of shops) at the end of the collection."""
    _check_manager(manager)
    collection = _locked_collection(collection_id)
    if len(collection.items) >= MAX_COLLECTION_ITEMS:
        raise SiteError(_l("%(count)d éléments au plus par sélection.", count=MAX_COLLECTION_ITEMS))
    if collection.kind == CollectionKind.PRODUCTS:
        product = db.session.get(Product, item_id)
        if product is None or product.status == ProductStatus.ARCHIVED:
            raise SiteError(_l("Produit introuvable."))
        if any(item.product_id == product.id for item in collection.items):
            raise SiteError(_l("Déjà dans la sélection."))
        item = CollectionItem(product_id=product.id)
    else:
        shop = db.session.get(Shop, item_id)
        if shop is None:
            raise SiteError(_l("Boutique introuvable."))
        if any(item.shop_id == shop.id for item in collection.items):
            raise SiteError(_l("Déjà dans la sélection."))
        item = CollectionItem(shop_id=shop.id)
    item.position = max((existing.position for existing in collection.items), default=-1) + 1
    collection.items.append(item)
    db.session.flush()
    audit.record(
        manager, "collection", collection.id, "item_added", product_id=item.product_id, shop_id=item.shop_id
    )
    block_cache.clear()
    return item


def _item_of(collection: Collection, item_id: int) -> CollectionItem:
    item = next((item for item in collection.items if item.id == item_id), None)
    if item is None:
        raise SiteError(_l("Cet élément n’est pas dans la sélection."))
    return item


def remove_collection_item(manager: User, collection_id: int, item_id: int) -> None:
    _check_manager(manager)
    collection = _locked_collection(collection_id)
    item = _item_of(collection, item_id)
    collection.items.remove(item)
    audit.record(
        manager, "collection", collection.id, "item_removed", product_id=item.product_id, shop_id=item.shop_id
    )
    block_cache.clear()


def move_collection_item(manager: User, collection_id: int, item_id: int, direction: int) -> None:
    _check_manager(manager)
    collection = _locked_collection(collection_id)
    items = list(collection.items)
    index = items.index(_item_of(collection, item_id))
    target = index + (1 if direction > 0 else -1)
    if 0 <= target < len(items):
        items[index], items[target] = items[target], items[index]
        for position, item in enumerate(items):
            item.position = position
    audit.record(manager, "collection", collection.id, "item_moved", item_id=item_id, direction=direction)
    block_cache.clear()


def feature_shop(manager: User, shop_id: int) -> FeaturedShop:
    _check_manager(manager)
    shop = db.session.get(Shop, shop_id)
    if shop is None:
        raise SiteError(_l("Boutique introuvable."))
    featured = list(db.session.scalars(locked(sa.select(FeaturedShop).order_by(FeaturedShop.position))))
    if any(entry.shop_id == shop.id for entry in featured):
        raise SiteError(_l("Cette boutique est déjà à la une."))
    if len(featured) >= MAX_FEATURED_SHOPS:
        raise SiteError(_l("%(count)d boutiques à la une au plus.", count=MAX_FEATURED_SHOPS))
    entry = FeaturedShop(shop_id=shop.id, position=max((f.position for f in featured), default=-1) + 1)
    db.session.add(entry)
    audit.record(manager, "home_page", 0, "shop_featured", shop_id=shop.id)
    block_cache.clear()
    return entry


def _featured_locked() -> list[FeaturedShop]:
    return list(
        db.session.scalars(locked(sa.select(FeaturedShop).order_by(FeaturedShop.position, FeaturedShop.id)))
    )


def unfeature_shop(manager: User, shop_id: int) -> None:
    _check_manager(manager)
    entry = next((entry for entry in _featured_locked() if entry.shop_id == shop_id), None)
    if entry is None:
        raise SiteError(_l("Cette boutique n’est pas à la une."))
    db.session.delete(entry)
    audit.record(manager, "home_page", 0, "shop_unfeatured", shop_id=shop_id)
    block_cache.clear()


def move_featured_shop(manager: User, shop_id: int, direction: int) -> None:
    _check_manager(manager)
    entries = _featured_locked()
    index = next((index for index, entry in enumerate(entries) if entry.shop_id == shop_id), None)
    if index is None:
        raise SiteError(_l("Cette boutique n’est pas à la une."))
    target = index + (1 if direction > 0 else -1)
    if 0 <= target < len(entries):
        entries[index], entries[target] = entries[target], entries[index]
        for position, entry in enumerate(entries):
            entry.position = position
    audit.record(manager, "home_page", 0, "featured_moved", shop_id=shop_id, direction=direction)
    block_cache.clear()


# -- the manager's pages (reading) -----------------------------------------------------------------------


def all_collections() -> list[Collection]:
    return list(
        db.session.scalars(
            sa.select(Collection)
            .options(selectinload(Collection.items))
            .order_by(Collection.starts_at.desc().nulls_last(), Collection.id.desc())
        )
    )


def collection_items(collection: Collection) -> list[CollectionItem]:
    return list(
        db.session.scalars(
            sa.select(CollectionItem)
            .where(CollectionItem.collection_id == collection.id)
            .options(
                joinedload(CollectionItem.product).joinedload(Product.shop), joinedload(CollectionItem.shop)
            )
            .order_by(CollectionItem.position, CollectionItem.id)
        )
    )


def featured_list() -> list[FeaturedShop]:
    return list(
        db.session.scalars(
            sa.select(FeaturedShop)
            .options(joinedload(FeaturedShop.shop))
            .order_by(FeaturedShop.position, FeaturedShop.id)
        )
    )


def _like(text: str) -> str:
    escaped = text.strip()[:100].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def pick_products(text: str) -> list[Card]:
    """Active products whose title or shop matches ``text``, for the manager to add to a collection."""
    if not text.strip():
        return []
    pattern = _like(text)
    return list(
        db.session.scalars(
            sa.select(Product)
            .join(Shop, Shop.id == Product.shop_id)
            .where(
                Product.status == ProductStatus.ACTIVE,
                sa.or_(Product.title.ilike(pattern, escape="\\"), Shop.name.ilike(pattern, escape="\\")),
            )
            .options(joinedload(Product.shop))
            .order_by(Product.title, Product.id)
            .limit(PICK_RESULTS)
        )
    )


def pick_shops(text: str) -> list[Shop]:
    if not text.strip():
        return []
    return list(
        db.session.scalars(
            sa.select(Shop)
            .where(Shop.is_public, Shop.name.ilike(_like(text), escape="\\"))
            .order_by(Shop.name, Shop.id)
            .limit(PICK_RESULTS)
        )
    )
