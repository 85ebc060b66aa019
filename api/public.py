"""Read-only and open to anyone (the tourist office's site, a town app): the shops open to shoppers and
the shared catalogue's search. A key is not needed; one sent must be valid."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from api import PREFIX, cursors, schemas
from api.problems import problem
from api.spec import Blueprint, operation
from app.urls import external_url
from search import services as search
from search.query import SearchQuery
from vendors.models import Shop

blueprint = Blueprint(
    "api_public", __name__, url_prefix=PREFIX + "/public", description="Public, read-only: shops and search."
)


def public_shop_body(shop: Shop) -> dict[str, Any]:
    return {
        "id": shop.id,
        "slug": shop.slug,
        "name": shop.name,
        "city": shop.city,
        "postcode": shop.postcode,
        "latitude": shop.latitude,
        "longitude": shop.longitude,
        "delivery_methods": shop.delivery_methods,
        "url": external_url("vendors.storefront", slug=shop.slug),
    }


@blueprint.route("/shops", methods=["GET"])
@operation(blueprint, public=True, errors=(422,))
@blueprint.arguments(schemas.CursorArgs, location="query")
@blueprint.response(200, schemas.ShopListOut)
def shops(args: dict[str, Any]) -> dict[str, Any]:
    """The shops open to shoppers, by id."""
    query = sa.select(Shop).where(Shop.is_public)
    items, following = cursors.page(query, (Shop.id,), args.get("cursor"), args["limit"])
    return {"items": [public_shop_body(shop) for shop in items], "next_cursor": following}


@blueprint.route("/search", methods=["GET"])
@operation(blueprint, public=True, errors=(422, 503))
@blueprint.arguments(schemas.SearchArgs, location="query")
@blueprint.response(200, schemas.SearchOut)
def catalogue_search(args: dict[str, Any]) -> dict[str, Any]:
    """The shared catalogue's search, as the site's search page runs it (French analysis, typos, the
    same book at several shops shown once with ``shop_count``, the words about buying in ``q`` read as
    filters and orders: ``understood`` says what was searched)."""
    query, _notices = SearchQuery(
        text=args["q"],
        category=args.get("category"),
        shop=args.get("shop"),
        in_stock=bool(args.get("in_stock")),
        page=args["page"],
    ).understood()
    try:
        page = search.search_page(query)
    except search.SearchUnavailable as error:
        raise problem(503, error.message) from None
    items = []
    for hit, product in page.products:
        prices = product.price_range
        items.append(
            {
                "product_id": product.id,
                "title": product.title,
                "shop": product.shop.slug,
                "shop_count": hit.shop_count,
                "price_cents": prices[0] if prices else None,
                "currency": "EUR",
                "in_stock": product.in_stock,
                "url": external_url("catalog.product", product_id=product.id),
            }
        )
    understood = {
        "text": query.text,
        "price_max_cents": query.price_max_cents,
        "sort": query.sort,
        "delivery": list(query.delivery),
        "in_stock": query.in_stock,
    }
    return {"total": page.result.total, "page": query.page, "understood": understood, "items": items}
