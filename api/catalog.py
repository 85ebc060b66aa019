"""The shop and its catalogue: ``/shop``, ``/products`` (list, get, create, update, archive).

Writes go through the catalogue's own services (``app.catalog.services``): the same checks, plan limit,
stock movements and search outbox as the back office. A product of another shop is a 404.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import re
from typing import Any

import sqlalchemy as sa
from flask import current_app, request, url_for
from flask_babel import lazy_gettext as _l

from api import PREFIX, cursors, schemas
from api.auth import caller
from api.problems import problem
from api.spec import Blueprint, operation
from app import storage
from app.catalog import services as catalog
from app.catalog.models import Product, ProductStatus, Variant
from app.database import lock
from app.errors import ServiceError
from app.extensions import db
from app.orders.stock_sync import held_quantities
from app.permissions import ApiScope
from app.urls import external_url
from vendors.models import Shop, ShopMember

blueprint = Blueprint(
    "api_catalog",
    __name__,
    url_prefix=PREFIX,
    description="The shop and its products (catalog:read, catalog:write).",
)
CURRENCY = "EUR"
# The catalogue's form field names, as the API names them.
FIELD_NAMES = {"price": "price_cents", "compare_at": "compare_at_cents", "photo": "url"}


def member() -> ShopMember:
    found = caller().member
    if found is None:
        raise problem(403)
    return found


# -- bodies ---------------------------------------------------------------------------------------


def shop_body(shop: Shop) -> dict[str, Any]:
    return {
        "id": shop.id,
        "slug": shop.slug,
        "name": shop.name,
        "status": shop.status.value,
        "city": shop.city,
        "postcode": shop.postcode,
        "country": shop.country,
        "delivery_methods": shop.delivery_methods,
        "url": external_url("vendors.storefront", slug=shop.slug),
        "created_at": shop.created_at,
    }


def product_body(product: Product, held: dict[int, int]) -> dict[str, Any]:
    return {
        "id": product.id,
        "status": product.status.value,
        "title": product.title,
        "description": product.description,
        "category_id": product.category_id,
        "vat_bps": product.vat_bps,
        "gtin": product.gtin,
        "attributes": product.attributes,
        "variants": [
            {
                "id": variant.id,
                "sku": variant.sku,
                "options": variant.options,
                "price_cents": variant.price_cents,
                "compare_at_cents": variant.compare_at_cents,
                "currency": CURRENCY,
                "stock": {
                    "on_hand": variant.stock + held.get(variant.id, 0),
                    "held": held.get(variant.id, 0),
                    "sellable": variant.stock,
                },
                "low_stock_threshold": variant.low_stock_threshold,
                "weight_grams": variant.weight_grams,
            }
            for variant in product.variants
        ],
        "photos": [
            {
                "id": photo.id,
                "url": storage.media_url(photo.path, external=True),
                "width": photo.width,
                "height": photo.height,
                "alt": photo.alt,
            }
            for photo in product.photos
        ],
        "created_at": product.created_at,
        "updated_at": product.updated_at,
    }


def _product_held(products: list[Product]) -> dict[int, int]:
    return held_quantities([variant.id for product in products for variant in product.variants])


def etag(product: Product) -> str:
    """A strong validator of the product as the API shows it (stock included): any change changes it."""
    body = schemas.ProductOut().dump(product_body(product, _product_held([product])))
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return f'"{digest[:32]}"'


def _with_etag(product: Product, status: int = 200) -> tuple[dict[str, Any], int, dict[str, str]]:
    headers = {"ETag": etag(product)}
    if status == 201:
        headers["Location"] = url_for("api_catalog.product", product_id=product.id)
    return product_body(product, _product_held([product])), status, headers


def refused(error: ServiceError, status: int = 422) -> Exception:
    """A refused use case as a problem naming the API's field ("variants.0.price_cents")."""
    field = error.field
    errors = []
    if field:
        parts = re.split(r"-", field)
        parts = [FIELD_NAMES.get(part, part) for part in parts]
        errors.append({"field": ".".join(parts), "in": "body", "message": str(error.message)})
    return problem(status, str(error.message), errors=errors)


def _shop_product(product_id: int, for_update: bool = False) -> Product:
    if for_update:
        product = lock(Product, product_id)
        found = product if product is not None and product.shop_id == member().shop_id else None
    else:
        found = catalog.shop_product(member(), product_id)
    if found is None:
        raise problem(404)
    return found


# -- the shop -------------------------------------------------------------------------------------


@blueprint.route("/shop", methods=["GET"])
@operation(blueprint, ApiScope.CATALOG_READ)
@blueprint.response(200, schemas.ShopOut)
def shop() -> dict[str, Any]:
    """The key's shop."""
    return shop_body(member().shop)


# -- products -------------------------------------------------------------------------------------


