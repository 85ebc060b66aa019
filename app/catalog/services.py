"""Catalogue use cases: products and their variants, photos, stock, the category tree.

Every function takes the acting person (or the shop member acting) explicitly and never commits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy.orm import contains_eager, joinedload, raiseload, selectinload

from app import events, images, jobs, pagecache
from app.accounts.models import User
from app.audit import services as audit
from app.caching import Detached, TTLCache
from app.catalog.cards import Card, card_list, sold_as
from app.catalog.identifiers import InvalidGtin, normalize_gtin
from app.catalog.models import (
    MAX_STOCK,
    VAT_RATES_BPS,
    Category,
    Product,
    ProductPhoto,
    ProductStatus,
    StockMovement,
    StockReason,
    Variant,
    WithdrawalExclusion,
)
from app.database import database_backend, utcnow
from app.errors import ServiceError
from app.extensions import db
from app.i18n import localized, sort_key
from app.pagination import ListingPage, OrderedListing
from vendors.models import Shop, ShopMember, VatRegime

MAX_VARIANTS = 100
# What a shop is told when a stock it sets would exceed MAX_STOCK (the form, an import, the API).
ABOVE_MAX_STOCK = _l("Le stock ne peut pas dépasser %(max)d unités.", max=MAX_STOCK)
MAX_PHOTOS = 12
PHOTO_SIZES = {"thumb": (400, 400, "crop"), "card": (640, 640, "crop")}
# What a product card shows, loaded with the page's products rather than one query per card.
CARD_LOADING = (selectinload(Product.photos), selectinload(Product.variants), joinedload(Product.shop))
SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,63}$")


class CatalogError(ServiceError):
    """A refused catalogue use case."""


# -- withdrawal exclusions (Code de la consommation, L221-28) -------------------------------------

# Why the goods cannot be withdrawn, as the shopper reads it before buying (and in a refusal).
EXCLUSION_REASONS = {
    WithdrawalExclusion.PERISHABLE: _l(
        "bien périssable, susceptible de se détériorer ou de se périmer rapidement"
    ),
    WithdrawalExclusion.PERSONALISED: _l(
        "bien confectionné selon vos spécifications ou nettement personnalisé"
    ),
    WithdrawalExclusion.HYGIENE_SEAL: _l(
        "bien scellé ne pouvant être renvoyé pour des raisons d’hygiène ou de protection de la santé, "
        "s’il a été descellé après la livraison"
    ),
    WithdrawalExclusion.SEALED_MEDIA: _l(
        "enregistrement audio ou vidéo ou logiciel scellé, s’il a été descellé après la livraison"
    ),
}


def exclusion_reason(exclusion: WithdrawalExclusion | str | None) -> str:
    """The legal reason goods are excluded from withdrawal, in the current language ("" when they are not)."""
    if not exclusion:
        return ""
    reason = EXCLUSION_REASONS.get(WithdrawalExclusion(exclusion))
    return str(reason) if reason is not None else ""


def exclusion_notice(exclusion: WithdrawalExclusion | str | None) -> str:
    """The sentence shown before purchase (product page, cart, checkout) for excluded goods."""
    reason = exclusion_reason(exclusion)
    if not reason:
        return ""
    return str(
        _l(
            "Pas de droit de rétractation (article L221-28 du Code de la consommation) : %(reason)s.",
            reason=reason,
        )
    )


# -- the product limit ----------------------------------------------------------------------------


def product_limit(shop: Shop) -> int | None:
    """How many active products the shop may have (its plan's limit); None for no limit."""
    from payouts import subscriptions

    return subscriptions.product_limit(shop)


def active_product_count(shop: Shop, excluding: Product | None = None) -> int:
    query = (
        sa.select(sa.func.count())
        .select_from(Product)
        .where(Product.shop_id == shop.id, Product.status == ProductStatus.ACTIVE)
    )
    if excluding is not None and excluding.id is not None:
        query = query.where(Product.id != excluding.id)
    return int(db.session.scalar(query) or 0)


def _limit_message(limit: int) -> Any:
    return lazy_ngettext(
        "Votre formule permet %(num)d produit en ligne : archivez-en un ou changez de formule.",
        "Votre formule permet %(num)d produits en ligne : archivez-en un ou changez de formule.",
        limit,
    )


def _lock_shop(shop: Shop) -> None:
    """Hold the shop's row until the transaction ends, so that two requests putting products online count
    one after the other and cannot both take the last free slot. ``FOR NO KEY UPDATE`` leaves the rows
    that merely reference the shop (orders, products) free to be written meanwhile."""
    db.session.execute(sa.select(Shop.id).where(Shop.id == shop.id).with_for_update(key_share=True))


def _check_limit(shop: Shop, product: Product | None, adding: int = 1, field: str | None = "status") -> None:
    """Refuse ``adding`` more products online beyond the plan's limit (``product``: one already counted
    as online is not counted twice). Call it before a new product joins the session: the count would
    flush it half-filled."""
    limit = product_limit(shop)
    if limit is None:
        return
    _lock_shop(shop)
    if active_product_count(shop, excluding=product) + adding > limit:
        raise CatalogError(_limit_message(limit), field=field)


# -- products and variants ------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantData:
    sku: str
    price_cents: int
    stock: int
    options: dict[str, str] = field(default_factory=dict)
    compare_at_cents: int | None = None
    low_stock_threshold: int = 3
    weight_grams: int | None = None
    id: int | None = None  # an existing variant of the product, when editing


@dataclass(frozen=True)
class ProductData:
    title: str
    category_id: int | None
    vat_bps: int
    description: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    gtin: str = ""
    status: ProductStatus = ProductStatus.DRAFT
    variants: Sequence[VariantData] = ()
    # The shop's withdrawal exclusion: None leaves it as it is (a CSV import does not carry it),
    # FOLLOW_CATEGORY clears it so that the category's default applies.
    withdrawal_exclusion: WithdrawalExclusion | str | None = None


FOLLOW_CATEGORY = ""


def allowed_vat_rates(shop: Shop) -> tuple[int, ...]:
    """The VAT rates a shop's products may carry: its country's, or 0 only under the franchise."""
    if shop.vat_regime == VatRegime.FRANCHISE:
        return (0,)
    return (2000, 1000, 550, 210) if shop.country == "FR" else (2100, 1200, 600)


def check_product(shop: Shop, data: ProductData) -> list[CatalogError]:
    """Every problem of the data, by field (empty when it can be saved). Shared by forms and CSV import."""
    problems: list[CatalogError] = []
    if not data.title.strip():
        problems.append(CatalogError(_l("Indiquez le nom du produit."), "title"))
    elif len(data.title.strip()) > 200:
        problems.append(CatalogError(_l("200 caractères au plus."), "title"))
    category = db.session.get(Category, data.category_id) if data.category_id else None
    if category is None or category.archived_at is not None:
        problems.append(CatalogError(_l("Choisissez une catégorie."), "category_id"))
    if data.vat_bps not in VAT_RATES_BPS or data.vat_bps not in allowed_vat_rates(shop):
        problems.append(CatalogError(_l("Ce taux de TVA ne s’applique pas à votre boutique."), "vat_bps"))
    if data.gtin.strip():
        try:
            normalize_gtin(data.gtin)
        except InvalidGtin:
            problems.append(CatalogError(_l("Ce code EAN/ISBN n’est pas valide (clé de contrôle)."), "gtin"))
    if len(data.description) > 10_000:
        problems.append(CatalogError(_l("10 000 caractères au plus."), "description"))
    if not data.variants:
        problems.append(CatalogError(_l("Un produit a au moins une déclinaison, avec son prix."), "variants"))
    if len(data.variants) > MAX_VARIANTS:
        problems.append(CatalogError(_l("%(count)d déclinaisons au plus.", count=MAX_VARIANTS), "variants"))
    seen: set[str] = set()
    for index, variant in enumerate(data.variants):
        problems.extend(_check_variant(variant, index))
        key = variant.sku.strip().upper()
        if key in seen:
            problems.append(CatalogError(_l("Ce SKU apparaît deux fois."), f"variants-{index}-sku"))
        seen.add(key)
    return problems


def _check_variant(variant: VariantData, index: int) -> list[CatalogError]:
    prefix = f"variants-{index}-"
    problems = []
    if not SKU_PATTERN.match(variant.sku.strip()):
        problems.append(
            CatalogError(_l("SKU : lettres, chiffres, . _ / - ; 64 caractères au plus."), prefix + "sku")
        )
    if variant.price_cents <= 0:
        problems.append(CatalogError(_l("Le prix doit être supérieur à zéro."), prefix + "price"))
    if variant.compare_at_cents is not None and variant.compare_at_cents <= variant.price_cents:
        problems.append(
            CatalogError(_l("Le prix barré doit dépasser le prix de vente."), prefix + "compare_at")
        )
    if variant.stock < 0:
        problems.append(CatalogError(_l("Le stock ne peut pas être négatif."), prefix + "stock"))
    elif variant.stock > MAX_STOCK:
        problems.append(CatalogError(ABOVE_MAX_STOCK, prefix + "stock"))
    if variant.low_stock_threshold < 0:
        problems.append(
            CatalogError(_l("Le seuil ne peut pas être négatif."), prefix + "low_stock_threshold")
        )
    if variant.weight_grams is not None and variant.weight_grams < 0:
        problems.append(CatalogError(_l("Le poids ne peut pas être négatif."), prefix + "weight_grams"))
    return problems


def _sku_owner(shop: Shop, sku: str) -> Variant | None:
    return db.session.scalar(
        sa.select(Variant).where(
            Variant.shop_id == shop.id, sa.func.upper(Variant.sku) == sku.strip().upper()
        )
    )


def save_product(
    member: ShopMember,
    product: Product | None,
    data: ProductData,
    reason: StockReason = StockReason.ADJUSTMENT,
) -> Product:
    """Create or update a product and its variants; stock changes are recorded as movements.

    Raises the first problem found (``check_product`` lists them all); nothing is half-saved because
    the caller's transaction is rolled back on error.
    """
    shop = member.shop
    problems = check_product(shop, data)
    if problems:
        raise problems[0]
    if product is not None and product.shop_id != shop.id:
        raise CatalogError(_l("Produit introuvable."))
    creating = product is None
    if data.status == ProductStatus.ACTIVE and (product is None or product.status != ProductStatus.ACTIVE):
        _check_limit(shop, product)
    if product is None:
        product = Product(shop_id=shop.id, status=ProductStatus.DRAFT)
    product.title = data.title.strip()
    product.category_id = int(data.category_id or 0)
    product.vat_bps = data.vat_bps
    product.description = data.description.strip()
    product.attributes = clean_attributes(data.attributes)
    product.gtin = normalize_gtin(data.gtin) if data.gtin.strip() else None
    product.status = data.status
    if data.withdrawal_exclusion is not None:
        product.withdrawal_exclusion = (
            WithdrawalExclusion(data.withdrawal_exclusion)
            if data.withdrawal_exclusion != FOLLOW_CATEGORY
            else None
        )
    if creating:
        db.session.add(product)  # only now: every NOT NULL column is set
    db.session.flush()
    _save_variants(member, product, data.variants, reason)
    if creating:
        audit.record(member.user, "product", product.id, "created", shop_id=shop.id)
    return product


def _save_variants(
    member: ShopMember, product: Product, wanted: Sequence[VariantData], reason: StockReason
) -> None:
    existing = {variant.id: variant for variant in product.variants}
    kept: list[Variant] = []
    for position, data in enumerate(wanted):
        sku = data.sku.strip()
        owner = _sku_owner(member.shop, sku)
        variant = existing.get(data.id) if data.id is not None else None
        if variant is None and owner is not None and owner.product_id == product.id:
            variant = owner  # the same SKU, re-entered: an update, never a duplicate
        if owner is not None and owner is not variant:
            raise CatalogError(
                _l("Le SKU %(sku)s est déjà utilisé par un autre produit de la boutique.", sku=sku),
                f"variants-{position}-sku",
            )
        if variant is None:
            variant = Variant(shop_id=member.shop_id, stock=0)
            product.variants.append(variant)
        variant.sku = sku
        variant.options = {
            str(key).strip(): str(value).strip() for key, value in data.options.items() if str(value).strip()
        }
        variant.price_cents = data.price_cents
        variant.compare_at_cents = data.compare_at_cents
        variant.low_stock_threshold = data.low_stock_threshold
        variant.weight_grams = data.weight_grams
        variant.position = position
        db.session.flush()
        if data.stock != variant.stock:
            _move_stock(member.user, variant, data.stock - variant.stock, reason, "")
        kept.append(variant)
    for variant in list(product.variants):
        if variant not in kept:
            product.variants.remove(variant)


def clean_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """Keys trimmed and lower-cased, empty values dropped, lists kept as lists of strings."""
    cleaned: dict[str, Any] = {}
    for key, value in attributes.items():
        name = str(key).strip().lower()
        if not name or value is None:
            continue
        if isinstance(value, list | tuple):
            values = [str(item).strip() for item in value if str(item).strip()]
            if values:
                cleaned[name] = values
        elif isinstance(value, bool | int):
            cleaned[name] = value
        elif str(value).strip():
            cleaned[name] = str(value).strip()
    return cleaned


def set_status(member: ShopMember, products: Iterable[Product], status: ProductStatus) -> int:
    """Activate, archive or return to draft several products; the limit is checked for the lot."""
    chosen = [
        product for product in products if product.shop_id == member.shop_id and product.status != status
    ]
    if status == ProductStatus.ACTIVE:
        if chosen:
            _check_limit(member.shop, None, adding=len(chosen), field=None)
        for product in chosen:
            if not product.variants:
                raise CatalogError(
                    _l(
                        "« %(title)s » n’a pas de prix : il ne peut pas être mis en ligne.",
                        title=product.title,
                    )
                )
    for product in chosen:
        product.status = status
    return len(chosen)


def duplicate(member: ShopMember, product: Product) -> Product:
    """A draft copy: same details and photos' files, new SKUs (suffixed), stock at zero."""
    if product.shop_id != member.shop_id:
        raise CatalogError(_l("Produit introuvable."))
    copy = Product(
        shop_id=product.shop_id,
        category_id=product.category_id,
        title=str(_l("%(title)s (copie)", title=product.title))[:200],
        description=product.description,
        attributes=dict(product.attributes),
        gtin=product.gtin,
        vat_bps=product.vat_bps,
        status=ProductStatus.DRAFT,
    )
    db.session.add(copy)
    for variant in product.variants:
        copy.variants.append(
            Variant(
                shop_id=variant.shop_id,
                sku=_free_sku(member.shop, variant.sku),
                options=dict(variant.options),
                price_cents=variant.price_cents,
                compare_at_cents=variant.compare_at_cents,
                stock=0,
                low_stock_threshold=variant.low_stock_threshold,
                weight_grams=variant.weight_grams,
                position=variant.position,
            )
        )
    for photo in product.photos:
        stored = images.copy_image(photo.path, photo.thumbnails)
        copy.photos.append(
            ProductPhoto(
                path=stored.path,
                thumbnails=stored.thumbnails,
                width=photo.width,
                height=photo.height,
                alt=photo.alt,
                position=photo.position,
            )
        )
    db.session.flush()
    audit.record(member.user, "product", copy.id, "duplicated", source=product.id)
    return copy


def _free_sku(shop: Shop, sku: str) -> str:
    for counter in range(2, 1000):
        candidate = f"{sku[:58]}-C{counter}"
        if _sku_owner(shop, candidate) is None:
            return candidate
    raise CatalogError(_l("Impossible de trouver un SKU libre."))


# -- stock ----------------------------------------------------------------------------------------


def move_stock(
    actor: User | None,
    variant_id: int,
    delta: int,
    reason: StockReason,
    note: str = "",
    ceiling: int | None = None,
) -> int | None:
    """Change a variant's stock with a conditional UPDATE and record the movement; the stock after,
    or None (and nothing changed) when it would go below zero, or above ``ceiling`` when one is given
    (what a shop types; a release or a return puts back what was there). Sales, releases and returns
    use it too, so two checkouts racing for the last units cannot both have them.

    Stock that falls to the variant's low-stock threshold (from above it) records ``product.low_stock``
    for the shop's own systems (``app.events``)."""
    moved = db.session.execute(
        sa.update(Variant)
        .where(
            Variant.id == variant_id,
            Variant.stock + delta >= 0,
            *([Variant.stock + delta <= ceiling] if ceiling is not None and delta > 0 else []),
        )
        .values(stock=Variant.stock + delta)
        .returning(
            Variant.stock, Variant.low_stock_threshold, Variant.shop_id, Variant.product_id, Variant.sku
        )
    ).one_or_none()
    stock_after = moved.stock if moved is not None else None
    if moved is not None:
        if delta < 0 and moved.stock <= moved.low_stock_threshold < moved.stock - delta:
            events.record(
                events.PRODUCT_LOW_STOCK,
                moved.shop_id,
                {
                    "product_id": moved.product_id,
                    "variant_id": variant_id,
                    "sku": moved.sku,
                    "stock": moved.stock,
                    "low_stock_threshold": moved.low_stock_threshold,
                    "reason": reason.value,
                },
            )
        db.session.add(
            StockMovement(
                variant_id=variant_id,
                delta=delta,
                stock_after=stock_after,
                reason=reason,
                note=note[:200],
                actor=actor,
            )
        )
    return stock_after


def _move_stock(actor: User | None, variant: Variant, delta: int, reason: StockReason, note: str) -> None:
    """A change the shop typed: refused below zero and above ``MAX_STOCK``."""
    if move_stock(actor, variant.id, delta, reason, note, ceiling=MAX_STOCK) is None:
        if delta > 0:
            raise CatalogError(ABOVE_MAX_STOCK, "delta")
        raise CatalogError(_l("Le stock ne peut pas devenir négatif."), "delta")
    db.session.refresh(variant, ["stock"])


def adjust_stock(member: ShopMember, variant: Variant, delta: int, note: str) -> None:
    """A counted or received quantity, typed by the shop, with its reason."""
    if variant.shop_id != member.shop_id:
        raise CatalogError(_l("Produit introuvable."))
    if delta == 0:
        raise CatalogError(_l("Indiquez une quantité à ajouter ou à retirer."), "delta")
    if not note.strip():
        raise CatalogError(_l("Indiquez la raison de l’ajustement."), "note")
    _move_stock(member.user, variant, delta, StockReason.ADJUSTMENT, note.strip())


def stock_history(variant: Variant, limit: int = 50) -> list[StockMovement]:
    return list(
        db.session.scalars(
            sa.select(StockMovement)
            .where(StockMovement.variant_id == variant.id)
            .order_by(StockMovement.created_at.desc(), StockMovement.id.desc())
            .limit(limit)
        )
    )


# -- photos ---------------------------------------------------------------------------------------


def add_photo(member: ShopMember, product: Product, stream: IO[bytes], alt: str) -> ProductPhoto:
    if product.shop_id != member.shop_id:
        raise CatalogError(_l("Produit introuvable."))
    if len(product.photos) >= MAX_PHOTOS:
        raise CatalogError(_l("%(count)d photos au plus par produit.", count=MAX_PHOTOS), "photo")
    try:
        stored = images.store_image(
            stream,
            folder="products",
            max_bytes=current_app.config["MAX_IMAGE_BYTES"],
            sizes=PHOTO_SIZES,
            main_size=(1600, 1600),
            min_size=(200, 200),
        )
    except images.ImageRejected as rejected:
        raise CatalogError(images.rejection_message(rejected), "photo") from rejected
    photo = ProductPhoto(
        path=stored.path,
        thumbnails=stored.thumbnails,
        width=stored.width,
        height=stored.height,
        alt=(alt.strip() or product.title)[:200],
        position=len(product.photos),
    )
    product.photos.append(photo)
    return photo


def update_photos(
    member: ShopMember, product: Product, order: Sequence[int], alts: dict[int, str], remove: set[int]
) -> None:
    """Reorder, describe and remove photos in one go; removed files go after the commit."""
    if product.shop_id != member.shop_id:
        raise CatalogError(_l("Produit introuvable."))
    by_id = {photo.id: photo for photo in product.photos}
    for photo_id in remove:
        photo = by_id.pop(photo_id, None)
        if photo is not None:
            product.photos.remove(photo)
            jobs.enqueue(images.delete_stored, photo.path)
    ordered = [by_id[photo_id] for photo_id in order if photo_id in by_id]
    ordered += [photo for photo in by_id.values() if photo not in ordered]
    for position, photo in enumerate(ordered):
        photo.position = position
        if photo.id in alts:
            photo.alt = alts[photo.id].strip()[:200] or product.title[:200]
    product.photos.sort(key=lambda photo: photo.position)


# -- reading --------------------------------------------------------------------------------------


def shop_product(member: ShopMember, product_id: int) -> Product | None:
    """A product of the member's shop, or None: every back-office product page goes through here."""
    return db.session.scalar(
        sa.select(Product).where(Product.id == product_id, Product.shop_id == member.shop_id)
    )


def shop_variant(member: ShopMember, variant_id: int) -> Variant | None:
    return db.session.scalar(
        sa.select(Variant).where(Variant.id == variant_id, Variant.shop_id == member.shop_id)
    )


@dataclass(frozen=True)
class ProductFilter:
    text: str = ""
    status: ProductStatus | None = None
    category_id: int | None = None
    low_stock: bool = False


def _printed_gtin(text: str) -> str | None:
    """The stored form of a code typed as printed ("978-2-01-609952-0", an ISBN-10), if it is one."""
    try:
        return normalize_gtin(text)
    except InvalidGtin:
        return None


def list_products(member: ShopMember, filters: ProductFilter, page: int, per_page: int = 25) -> Any:
    """The shop's products for its back office list; the text is looked for in titles, GTINs and
    variant SKUs (a "%" or "_" typed is a character, not a wildcard)."""
    query = sa.select(Product).where(Product.shop_id == member.shop_id)
    if filters.status is not None:
        query = query.where(Product.status == filters.status)
    if filters.category_id:
        query = query.where(Product.category_id == filters.category_id)
    if filters.text.strip():
        text = filters.text.strip().lower()
        matches = [
            sa.func.lower(Product.title).contains(text, autoescape=True),
            Product.gtin.contains(text, autoescape=True),
            Product.variants.any(sa.func.lower(Variant.sku).contains(text, autoescape=True)),
        ]
        if gtin := _printed_gtin(text):
            matches.append(Product.gtin == gtin)
        query = query.where(sa.or_(*matches))
    if filters.low_stock:
        query = query.where(Product.variants.any(Variant.stock <= Variant.low_stock_threshold))
    query = query.order_by(Product.updated_at.desc(), Product.id.desc()).options(*CARD_LOADING)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


@dataclass(frozen=True, slots=True)
class PagePhoto:
    """A photo as a product's page shows it (the file, its description), in the shop's order."""

    path: str
    alt: str


def _photo_list(dialect: str) -> sa.Label[Any]:
    """The product's photos as one JSON array of [path, alt] in the shop's order (``Product.photos``;
    ties by age), read in the product's own statement: loaded apart, they cost a second query, the
    page's dearest piece after the product itself (0.6 ms of 6); joined, every variant row would repeat
    for every photo."""
    photos = ProductPhoto.__table__.alias("page_photos")
    mine = photos.c.product_id == Product.id
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import aggregate_order_by

        pair = sa.func.json_build_array(photos.c.path, photos.c.alt)
        listed = sa.select(sa.func.json_agg(aggregate_order_by(pair, photos.c.position, photos.c.id)))
        listed = listed.where(mine).correlate(Product.__table__)
    else:  # SQLite reads an ordered subquery in its order (it has no ORDER BY within an aggregate)
        ordered = (
            sa.select(photos.c.path, photos.c.alt)
            .where(mine)
            .order_by(photos.c.position, photos.c.id)
            .correlate(Product.__table__)
        )
        inner = ordered.subquery("ordered_photos")
        listed = sa.select(sa.func.json_group_array(sa.func.json_array(inner.c.path, inner.c.alt)))
    # As text: the ORM's ``unique()`` (for the joined variants) hashes each row's values, and a list
    # cannot be hashed.
    return sa.cast(listed.scalar_subquery(), sa.Text()).label("photo_list")


def _public_product(dialect: str) -> sa.Select[Any]:
    """What a product's page reads, the product's id bound."""
    return (
        sa.select(Product, _photo_list(dialect))
        .join(Product.shop)
        .where(
            Product.id == sa.bindparam("product_id"),
            Product.status == ProductStatus.ACTIVE,
            Shop.is_public,
        )
        .options(
            joinedload(Product.variants),  # a handful of rows, joined (the photos come as one value)
            joinedload(Product.category).joinedload(Category.parent),
            contains_eager(Product.shop),
            raiseload(Product.photos),  # the page reads PagePhoto values, never the relationship
        )
    )


# Built once per dialect, as loader options cost to build.
PUBLIC_PRODUCT = {dialect: _public_product(dialect) for dialect in ("postgresql", "sqlite")}


# The product pages' products as last read, by id, detached (with their variants, shop, category and its
# parent), and their photos: kept a minute per process and following the pages' generation, which
# any change to a product, a variant (a sale's stock), a photo, a shop or a category moves on. The
# checkout reads prices and stock afresh.
page_products = TTLCache(ttl=60.0, maxsize=1000, follows=pagecache.current_generation)  # 4–5 MB at most


def public_product(product_id: int) -> tuple[Product, list[PagePhoto]] | None:
    """An active product of an open shop, with what its page shows: variants, the category's path, the
    shop (whether it is open now comes from ``vendors.services.open_states``), and its photos, in one
    statement; then, until a change, from the copy this process keeps, put into the session without a
    statement (``app.caching.Detached``: 0.24 ms where the statement took 0.7). A product this session
    already holds (or one of its variants, its shop or its category) is read afresh, never overwritten
    by the copy."""
    kept: tuple[Detached[Product], list[PagePhoto]] | None = page_products.found(product_id)
    if kept is not None and (merged := kept[0].into_session()) is not None:
        return merged, kept[1]
    statement = PUBLIC_PRODUCT[database_backend()]
    row = db.session.execute(statement, {"product_id": product_id}).unique().one_or_none()
    if row is None:
        return None
    product, listed = row
    photos = [PagePhoto(str(path), str(alt)) for path, alt in json.loads(listed or "[]")]
    page_products.put(product_id, (Detached.of(product), photos))
    return product, photos


def also_sold_by(product: Product) -> list[Card]:
    """The same GTIN (a book, a bottle) at the town's other open shops, cheapest first: as cards (the
    page shows each one's shop, price and stock)."""
    if not product.gtin:
        return []
    others = sold_as(product.gtin, excluding=product.id)
    return sorted(others, key=lambda other: ((other.price_range or (0, 0))[0], other.id))


def _listing(by: str) -> OrderedListing:
    """The ids of the active products of open shops, newest first: of the shop bound as ``shop_id``, of
    the categories bound as ``category_ids``, or all."""
    query = sa.select(Product.id).where(
        Product.status == ProductStatus.ACTIVE,
        Product.shop_id.in_(sa.select(Shop.id).where(Shop.is_public)),
        Product.variants.any(),
    )
    if by == "shop":
        query = query.where(Product.shop_id == sa.bindparam("shop_id"))
    elif by == "categories":
        query = query.where(Product.category_id.in_(sa.bindparam("category_ids", expanding=True)))
    return OrderedListing(query, (Product.created_at.desc(), Product.id.desc()), listing_counts)


# How many products each listing has (a shop's, categories', all), kept a minute per process and
# following the pages' generation: a storefront's next visitor reads its page alone, not its count.
listing_counts = TTLCache(ttl=60.0, maxsize=2000, follows=pagecache.current_generation)
LISTINGS = {by: _listing(by) for by in ("shop", "categories", "all")}


def public_products(
    shop: Shop | None = None,
    categories: Sequence[Category | PublicCategory] = (),
    page: int = 1,
    per_page: int = 24,
) -> ListingPage[Card]:
    """The cards of active products of open shops, newest first: a storefront's grid (``shop``) or a
    category page (``categories``, one of them or the other), in the order of the partial indexes on
    (shop_id | category_id, created_at DESC, id DESC) of active products, never counting more than a few
    pages' worth of them."""
    if shop is not None and categories:
        raise ValueError("a shop's products or categories' products, not both")
    if shop is not None:
        found = LISTINGS["shop"].page({"shop_id": shop.id}, page, per_page)
    elif categories:
        found = LISTINGS["categories"].page(
            {"category_ids": [category.id for category in categories]}, page, per_page
        )
    else:
        found = LISTINGS["all"].page({}, page, per_page)
    found.items = card_list(found.items)
    return found


# -- the category tree (kept by the manager) ------------------------------------------------------


def category_tree() -> list[tuple[Category, list[Category]]]:
    """Top-level categories with their children, in the manager's order."""
    categories = list(db.session.scalars(sa.select(Category).order_by(Category.position, Category.id)))
    roots = [category for category in categories if category.parent_id is None]
    return [(root, [child for child in categories if child.parent_id == root.id]) for root in roots]


@dataclass(frozen=True)
class CategoryData:
    name: str
    slug: str
    parent_id: int | None
    commission_bps: int | None
    name_en: str = ""
    # The default of its products; None: the parent's (none at the top).
    withdrawal_exclusion: WithdrawalExclusion | None = None


def save_category(manager: User, category: Category | None, data: CategoryData) -> Category:
    """Create, rename or move a category. The tree has two levels: a parent cannot have a parent."""
    if not manager.is_manager:
        raise CatalogError(_l("Réservé à la gestion de la place de marché."))
    slug = data.slug.strip().lower()
    if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug):
        raise CatalogError(_l("Lettres minuscules, chiffres et tirets seulement."), "slug")
    clash = db.session.scalar(sa.select(Category).where(Category.slug == slug))
    if clash is not None and clash is not category:
        raise CatalogError(_l("Cette adresse est déjà prise : choisissez-en une autre."), "slug")
    parent = db.session.get(Category, data.parent_id) if data.parent_id else None
    if parent is not None:
        if parent.parent_id is not None:
            raise CatalogError(_l("Une sous-catégorie ne peut pas en contenir d’autres."), "parent_id")
        if category is not None and (parent.id == category.id or category.children):
            raise CatalogError(
                _l("Une catégorie qui a des sous-catégories reste au premier niveau."), "parent_id"
            )
    if data.commission_bps is not None and not 0 <= data.commission_bps <= 10_000:
        raise CatalogError(_l("Entre 0 et 100 %."), "commission")
    if category is None:
        category = Category(position=_next_position(parent))
        db.session.add(category)
    elif category.parent_id != (parent.id if parent else None):
        category.position = _next_position(parent)
    category.name = data.name.strip()
    category.name_en = data.name_en.strip() or None
    category.withdrawal_exclusion = data.withdrawal_exclusion
    category.slug = slug
    category.parent = parent
    db.session.flush()
    audit.record(manager, "category", category.id, "saved")
    # The category's commission is a dated rule of payouts' engine, starting today when it changes.
    from payouts import commission

    if commission.category_rate(category.id) != data.commission_bps:
        commission.set_rule(manager, "category", category.id, data.commission_bps)
    return category


