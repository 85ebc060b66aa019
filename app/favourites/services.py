"""Favourites use cases: save a product, follow a shop (signed in, or as a guest in the session), join
a guest's favourites to the account at log-in, the favourites page, and the weekly e-mail.

A guest's favourites are a small dict kept in their session, ``{"products": {"<id>": price_cents},
"shops": [ids]}``: the functions taking ``guest`` return the new dict for the view to store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import mail
from app.accounts.models import User
from app.catalog.models import Product, ProductStatus
from app.database import lock, utcnow
from app.errors import ServiceError
from app.extensions import db
from app.favourites.models import FollowedShop, SavedProduct, WeeklyDigest
from app.routing import parse_id
from app.urls import external_url
from vendors.hours import TOWN_TZ
from vendors.models import Shop

# A guest's favourites live in a signed cookie: keep them small.
GUEST_MAX_PRODUCTS = 100
GUEST_MAX_SHOPS = 50
NEW_PRODUCTS_DAYS = 7
DIGEST_MAX_LINES = 20  # per section of the e-mail
UNSUBSCRIBE_SALT = "favourites.unsubscribe"


class FavouriteError(ServiceError):
    """A refused favourite change."""


def _price(product: Product) -> int | None:
    prices = [variant.price_cents for variant in product.variants]
    return min(prices) if prices else None


# -- what may be saved or followed ----------------------------------------------------------------


def _public_product(product_id: Any) -> Product:
    try:
        wanted = parse_id(str(product_id))
    except ValueError:
        raise FavouriteError(_l("Ce produit n’existe pas.")) from None
    product = db.session.scalar(
        sa.select(Product)
        .join(Shop, Shop.id == Product.shop_id)
        .where(Product.id == wanted, Product.status == ProductStatus.ACTIVE, Shop.is_public)
        .options(selectinload(Product.variants))
    )
    if product is None or _price(product) is None:
        raise FavouriteError(_l("Ce produit n’est plus disponible."))
    return product


def _public_shop(shop_id: Any) -> Shop:
    try:
        wanted = parse_id(str(shop_id))
    except ValueError:
        raise FavouriteError(_l("Cette boutique n’existe pas.")) from None
    shop = db.session.scalar(sa.select(Shop).where(Shop.id == wanted, Shop.is_public))
    if shop is None:
        raise FavouriteError(_l("Cette boutique n’est pas ouverte au public."))
    return shop


# -- signed-in shoppers -----------------------------------------------------------------------------


def _insert_once(row: SavedProduct | FollowedShop) -> None:
    """Add the row unless the same one exists: a double click, or two tabs, make one favourite."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        pass  # saved meanwhile by the other click: the unique constraint kept one


def save_product(user: User, product_id: Any) -> Product:
    """Save a product to the shopper's favourites, remembering its price (saving twice changes nothing)."""
    product = _public_product(product_id)
    exists = sa.select(SavedProduct.id).where(
        SavedProduct.user_id == user.id, SavedProduct.product_id == product.id
    )
    if db.session.scalar(exists) is None:
        price = _price(product)
        assert price is not None
        _insert_once(SavedProduct(user_id=user.id, product_id=product.id, price_seen_cents=price))
    return product


def remove_product(user: User, product_id: Any) -> None:
    """Take a product out of the favourites (even one no longer for sale)."""
    try:
        wanted = parse_id(str(product_id))
    except ValueError:
        return
    db.session.execute(
        sa.delete(SavedProduct).where(SavedProduct.user_id == user.id, SavedProduct.product_id == wanted)
    )


def follow_shop(user: User, shop_id: Any) -> Shop:
    """Follow a shop: its new products come in the weekly e-mail (following twice changes nothing)."""
    shop = _public_shop(shop_id)
    exists = sa.select(FollowedShop.id).where(
        FollowedShop.user_id == user.id, FollowedShop.shop_id == shop.id
    )
    if db.session.scalar(exists) is None:
        _insert_once(FollowedShop(user_id=user.id, shop_id=shop.id))
    return shop