@blueprint.route("/products", methods=["GET"])
@operation(blueprint, ApiScope.CATALOG_READ, errors=(422,))
@blueprint.arguments(schemas.ProductListArgs, location="query")
@blueprint.response(200, schemas.ProductListOut)
def products(args: dict[str, Any]) -> dict[str, Any]:
    """The shop's products, least recently changed first (``updated_since`` and the cursor make an
    incremental sync: keep the last cursor and ask again later)."""
    query = sa.select(Product).where(Product.shop_id == member().shop_id)
    if "status" in args:
        query = query.where(Product.status == ProductStatus(args["status"]))
    if "category_id" in args:
        query = query.where(Product.category_id == args["category_id"])
    if "sku" in args:
        query = query.where(Product.variants.any(sa.func.upper(Variant.sku) == args["sku"].strip().upper()))
    if "updated_since" in args:
        query = query.where(Product.updated_at >= args["updated_since"])
    items, following = cursors.page(
        query.options(*catalog.CARD_LOADING),
        (Product.updated_at, Product.id),
        args.get("cursor"),
        args["limit"],
    )
    held = _product_held(items)
    return {"items": [product_body(product, held) for product in items], "next_cursor": following}


@blueprint.route("/products/<int:product_id>", methods=["GET"])
@operation(blueprint, ApiScope.CATALOG_READ, errors=(404,))
@blueprint.response(200, schemas.ProductOut, headers={"ETag": {"schema": {"type": "string"}}})
def product(product_id: int) -> Any:
    """One product; its ``ETag`` goes in ``If-Match`` to update it."""
    return _with_etag(_shop_product(product_id))


NEW_VARIANT: dict[str, Any] = {
    "options": {},
    "compare_at_cents": None,
    "low_stock_threshold": 3,
    "weight_grams": None,
    "stock": 0,
}


def _variant_data(wanted: dict[str, Any], current: Product | None) -> catalog.VariantData:
    """A variant as sent, over what the product's matching variant (by id, else by SKU) holds now: a
    field left out keeps its value, and the stock is only ever changed through /stock."""
    existing = next(
        (
            variant
            for variant in (current.variants if current is not None else [])
            if variant.id == wanted.get("id") or variant.sku.upper() == wanted["sku"].strip().upper()
        ),
        None,
    )
    merged = {**(_variant_dict(existing) if existing is not None else NEW_VARIANT), **wanted}
    return catalog.VariantData(
        id=existing.id if existing is not None else wanted.get("id"),
        sku=merged["sku"],
        price_cents=merged["price_cents"],
        stock=merged["stock"],
        options=merged["options"] or {},
        compare_at_cents=merged["compare_at_cents"],
        low_stock_threshold=merged["low_stock_threshold"],
        weight_grams=merged["weight_grams"],
    )


def _variant_dict(variant: Variant) -> dict[str, Any]:
    return {
        "id": variant.id,
        "sku": variant.sku,
        "price_cents": variant.price_cents,
        "options": variant.options,
        "compare_at_cents": variant.compare_at_cents,
        "low_stock_threshold": variant.low_stock_threshold,
        "weight_grams": variant.weight_grams,
        "stock": variant.stock,
    }


def _product_data(sent: dict[str, Any], current: Product | None) -> catalog.ProductData:
    """The product as sent, over what it holds now (``current``, None when creating)."""
    now: dict[str, Any] = (
        {
            "title": current.title,
            "category_id": current.category_id,
            "vat_bps": current.vat_bps,
            "description": current.description,
            "attributes": current.attributes,
            "gtin": current.gtin,
            "status": current.status,
        }
        if current is not None
        else {"description": "", "attributes": {}, "gtin": "", "status": ProductStatus.DRAFT}
    )
    merged = {**now, **sent}
    variants = sent.get("variants")
    if variants is None:  # unchanged
        variants = [_variant_dict(variant) for variant in (current.variants if current else [])]
    return catalog.ProductData(
        title=merged["title"],
        category_id=merged["category_id"],
        vat_bps=merged["vat_bps"],
        description=merged["description"],
        attributes=merged["attributes"] or {},
        gtin=merged["gtin"] or "",
        status=ProductStatus(merged["status"]),
        variants=[_variant_data(variant, current) for variant in variants],
    )


@blueprint.route("/products", methods=["POST"])
@operation(blueprint, ApiScope.CATALOG_WRITE, errors=(409, 422), idempotent=True)
@blueprint.arguments(
    schemas.ProductIn,
    example={
        "title": "Pain au levain",
        "category_id": 3,
        "vat_bps": 550,
        "status": "active",
        "variants": [{"sku": "PAIN-LEVAIN", "price_cents": 450, "stock": 20}],
    },
)
@blueprint.response(
    201,
    schemas.ProductOut,
    headers={"ETag": {"schema": {"type": "string"}}, "Location": {"schema": {"type": "string"}}},
)
def create_product(sent: dict[str, Any]) -> Any:
    """A new product with its variants (``stock``: the initial quantity on hand)."""
    try:
        created = catalog.save_product(member(), None, _product_data(sent, None))
    except ServiceError as error:
        db.session.rollback()
        raise refused(error) from None
    db.session.commit()
    return _with_etag(created, 201)


