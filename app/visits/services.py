"""Counting visits without tracking anyone, and reading the counts back.

Counted per day (the town's), shop, product (none for the storefront) and kind: storefront and product
page views, and products added to a cart. Only people's requests count (see ``counters.counted_request``)
and only pages sent whole (status 200). A counter that fails is logged and the page goes on.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from flask import after_this_request, has_request_context, request
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from app import pagecache
from app.extensions import db
from app.visits.counters import Counter, Key, counted_request, today, upsert
from app.visits.models import VisitCount, VisitKind

log = logging.getLogger(__name__)


def _write(session: Session, counts: Mapping[Key, int]) -> None:
    """Add counts to the table: one upsert for storefront keys, one for product keys (each has its
    own unique index, product_id being NULL for the storefront)."""
    storefront: list[dict[str, object]] = []
    products: list[dict[str, object]] = []
    for (day, shop_id, product_id, kind), count in sorted(counts.items(), key=lambda item: str(item[0])):
        row = {
            "day": dt.date.fromisoformat(str(day)),
            "shop_id": int(str(shop_id)),
            "product_id": None if product_id is None else int(product_id),
            "kind": VisitKind(str(kind)),
            "count": count,
        }
        (storefront if product_id is None else products).append(row)
    for rows, columns, where in (
        (storefront, ["day", "shop_id", "kind"], VisitCount.product_id.is_(None)),
        (products, ["day", "shop_id", "product_id", "kind"], VisitCount.product_id.is_not(None)),
    ):
        if rows:
            insert = upsert(VisitCount)
            statement = insert.on_conflict_do_update(
                index_elements=columns,
                index_where=where,
                set_={"count": VisitCount.count + insert.excluded["count"]},
            )
            session.execute(statement, rows)


VISITS = Counter("visits", _write)


def _add(shop_id: int, product_id: int | None, kind: VisitKind) -> None:
    try:
        VISITS.add((today().isoformat(), shop_id, product_id, kind.value))
    except Exception:
        log.exception("visit not counted (shop %s, product %s, %s)", shop_id, product_id, kind.value)


def count_view(shop_id: int, product_id: int | None = None) -> None:
    """Count a view of a shop's storefront (no product) or of one of its product pages, once the page has
    been sent with status 200, if a person asked for it. Call it from the page's view."""
    pagecache.repeat_on_hit("visits.count_view", shop_id, product_id)  # a kept page counts each time too
    if not has_request_context() or not counted_request(request):
        return

    @after_this_request
    def _count(response: Response) -> Response:
        if response.status_code == 200:
            _add(shop_id, product_id, VisitKind.VIEW)
        return response


def count_cart_add(shop_id: int, product_id: int) -> None:
    """Count a product put in a cart, if a person did it. Call it once the addition has succeeded."""
    if has_request_context() and counted_request(request):
        _add(shop_id, product_id, VisitKind.CART_ADD)


def flush() -> int:
    """Move the counts waiting in Redis into the database (nothing to do without Redis)."""
    return VISITS.flush()


# -- reading -------------------------------------------------------------------------------------------


def _by_shop(kind: VisitKind, start: dt.date, end: dt.date, shop_ids: Sequence[int] | None) -> dict[int, int]:
    if shop_ids is not None and not shop_ids:
        return {}
    statement = (
        sa.select(VisitCount.shop_id, sa.func.sum(VisitCount.count))
        .where(VisitCount.day >= start, VisitCount.day <= end, VisitCount.kind == kind)
        .group_by(VisitCount.shop_id)
    )
    if shop_ids is not None:
        statement = statement.where(VisitCount.shop_id.in_(sorted({int(shop_id) for shop_id in shop_ids})))
    return {int(shop_id): int(total) for shop_id, total in db.session.execute(statement)}


def views_by_shop(start: dt.date, end: dt.date, shop_ids: Sequence[int] | None = None) -> dict[int, int]:
    """Page views (storefront and product pages) of each shop from ``start`` to ``end`` included; shops with
    none are absent. All shops, or only ``shop_ids``."""
    return _by_shop(VisitKind.VIEW, start, end, shop_ids)


def cart_adds_by_shop(start: dt.date, end: dt.date, shop_ids: Sequence[int] | None = None) -> dict[int, int]:
    """Products put in a cart, for each shop, from ``start`` to ``end`` included; shops with none are
    absent. All shops, or only ``shop_ids``."""
    return _by_shop(VisitKind.CART_ADD, start, end, shop_ids)


def views_by_product(start: dt.date, end: dt.date, shop_id: int) -> dict[int, int]:
    """Views of each product page of one shop from ``start`` to ``end`` included; products with none are
    absent."""
    statement = (
        sa.select(VisitCount.product_id, sa.func.sum(VisitCount.count))
        .where(
            VisitCount.day >= start,
            VisitCount.day <= end,
            VisitCount.shop_id == shop_id,
            VisitCount.kind == VisitKind.VIEW,
            VisitCount.product_id.is_not(None),
        )
        .group_by(VisitCount.product_id)
    )
    rows = db.session.execute(statement)
    return {int(product_id): int(total) for product_id, total in rows if product_id is not None}
