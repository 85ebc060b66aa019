"""The town manager's key (scope ``town:read``): every shop, the shops' orders and the town's figures,
read-only, for the town's own tools (a spreadsheet, the council's dashboard)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from api import PREFIX, cursors, schemas
from api.catalog import shop_body
from api.spec import Blueprint, operation
from app.figures import services as figures
from app.orders.models import VendorOrder, VendorOrderStatus
from app.permissions import ApiScope
from vendors.models import Shop

blueprint = Blueprint(
    "api_town",
    __name__,
    url_prefix=PREFIX + "/town",
    description="The town manager's read-only key (town:read).",
)


@blueprint.route("/shops", methods=["GET"])
@operation(blueprint, ApiScope.TOWN_READ, shop=False, errors=(422,))
@blueprint.arguments(schemas.CursorArgs, location="query")
@blueprint.response(200, schemas.TownShopListOut)
def shops(args: dict[str, Any]) -> dict[str, Any]:
    """Every shop, whatever its status, by id."""
    query = sa.select(Shop)
    items, following = cursors.page(query, (Shop.id,), args.get("cursor"), args["limit"])
    return {
        "items": [
            {**shop_body(shop), "approved_at": shop.approved_at, "public": shop.is_public} for shop in items
        ],
        "next_cursor": following,
    }


@blueprint.route("/orders", methods=["GET"])
@operation(blueprint, ApiScope.TOWN_READ, shop=False, errors=(422,))
@blueprint.arguments(schemas.TownOrderArgs, location="query")
@blueprint.response(200, schemas.TownOrderListOut)
def orders(args: dict[str, Any]) -> dict[str, Any]:
    """The shops' orders (one per shop and checkout), newest last, by id."""
    query = sa.select(VendorOrder).options(joinedload(VendorOrder.order))
    if "status" in args:
        query = query.where(VendorOrder.status == VendorOrderStatus(args["status"]))
    if "shop_id" in args:
        query = query.where(VendorOrder.shop_id == args["shop_id"])
    if "created_since" in args:
        query = query.where(VendorOrder.created_at >= args["created_since"])
    items, following = cursors.page(query, (VendorOrder.id,), args.get("cursor"), args["limit"])
    return {
        "items": [
            {
                "id": part.id,
                "number": part.order.number,
                "shop_id": part.shop_id,
                "status": part.status.value,
                "delivery_method": str(part.delivery_method),
                "items_cents": part.items_cents,
                "delivery_fee_cents": part.delivery_fee_cents,
                "total_cents": part.total_cents,
                "currency": "EUR",
                "created_at": part.created_at,
                "paid_at": part.order.paid_at,
            }
            for part in items
        ],
        "next_cursor": following,
    }


@blueprint.route("/figures", methods=["GET"])
@operation(blueprint, ApiScope.TOWN_READ, shop=False, errors=(422,))
@blueprint.arguments(schemas.FiguresArgs, location="query")
@blueprint.response(200, schemas.FiguresOut)
def town_figures(args: dict[str, Any]) -> dict[str, Any]:
    """The town's figures of the days from ``start`` to ``end`` (town time), as the console shows them."""
    totals = figures.town_totals(args["start"], args["end"])
    return {
        "start": args["start"],
        "end": args["end"],
        "currency": "EUR",
        "gmv_cents": totals.gmv_cents,
        "refunds_cents": totals.refunds_cents,
        "net_gmv_cents": totals.net_gmv_cents,
        "orders": totals.orders,
        "checkouts": totals.checkouts,
        "items": totals.items,
        "commission_cents": totals.commission_cents,
        "shops_selling": totals.shops_selling,
        "buyers": totals.buyers,
        "basket_cents": totals.basket_cents,
    }