def _next_position(parent: Category | None) -> int:
    query = sa.select(sa.func.max(Category.position))
    query = (
        query.where(Category.parent_id == parent.id) if parent else query.where(Category.parent_id.is_(None))
    )
    return int(db.session.scalar(query) or 0) + 1


def archive_category(manager: User, category: Category) -> None:
    """Hide a category from new products and shoppers; products already in it keep it."""
    if not manager.is_manager:
        raise CatalogError(_l("Réservé à la gestion de la place de marché."))
    category.archived_at = utcnow()
    for child in category.children:
        if child.archived_at is None:
            child.archived_at = category.archived_at
    audit.record(manager, "category", category.id, "archived")


def restore_category(manager: User, category: Category) -> None:
    if not manager.is_manager:
        raise CatalogError(_l("Réservé à la gestion de la place de marché."))
    if category.parent is not None and category.parent.archived_at is not None:
        raise CatalogError(_l("Rétablissez d’abord la catégorie parente."))
    category.archived_at = None
    audit.record(manager, "category", category.id, "restored")


def move_category(manager: User, category: Category, direction: int) -> None:
    """Up or down among its siblings."""
    if not manager.is_manager:
        raise CatalogError(_l("Réservé à la gestion de la place de marché."))
    siblings = sorted(
        db.session.scalars(sa.select(Category).where(Category.parent_id == category.parent_id)),
        key=lambda item: (item.position, item.id),
    )
    index = siblings.index(category)
    target = index + (1 if direction > 0 else -1)
    if 0 <= target < len(siblings):
        siblings[index], siblings[target] = siblings[target], siblings[index]
        for position, item in enumerate(siblings):
            item.position = position


