"""The shop's returns (withdrawals): list and read them, and confirm that the goods came back, which
restocks them and refunds the shopper through the orders' own service (``receive_return``), exactly as
the back office's "Articles reçus" button does. A return is part of an order: the orders' scopes apply.

The shopper appears only through the order (``GET /orders/{id}``): a return carries no contact.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from api import PREFIX, cursors, schemas
from api.catalog import member
from api.problems import problem
from api.spec import Blueprint, operation
from app.extensions import db
from app.orders import services as orders
from app.orders.models import OrderLine, ReturnLine, ReturnRequest, ReturnStatus, VendorOrder
from app.permissions import ApiScope

blueprint = Blueprint(
    "api_returns",
    __name__,
    url_prefix=PREFIX,
    description="The shop's returns, the shoppers' withdrawals (orders:read, orders:write).",
)

LOADING = (
    selectinload(ReturnRequest.vendor_order).selectinload(VendorOrder.order),
    selectinload(ReturnRequest.lines).selectinload(ReturnLine.line),
    selectinload(ReturnRequest.refund),
)


def _line_body(item: ReturnLine) -> dict[str, Any]:
    line: OrderLine = item.line
    return {
        "order_line_id": line.id,
        "sku": line.sku,
        "title": line.title,
        "variant_label": line.variant_label,
        "quantity": item.quantity,
        "unit_price_cents": line.unit_price_cents,
        "total_cents": line.unit_price_cents * item.quantity,
    }


def return_body(request: ReturnRequest) -> dict[str, Any]:
    order = request.vendor_order.order
    refund = request.refund
    return {
        "id": request.id,
        "status": request.status.value,
        "vendor_order_id": request.vendor_order_id,
        "order_number": order.number,
        "reason": request.reason,
        "lines": [_line_body(item) for item in request.lines],
        "currency": order.currency,
        "refunded_cents": refund.amount_cents if refund is not None else 0,
        "refund": None
        if refund is None
        else {
            "amount_cents": refund.amount_cents,
            "delivery_cents": refund.delivery_cents,
            "status": refund.status.value,
            "created_at": refund.created_at,
        },
        "requested_at": request.created_at,
        "received_at": request.received_at,
        "refund_due_on": request.refund_due_on,
        "updated_at": request.updated_at,
    }


def _shop_returns() -> sa.Select[Any]:
    return (
        sa.select(ReturnRequest)
        .join(VendorOrder, ReturnRequest.vendor_order_id == VendorOrder.id)
        .where(VendorOrder.shop_id == member().shop_id)
        .options(*LOADING)
    )


def _return_order_id(return_id: int) -> int:
    """The order of one of the shop's returns, read as a plain column: the return's row is read only once
    its order is locked, so that two confirmations at once see each other's work."""
    found = db.session.scalar(
        sa.select(ReturnRequest.vendor_order_id)
        .join(VendorOrder, ReturnRequest.vendor_order_id == VendorOrder.id)
        .where(ReturnRequest.id == return_id, VendorOrder.shop_id == member().shop_id)
    )
    if found is None:
        raise problem(404)
    return int(found)


def _shop_return(return_id: int) -> ReturnRequest:
    found = db.session.scalar(_shop_returns().where(ReturnRequest.id == return_id))
    if found is None:
        raise problem(404)
    return found


@blueprint.route("/returns", methods=["GET"])
@operation(blueprint, ApiScope.ORDERS_READ, errors=(422,))
@blueprint.arguments(schemas.ReturnListArgs, location="query")
@blueprint.response(200, schemas.ReturnListOut)
def return_list(args: dict[str, Any]) -> dict[str, Any]:
    """The shop's returns, oldest first (``status=requested``: those to check in; keep the last cursor to
    get only the new ones next time)."""
    query = _shop_returns()
    if "status" in args:
        query = query.where(ReturnRequest.status == ReturnStatus(args["status"]))
    if "requested_since" in args:
        query = query.where(ReturnRequest.created_at >= args["requested_since"])
    items, following = cursors.page(query, (ReturnRequest.id,), args.get("cursor"), args["limit"])
    return {"items": [return_body(request) for request in items], "next_cursor": following}


@blueprint.route("/returns/<int:return_id>", methods=["GET"])
@operation(blueprint, ApiScope.ORDERS_READ, errors=(404,))
@blueprint.response(200, schemas.ReturnOut)
def return_detail(return_id: int) -> dict[str, Any]:
    """One return of the shop: the units sent back, the refund once made."""
    return return_body(_shop_return(return_id))


@blueprint.route("/returns/<int:return_id>/received", methods=["POST"])
@operation(blueprint, ApiScope.ORDERS_WRITE, errors=(404, 409), idempotent=True)
@blueprint.response(200, schemas.ReturnOut)
def received(return_id: int) -> dict[str, Any]:
    """The returned goods are back in the shop: they go back to stock and the shopper is refunded (the
    goods, and the delivery fee when everything was sent back), as from the back office. A return no
    longer waiting (already received) is a 409; the same request sent again with its
    ``Idempotency-Key`` gets the first answer."""
    try:
        part = orders.shop_part(member().shop, _return_order_id(return_id), lock=True)
    except orders.OrderError:
        raise problem(404) from None
    waiting = orders.open_return(part)
    if waiting is None or waiting.id != return_id:
        raise problem(409, _l("Ce retour n’attend plus les articles : il a déjà été reçu."))
    try:
        orders.receive_return(part)
    except orders.OrderError as error:
        db.session.rollback()
        raise problem(409, error.message) from None
    db.session.commit()
    return return_body(_shop_return(return_id))