def unfollow_shop(user: User, shop_id: Any) -> None:
    try:
        wanted = parse_id(str(shop_id))
    except ValueError:
        return
    db.session.execute(
        sa.delete(FollowedShop).where(FollowedShop.user_id == user.id, FollowedShop.shop_id == wanted)
    )


# -- guests ---------------------------------------------------------------------------------------


def guest_favourites(raw: Any) -> dict[str, Any]:
    """The guest's favourites as read from their session, cleaned of anything malformed."""
    products: dict[str, int] = {}
    shops: list[int] = []
    if isinstance(raw, dict):
        for key, price in dict(raw.get("products") or {}).items():
            if str(key).isdigit() and isinstance(price, int) and price > 0:
                products[str(int(key))] = price
        for shop_id in list(raw.get("shops") or []):
            if isinstance(shop_id, int) and shop_id > 0 and shop_id not in shops:
                shops.append(shop_id)
    return {"products": products, "shops": shops}


def guest_save_product(guest: Any, product_id: Any) -> tuple[dict[str, Any], Product]:
    kept = guest_favourites(guest)
    product = _public_product(product_id)
    if str(product.id) not in kept["products"]:
        if len(kept["products"]) >= GUEST_MAX_PRODUCTS:
            raise FavouriteError(
                _l("Créez un compte pour garder plus de %(count)d favoris.", count=GUEST_MAX_PRODUCTS)
            )
        kept["products"][str(product.id)] = _price(product)
    return kept, product


def guest_remove_product(guest: Any, product_id: Any) -> dict[str, Any]:
    kept = guest_favourites(guest)
    kept["products"].pop(str(product_id).strip(), None)
    return kept


def guest_follow_shop(guest: Any, shop_id: Any) -> tuple[dict[str, Any], Shop]:
    kept = guest_favourites(guest)
    shop = _public_shop(shop_id)
    if shop.id not in kept["shops"]:
        if len(kept["shops"]) >= GUEST_MAX_SHOPS:
            raise FavouriteError(
                _l("Créez un compte pour suivre plus de %(count)d boutiques.", count=GUEST_MAX_SHOPS)
            )
        kept["shops"].append(shop.id)
    return kept, shop


def guest_unfollow_shop(guest: Any, shop_id: Any) -> dict[str, Any]:
    kept = guest_favourites(guest)
    kept["shops"] = [kept_id for kept_id in kept["shops"] if str(kept_id) != str(shop_id).strip()]
    return kept


def merge_guest(user: User, guest: Any) -> int:
    """A guest's favourites join the account at log-in, keeping the price they saw; returns how many
    were new to the account. What is no longer public is left out."""
    kept = guest_favourites(guest)
    added = 0
    product_ids = [int(key) for key in kept["products"]]
    if product_ids:
        already = set(
            db.session.scalars(
                sa.select(SavedProduct.product_id).where(
                    SavedProduct.user_id == user.id, SavedProduct.product_id.in_(product_ids)
                )
            )
        )
        public = set(
            db.session.scalars(
                sa.select(Product.id)
                .join(Shop, Shop.id == Product.shop_id)
                .where(Product.id.in_(product_ids), Product.status == ProductStatus.ACTIVE, Shop.is_public)
            )
        )
        for product_id in sorted(public - already):
            price = kept["products"][str(product_id)]
            _insert_once(SavedProduct(user_id=user.id, product_id=product_id, price_seen_cents=price))
            added += 1
    if kept["shops"]:
        already = set(
            db.session.scalars(
                sa.select(FollowedShop.shop_id).where(
                    FollowedShop.user_id == user.id, FollowedShop.shop_id.in_(kept["shops"])
                )
            )
        )
        public = set(db.session.scalars(sa.select(Shop.id).where(Shop.id.in_(kept["shops"]), Shop.is_public)))
        for shop_id in sorted(public - already):
            _insert_once(FollowedShop(user_id=user.id, shop_id=shop_id))
            added += 1
    return added


# -- reading --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FavouriteIds:
    """What the hearts and "Suivre" buttons of a page show as already chosen."""

    products: frozenset[int] = frozenset()
    shops: frozenset[int] = frozenset()


