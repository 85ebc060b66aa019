"""Public catalogue pages: the product page (category pages are search's, with its facets)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, abort, render_template, request
from markupsafe import Markup

from app import money, storage
from app.caching import Fragments, macro_html
from app.catalog import services
from app.catalog.cards import Card
from app.catalog.models import Product, Variant
from app.catalog.text import render_markdown, text_of
from app.database import utcnow
from app.reviews.models import RatingSubject
from app.routing import parse_id
from app.site.seo import aggregate_rating
from app.urls import external_url
from app.visits import services as visits
from vendors import services as shops

blueprint = Blueprint("catalog", __name__)

# Card faces drawn, by what they were drawn from (see card_face).
faces = Fragments(1000)
CARD_TEMPLATE = "macros/catalog.html"


@blueprint.app_template_global()
def card_face(product: Product | Card, show_shop: bool = True, title: Any = None, note: Any = None) -> Markup:
    """A product card but its heart (``macros/catalog.html``, ``card_face_html``). A ``Card`` is its
    content: the face drawn from the same card, words and language is the same HTML, so grids draw
    each face once per process rather than for every visitor (its links, price and words cost a good
    part of a listing). The heart carries the visitor's token and choice: it is drawn each time."""
    if not isinstance(product, Card):
        return macro_html(CARD_TEMPLATE, "card_face_html", product, show_shop, title, note)
    key = (product, show_shop, type(title), title, type(note), note)
    return faces.macro(key, CARD_TEMPLATE, "card_face_html", product, show_shop, title, note)


@blueprint.app_template_global()
def product_card(
    product: Product | Card, show_shop: bool = True, title: Any = None, note: Any = None
) -> Markup:
    """A product's card in a grid (``<li>``): its face (``card_face``) and its heart. Written here rather
    than as a macro: a grid draws two dozen, and a macro call costs more than the card's two pieces."""
    from app.favourites.views import card_heart

    return CARD % (card_face(product, show_shop, title, note), card_heart(product.id))


CARD = Markup('<li class="product-card">\n    %s\n    %s\n  </li>')


@blueprint.app_template_filter("withdrawal_notice")
def withdrawal_notice(exclusion: str | None) -> str:
    """The legal notice of goods excluded from withdrawal, for every page that sells them ("" if none)."""
    return services.exclusion_notice(exclusion)


@blueprint.app_template_filter("withdrawal_reason")
def withdrawal_reason(exclusion: str | None) -> str:
    """Why goods are excluded from withdrawal, for order pages ("" if they are not)."""
    return services.exclusion_reason(exclusion)


def _chosen_variant(product: Product) -> Variant:
    wanted = request.args.get("variante", type=parse_id)
    in_stock = [variant for variant in product.variants if variant.stock > 0]
    chosen = next((variant for variant in product.variants if variant.id == wanted), None)
    return chosen or (in_stock[0] if in_stock else product.variants[0])


def structured_data(product: Product, photo_urls: list[str], description: str) -> dict[str, Any]:
    """schema.org Product with its offers, for search engines."""
    offers = [
        {
            "@type": "Offer",
            "sku": variant.sku,
            "price": str(money.cents_to_decimal(variant.price_cents)),
            "priceCurrency": "EUR",
            "availability": "https://schema.org/InStock"
            if variant.stock > 0
            else "https://schema.org/OutOfStock",
            "url": external_url("catalog.product", product_id=product.id, variante=variant.id),
            "seller": {"@type": "Organization", "name": product.shop.name},
        }
        for variant in product.variants
    ]
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.title,
        "url": external_url("catalog.product", product_id=product.id),
        "description": text_of(description, 500),
        "category": " > ".join(category.label for category in product.category.path),
        "image": photo_urls,
        "offers": offers,
    }
    rating = aggregate_rating(RatingSubject.PRODUCT, product.id)
    if rating:
        data["aggregateRating"] = rating
    if product.gtin:
        data[f"gtin{len(product.gtin)}" if len(product.gtin) in (8, 12, 13, 14) else "gtin"] = product.gtin
    return data


def json_ld(data: dict[str, Any]) -> Markup:
    """JSON safe inside a <script> data block: no "</" can close it early."""
    text = (
        json.dumps(data, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )
    return Markup(text)  # noqa: S704 - escaped above for the script context


@blueprint.route("/produits/<int:product_id>")
def product(product_id: int) -> str:
    page = services.public_product(product_id)
    if page is None or not page[0].variants:
        abort(404)
    found, photos = page
    visits.count_view(found.shop_id, found.id)
    photo_urls = [storage.media_url(photo.path, external=True) for photo in photos]
    description = render_markdown(found.description)
    return render_template(
        "catalog/product.html",
        product=found,
        photos=photos,
        variant=_chosen_variant(found),
        description=description,
        summary=text_of(description, 200),
        others=services.also_sold_by(found),
        open_state=shops.open_states([found.shop_id], utcnow())[found.shop_id],
        photo_urls=photo_urls,
        json_ld=json_ld(structured_data(found, photo_urls, description)),
    )