def _check_precondition(product: Product, required: bool) -> None:
    sent = request.headers.get("If-Match")
    if sent is None:
        if required:
            raise problem(428, _l("Envoyez l’en-tête If-Match avec l’ETag lu du produit."))
        return
    tags = {tag.strip().removeprefix("W/") for tag in sent.split(",")}
    if "*" not in tags and etag(product) not in tags:
        raise problem(412, _l("Le produit a changé depuis votre lecture : relisez-le, puis recommencez."))


@blueprint.route("/products/<int:product_id>", methods=["PATCH"])
@operation(blueprint, ApiScope.CATALOG_WRITE, errors=(404, 412, 422, 428))
@blueprint.arguments(schemas.ProductPatch, example={"title": "Pain au levain (800 g)"})
@blueprint.response(200, schemas.ProductOut, headers={"ETag": {"schema": {"type": "string"}}})
@blueprint.doc(
    parameters=[{"in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"}}]
)
def update_product(sent: dict[str, Any], product_id: int) -> Any:
    """Change some fields; ``If-Match`` (the ETag read) is required, so no change made meanwhile is lost."""
    current = _shop_product(product_id, for_update=True)
    _check_precondition(current, required=True)
    try:
        catalog.save_product(member(), current, _product_data(sent, current))
    except ServiceError as error:
        db.session.rollback()
        raise refused(error) from None
    db.session.commit()
    return _with_etag(current)


@blueprint.route("/products/<int:product_id>/archive", methods=["POST"])
@operation(blueprint, ApiScope.CATALOG_WRITE, errors=(404, 409, 412), idempotent=True)
@blueprint.response(200, schemas.ProductOut, headers={"ETag": {"schema": {"type": "string"}}})
def archive_product(product_id: int) -> Any:
    """Take the product off sale (kept, with its history; PATCH ``status`` brings it back)."""
    current = _shop_product(product_id, for_update=True)
    _check_precondition(current, required=False)
    try:
        catalog.set_status(member(), [current], ProductStatus.ARCHIVED)
    except ServiceError as error:
        db.session.rollback()
        raise refused(error, 409) from None
    db.session.commit()
    return _with_etag(current)


# -- photos ---------------------------------------------------------------------------------------

PHOTO_TIMEOUT = 10.0  # seconds, to connect and for each read


def _download(url: str) -> bytes:
    """The image at ``url``, through the SSRF-safe client (private addresses refused in production,
    after DNS resolution; redirects not followed), at most ``MAX_IMAGE_BYTES``."""
    from app import outbound

    limit = int(current_app.config["MAX_IMAGE_BYTES"])

    def refused(message: Any) -> Exception:
        return problem(422, message, errors=[{"field": "url", "in": "body", "message": str(message)}])

    try:
        answer = outbound.send("GET", url, timeout=PHOTO_TIMEOUT, max_body=limit + 1)
    except outbound.UnsafeURL as error:
        raise refused(error.reason) from None
    except (OSError, http.client.HTTPException):
        raise refused(_l("L’image n’a pas pu être téléchargée à cette adresse.")) from None
    if answer.status != 200:
        raise refused(_l("Cette adresse a répondu %(status)d au lieu de l’image.", status=answer.status))
    if len(answer.body) > limit:
        raise refused(_l("L’image dépasse %(size)d Mo.", size=limit // 1_000_000))
    return answer.body


@blueprint.route("/products/<int:product_id>/photos", methods=["POST"])
@operation(blueprint, ApiScope.CATALOG_WRITE, errors=(404, 409, 422), idempotent=True)
@blueprint.arguments(
    schemas.PhotoUrlIn, example={"url": "https://example.com/photos/pain.jpg", "alt": "Pain au levain"}
)
@blueprint.response(201, schemas.ProductOut, headers={"ETag": {"schema": {"type": "string"}}})
def add_photo(sent: dict[str, Any], product_id: int) -> Any:
    """Add a photo downloaded from a public address (JPEG, PNG or WebP; checked and resized as an upload
    from the back office). 12 photos per product at most."""
    _shop_product(product_id)  # a 404 before fetching anything
    content = _download(sent["url"])
    current = _shop_product(product_id, for_update=True)  # locked after the download, not during it
    try:
        catalog.add_photo(member(), current, io.BytesIO(content), sent.get("alt", ""))
    except ServiceError as error:
        db.session.rollback()
        raise refused(error) from None
    db.session.commit()
    return _with_etag(current, 201)