def favourite_ids(user: User | None, guest: Any = None) -> FavouriteIds:
    if user is None:
        kept = guest_favourites(guest)
        return FavouriteIds(frozenset(int(key) for key in kept["products"]), frozenset(kept["shops"]))
    products = db.session.scalars(sa.select(SavedProduct.product_id).where(SavedProduct.user_id == user.id))
    shops = db.session.scalars(sa.select(FollowedShop.shop_id).where(FollowedShop.user_id == user.id))
    return FavouriteIds(frozenset(products), frozenset(shops))


@dataclass(frozen=True)
class SavedLine:
    product: Product
    price_seen_cents: int
    available: bool

    @property
    def price_now_cents(self) -> int | None:
        return _price(self.product)

    @property
    def dropped(self) -> bool:
        now = self.price_now_cents
        return self.available and now is not None and now < self.price_seen_cents


@dataclass(frozen=True)
class Favourites:
    products: list[SavedLine] = field(default_factory=list)
    shops: list[Shop] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.products and not self.shops


def _available(product: Product) -> bool:
    return product.status == ProductStatus.ACTIVE and product.shop.is_public and bool(product.variants)


def _products(ids: Iterable[int]) -> dict[int, Product]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = db.session.scalars(
        sa.select(Product)
        .where(Product.id.in_(wanted))
        .options(selectinload(Product.variants), selectinload(Product.photos), selectinload(Product.shop))
    )
    return {product.id: product for product in rows}


def favourites(user: User | None, guest: Any = None) -> Favourites:
    """The favourites page: saved products, newest first, those no longer for sale said so (a product
    of a shop no longer public says nothing of the shop); followed shops that are public."""
    if user is None:
        kept = guest_favourites(guest)
        seen = {int(key): price for key, price in kept["products"].items()}
        order = list(reversed(list(seen)))
        shop_ids = list(reversed(kept["shops"]))
    else:
        rows = db.session.execute(
            sa.select(SavedProduct.product_id, SavedProduct.price_seen_cents)
            .where(SavedProduct.user_id == user.id)
            .order_by(SavedProduct.created_at.desc(), SavedProduct.id.desc())
        ).all()
        seen = {int(product_id): int(price) for product_id, price in rows}
        order = [product_id for product_id, _ in rows]
        shop_ids = list(
            db.session.scalars(
                sa.select(FollowedShop.shop_id)
                .where(FollowedShop.user_id == user.id)
                .order_by(FollowedShop.created_at.desc(), FollowedShop.id.desc())
            )
        )
    found = _products(order)
    lines = [
        SavedLine(found[product_id], seen[product_id], _available(found[product_id]))
        for product_id in order
        if product_id in found
    ]
    shops = {
        shop.id: shop
        for shop in db.session.scalars(
            sa.select(Shop).where(Shop.id.in_(shop_ids), Shop.is_public).options(selectinload(Shop.category))
        )
    }
    return Favourites(lines, [shops[shop_id] for shop_id in shop_ids if shop_id in shops])


# -- the weekly e-mail ----------------------------------------------------------------------------


def weekly_enabled(user: User) -> bool:
    row = db.session.get(WeeklyDigest, user.id)
    return bool(row and row.enabled)


def _digest_row(user_id: int) -> WeeklyDigest:
    """The shopper's row, created if missing, locked until the transaction ends."""
    row = lock(WeeklyDigest, user_id)
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(WeeklyDigest(user_id=user_id, enabled=False))
        except IntegrityError:
            pass  # created meanwhile by another transaction
        row = lock(WeeklyDigest, user_id)
    assert row is not None
    return row


def set_weekly(user: User, enabled: bool) -> None:
    """Opt in or out of the weekly e-mail of favourites."""
    _digest_row(user.id).enabled = bool(enabled)


def unsubscribe_token(user: User) -> str:
    return str(URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT).dumps(user.id))


def token_user(token: str) -> User:
    """The shopper an unsubscribe token names (it never expires: an old e-mail's link still works)."""
    try:
        user_id = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT).loads(token)
    except BadSignature:
        raise FavouriteError(_l("Ce lien de désabonnement n’est pas valable.")) from None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None:
        raise FavouriteError(_l("Ce lien de désabonnement n’est pas valable."))
    return user


