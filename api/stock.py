"""Stock from a till or a stock program: read levels, set the quantity on hand, apply a delta.

The contract (docs/api.md, "Till stock sync") lives in ``app.orders.stock_sync``: on hand = sellable +
held by online orders; a batch of up to 500 lines is applied whole or not at all.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from api import PREFIX, schemas
from api.catalog import member
from api.problems import problem
from api.spec import Blueprint, operation
from app.errors import ServiceError
from app.extensions import db
from app.orders import stock_sync
from app.permissions import ApiScope

blueprint = Blueprint(
    "api_stock",
    __name__,
    url_prefix=PREFIX,
    description="Stock levels and the till sync (catalog:read to read, stock:write to change).",
)

EXAMPLE = {
    "lines": [
        {"sku": "PAIN-LEVAIN", "on_hand": 18, "reason": "count"},
        {"sku": "TARTE-POMMES", "delta": -1, "reason": "store_sale", "note": "ticket 4512"},
    ]
}


@blueprint.route("/stock", methods=["GET"])
@operation(blueprint, ApiScope.CATALOG_READ, errors=(422,))
@blueprint.arguments(schemas.StockQueryArgs, location="query")
@blueprint.response(200, schemas.StockLevelsOut)
def levels(args: dict[str, Any]) -> dict[str, Any]:
    """On hand, held and sellable of up to 100 SKUs (``sku`` repeated); unknown SKUs are left out."""
    variants = stock_sync.shop_variants(member(), args["sku"])
    found = stock_sync.levels(member(), sorted(variants.values(), key=lambda variant: variant.id))
    return {"lines": [asdict(level) for level in found]}


@blueprint.route("/stock", methods=["POST"])
@operation(blueprint, ApiScope.STOCK_WRITE, errors=(409, 422), idempotent=True)
@blueprint.arguments(schemas.StockBatchIn, example=EXAMPLE)
@blueprint.response(200, schemas.StockLevelsOut)
def change(sent: dict[str, Any]) -> dict[str, Any]:
    """Set ``on_hand`` or apply ``delta`` to up to 500 SKUs, all or nothing. A count below what online
    orders hold is a 409 naming each line with ``held``; nothing is changed."""
    changes = [
        stock_sync.StockChange(
            sku=line["sku"],
            reason=stock_sync.ChangeReason(line["reason"]),
            on_hand=line.get("on_hand"),
            delta=line.get("delta"),
            note=line.get("note", ""),
        )
        for line in sent["lines"]
    ]
    try:
        done = stock_sync.apply_changes(member(), changes)
    except stock_sync.StockBatchError as error:
        db.session.rollback()
        raise problem(
            409 if error.conflict else 422,
            error.message,
            kind="stock-conflict" if error.conflict else "validation",
            errors=[_line_error(found) for found in error.problems],
        ) from None
    except ServiceError as error:
        db.session.rollback()
        raise problem(
            422, error.message, errors=[{"field": "lines", "in": "body", "message": str(error.message)}]
        ) from None
    db.session.commit()
    return {"lines": [asdict(level) for level in done]}


def _line_error(found: stock_sync.LineProblem) -> dict[str, Any]:
    error: dict[str, Any] = {
        "field": f"lines.{found.index}.{found.field}",
        "in": "body",
        "index": found.index,
        "message": str(found.message),
    }
    if found.held is not None:
        error["held"] = found.held
        error["sellable"] = found.sellable
    return error
