"""The shop's orders (one shop's part of each checkout): list, read, and move them through their states
with the orders' own services (``app.orders.services``), as the back office does: the same checks,
e-mails to the shopper, refunds and ledger entries. Orders awaiting payment are not the shop's yet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from api import PREFIX, cursors, schemas
from api.catalog import member
from api.problems import problem
from api.spec import Blueprint, operation
from app.extensions import db
from app.orders import services as orders
from app.orders.models import VendorOrder, VendorOrderStatus
from app.permissions import ApiScope

blueprint = Blueprint(
    "api_orders", __name__, url_prefix=PREFIX, description="The shop's orders (orders:read, orders:write)."
)


def order_body(part: VendorOrder) -> dict[str, Any]:
    order = part.order
    return {
        "id": part.id,
        "number": order.number,
        "status": part.status.value,
        "delivery_method": str(part.delivery_method),
        "pickup_slot": part.pickup_slot,
        "carrier": part.carrier,
        "tracking_number": part.tracking_number,
        "items_cents": part.items_cents,
        "delivery_fee_cents": part.delivery_fee_cents,
        "total_cents": part.total_cents,
        "refunded_cents": part.refunded_cents,
        "currency": "EUR",
        "customer": {
            "full_name": order.full_name,
            "email": order.email,
            "phone": order.phone,
            "street": order.street,
            "postcode": order.postcode,
            "city": order.city,
            "country": order.country,
        },
        "lines": [
            {
                "id": line.id,
                "sku": line.sku,
                "title": line.title,
                "variant_label": line.variant_label,
                "quantity": line.quantity,
                "returned_quantity": line.returned_quantity,
                "unit_price_cents": line.unit_price_cents,
                "total_cents": line.total_cents,
                "vat_bps": line.vat_bps,
            }
            for line in part.lines
        ],
        "paid_at": order.paid_at,
        "accepted_at": part.accepted_at,
        "shipped_at": part.shipped_at,
        "ready_at": part.ready_at,
        "received_at": part.received_at,
        "cancelled_at": part.cancelled_at,
        "created_at": part.created_at,
        "updated_at": part.updated_at,
    }


def _part(vendor_order_id: int, lock: bool = False) -> VendorOrder:
    try:
        part = orders.shop_part(member().shop, vendor_order_id, lock=lock)
    except orders.OrderError:
        raise problem(404) from None
    if part.status == VendorOrderStatus.PENDING_PAYMENT:
        raise problem(404)
    return part


def _step(vendor_order_id: int, change: Callable[[VendorOrder], Any]) -> dict[str, Any]:
    """Lock the order, apply one step, commit once; a step the order's state refuses is a 409."""
    _part(vendor_order_id)  # another shop's order is a 404 before anything else
    part = _part(vendor_order_id, lock=True)
    try:
        change(part)
    except orders.OrderError as error:
        db.session.rollback()
        raise problem(409, error.message) from None
    db.session.commit()
    return order_body(part)


@blueprint.route("/orders", methods=["GET"])
@operation(blueprint, ApiScope.ORDERS_READ, errors=(422,))
@blueprint.arguments(schemas.OrderListArgs, location="query")
@blueprint.response(200, schemas.ShopOrderListOut)
def order_list(args: dict[str, Any]) -> dict[str, Any]:
    """The shop's paid orders, oldest first (keep the last cursor to get only the new ones next time)."""
    query = (
        sa.select(VendorOrder)
        .where(
            VendorOrder.shop_id == member().shop_id, VendorOrder.status != VendorOrderStatus.PENDING_PAYMENT
        )
        .options(selectinload(VendorOrder.order), selectinload(VendorOrder.lines))
    )
    if "status" in args:
        query = query.where(VendorOrder.status == VendorOrderStatus(args["status"]))
    if "updated_since" in args:
        query = query.where(VendorOrder.updated_at >= args["updated_since"])
    items, following = cursors.page(query, (VendorOrder.id,), args.get("cursor"), args["limit"])
    return {"items": [order_body(part) for part in items], "next_cursor": following}


@blueprint.route("/orders/<int:vendor_order_id>", methods=["GET"])
@operation(blueprint, ApiScope.ORDERS_READ, errors=(404,))
@blueprint.response(200, schemas.ShopOrderOut)
def order(vendor_order_id: int) -> dict[str, Any]:
    """One order of the shop, with its lines and the customer's contact."""
    return order_body(_part(vendor_order_id))


@blueprint.route("/orders/<int:vendor_order_id>/accept", methods=["POST"])
@operation(blueprint, ApiScope.ORDERS_WRITE, errors=(404, 409), idempotent=True)
@blueprint.response(200, schemas.ShopOrderOut)
def accept(vendor_order_id: int) -> dict[str, Any]:
    """Accept a paid order (its invoice is numbered then)."""
    return _step(vendor_order_id, orders.accept)


@blueprint.route("/orders/<int:vendor_order_id>/refuse", methods=["POST"])
@operation(blueprint, ApiScope.ORDERS_WRITE, errors=(404, 409, 422), idempotent=True)
@blueprint.arguments(schemas.RefuseIn, example={"reason": "Rupture de stock"})
@blueprint.response(200, schemas.ShopOrderOut)
def refuse(sent: dict[str, Any], vendor_order_id: int) -> dict[str, Any]:
    """Refuse a paid order, with the reason the shopper reads; the shopper is refunded."""
    return _step(vendor_order_id, lambda part: orders.refuse(part, sent["reason"]))


@blueprint.route("/orders/<int:vendor_order_id>/ship", methods=["POST"])
@operation(blueprint, ApiScope.ORDERS_WRITE, errors=(404, 409, 422), idempotent=True)
@blueprint.arguments(schemas.ShipIn, example={"carrier": "Colissimo", "tracking_number": "6A12345678901"})
@blueprint.response(200, schemas.ShopOrderOut)
def ship(sent: dict[str, Any], vendor_order_id: int) -> dict[str, Any]:
    """An accepted order to deliver has left the shop, with its tracking number."""
    return _step(vendor_order_id, lambda part: orders.ship(part, sent["carrier"], sent["tracking_number"]))


@blueprint.route("/orders/<int:vendor_order_id>/ready", methods=["POST"])
@operation(blueprint, ApiScope.ORDERS_WRITE, errors=(404, 409), idempotent=True)
@blueprint.response(200, schemas.ShopOrderOut)
def ready(vendor_order_id: int) -> dict[str, Any]:
    """An accepted click & collect order is ready: the shopper gets the collection code."""
    return _step(vendor_order_id, orders.ready_for_pickup)


@blueprint.route("/orders/<int:vendor_order_id>/collected", methods=["POST"])
@operation(blueprint, ApiScope.ORDERS_WRITE, errors=(404, 409, 422), idempotent=True)
@blueprint.arguments(schemas.CollectedIn, example={"code": "4821"})
@blueprint.response(200, schemas.ShopOrderOut)
def collected(sent: dict[str, Any], vendor_order_id: int) -> dict[str, Any]:
    """The shopper collected the order, showing its code."""
    return _step(vendor_order_id, lambda part: orders.mark_collected(part, sent["code"]))