def unsubscribe(token: str) -> User:
    """The e-mail's one-click unsubscribe: the signed token names the shopper; no log-in needed."""
    user = token_user(token)
    _digest_row(user.id).enabled = False
    return user


def week_of(moment: dt.datetime) -> str:
    """The town's ISO week of ``moment``, as "2026-W49"."""
    year, week, _ = moment.astimezone(TOWN_TZ).isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True)
class PriceDrop:
    saved: SavedProduct
    before_cents: int
    now_cents: int


@dataclass(frozen=True)
class Digest:
    new_products: list[Product]
    price_drops: list[PriceDrop]

    @property
    def empty(self) -> bool:
        return not self.new_products and not self.price_drops


def digest(user: User, now: dt.datetime, since: dt.datetime | None = None) -> Digest:
    """What the weekly e-mail would say: products put online by followed shops since ``since`` (at most
    7 days back), and saved products now cheaper than when saved or last mailed."""
    start = now - dt.timedelta(days=NEW_PRODUCTS_DAYS)
    if since is not None and since > start:
        start = since
    followed = sa.select(FollowedShop.shop_id).where(FollowedShop.user_id == user.id)
    new_products = list(
        db.session.scalars(
            sa.select(Product)
            .join(Shop, Shop.id == Product.shop_id)
            .where(
                Product.shop_id.in_(followed),
                Product.status == ProductStatus.ACTIVE,
                Shop.is_public,
                Product.variants.any(),
                Product.created_at > start,
                Product.created_at <= now,
            )
            .order_by(Product.created_at.desc(), Product.id.desc())
            .limit(DIGEST_MAX_LINES)
            .options(selectinload(Product.variants), selectinload(Product.shop))
        )
    )
    saved = db.session.scalars(
        sa.select(SavedProduct)
        .join(Product, Product.id == SavedProduct.product_id)
        .join(Shop, Shop.id == Product.shop_id)
        .where(SavedProduct.user_id == user.id, Product.status == ProductStatus.ACTIVE, Shop.is_public)
        .order_by(SavedProduct.id)
        .options(selectinload(SavedProduct.product).selectinload(Product.variants))
    )
    drops = []
    for row in saved:
        now_cents = _price(row.product)
        if now_cents is not None and now_cents < row.reference_cents:
            drops.append(PriceDrop(row, row.reference_cents, now_cents))
    return Digest(new_products, drops[:DIGEST_MAX_LINES])


def send_weekly(user_id: int, now: dt.datetime | None = None) -> bool:
    """Send one shopper's weekly e-mail, at most once per week (the town's), and only when there is
    something new. Remembers the prices mailed, so next week tells only of new drops."""
    now = now or utcnow()
    row = _digest_row(user_id)
    user = db.session.get(User, user_id)
    if user is None or not user.is_active or not row.enabled or row.last_week == week_of(now):
        return False
    found = digest(user, now, row.last_sent_at)
    row.last_week = week_of(now)  # looked at this week, even with nothing to say: no second look
    if found.empty:
        return False
    row.last_sent_at = now
    for drop in found.price_drops:
        drop.saved.price_mailed_cents = drop.now_cents
    token = unsubscribe_token(user)
    unsubscribe_url = external_url("favourites.unsubscribe", token=token)
    mail.send(
        user.email,
        _l("Vos favoris cette semaine"),
        "favourites/weekly",
        locale=user.locale,
        headers={
            "List-Unsubscribe": f"<{unsubscribe_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
        user=user,
        digest=found,
        favourites_url=external_url("favourites.show"),
        unsubscribe_url=unsubscribe_url,
        product_url=lambda product: external_url("catalog.product", product_id=product.id),
    )
    return True


def subscribers() -> list[int]:
    """The shoppers who asked for the weekly e-mail."""
    return list(
        db.session.scalars(
            sa.select(WeeklyDigest.user_id)
            .where(WeeklyDigest.enabled.is_(True))
            .order_by(WeeklyDigest.user_id)
        )
    )