@dataclass(frozen=True)
class PublicCategory:
    """A category as its public page shows it: plain data, the whole tree kept per process."""

    id: int
    slug: str
    name: str
    name_en: str | None
    parent: PublicCategory | None
    # Every child, archived ones too: their products and shops are still the category's.
    child_ids: tuple[int, ...] = ()

    @property
    def label(self) -> str:
        return localized(self.name, self.name_en)

    @property
    def path(self) -> list[PublicCategory]:
        """From the root down to this category."""
        return [self.parent, self] if self.parent is not None else [self]


# The category tree as public pages read it, by slug: kept a minute per process and following the pages'
# generation, so that a category renamed, moved or archived shows at once (with Redis, from any process).
category_cache = TTLCache(ttl=60.0, follows=pagecache.current_generation)


def _public_tree() -> dict[str, tuple[PublicCategory, list[PublicCategory]]]:
    """Every open category by slug, with its open children in the manager's order (a two-level tree:
    the top categories first, then theirs)."""
    columns = (Category.id, Category.parent_id, Category.slug, Category.name, Category.name_en)
    rows = db.session.execute(sa.select(*columns, Category.position, Category.archived_at)).all()
    children: dict[int, list[Any]] = {}
    for row in sorted(rows, key=lambda row: (row.position, sort_key(row.name))):
        if row.parent_id is not None:
            children.setdefault(row.parent_id, []).append(row)
    places: dict[int, PublicCategory] = {}
    for row in sorted(rows, key=lambda row: row.parent_id is not None):
        ids = tuple(child.id for child in children.get(row.id, []))
        parent = places.get(row.parent_id) if row.parent_id is not None else None
        places[row.id] = PublicCategory(row.id, row.slug, row.name, row.name_en, parent, ids)
    return {
        row.slug: (
            places[row.id],
            [places[child.id] for child in children.get(row.id, []) if child.archived_at is None],
        )
        for row in rows
        if row.archived_at is None
    }


def category_with_children(slug: str) -> tuple[PublicCategory, list[PublicCategory]] | None:
    """An open category with its open children, and its parent (its page shows its path)."""
    tree: dict[str, tuple[PublicCategory, list[PublicCategory]]] = category_cache.get("tree", _public_tree)
    return tree.get(slug)
