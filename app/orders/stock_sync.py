"""Stock on hand from a shop's till: what is in the shop, minus what online orders hold.

``Variant.stock`` is the stock the marketplace may still sell: a checkout takes its units at once
(``move_stock``), and gives them back if the order is never paid. The units of an online order stay on
the shop's shelf until the order leaves it (shipped, or collected), so a till counting its shelf
counts them too. Hence, per variant:

    on hand (the till's count) = sellable (Variant.stock) + held (online orders not yet handed over)

Setting the quantity on hand sets ``stock = on_hand - held``; a count below what online orders hold
is a conflict, refused with the held quantity, never an oversell. Rows are locked in id order for the
whole batch, so a checkout taking the same units waits for the batch (or the batch for it).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.catalog.models import MAX_STOCK, StockReason, Variant
from app.catalog.services import ABOVE_MAX_STOCK, move_stock
from app.database import locked
from app.errors import ServiceError
from app.extensions import db
from app.orders.models import OrderLine, VendorOrder, VendorOrderStatus
from vendors.models import ShopMember

MAX_LINES = 500
# Online orders whose units are still on the shop's shelf: awaiting payment (reserved for a while),
# paid, accepted, or waiting at the counter to be collected.
HOLDING_STATES = (
    VendorOrderStatus.PENDING_PAYMENT,
    VendorOrderStatus.PAID,
    VendorOrderStatus.ACCEPTED,
    VendorOrderStatus.READY_FOR_PICKUP,
)


class ChangeReason(enum.StrEnum):
    """Why a till or a stock program changes a quantity (kept in the stock movement's note)."""

    STORE_SALE = "store_sale"
    COUNT = "count"
    RECEIVED = "received"
    LOSS = "loss"
    CORRECTION = "correction"


@dataclass(frozen=True)
class StockChange:
    """One line of a batch: set the quantity on hand, or add ``delta`` to it (negative for a sale)."""

    sku: str
    reason: ChangeReason
    on_hand: int | None = None
    delta: int | None = None
    note: str = ""


@dataclass(frozen=True)
class StockLevel:
    variant_id: int
    product_id: int
    sku: str
    on_hand: int
    held: int
    sellable: int


@dataclass(frozen=True)
class LineProblem:
    index: int
    field: str
    message: Any
    held: int | None = None  # for a conflict: what online orders hold
    sellable: int | None = None


class StockBatchError(ServiceError):
    """The batch was refused whole; ``problems`` name each line. ``conflict``: every problem is a quantity
    below what online orders hold (the request was well formed, the shop's count disagrees)."""

    def __init__(self, problems: list[LineProblem]) -> None:
        super().__init__(_l("Aucune ligne n’a été appliquée : corrigez les lignes signalées."))
        self.problems = problems
        self.conflict = all(problem.held is not None for problem in problems)


def held_quantities(variant_ids: Sequence[int]) -> dict[int, int]:
    """Units of each variant held by online orders not yet handed over."""
    if not variant_ids:
        return {}
    rows = db.session.execute(
        sa.select(OrderLine.variant_id, sa.func.sum(OrderLine.quantity))
        .join(VendorOrder, VendorOrder.id == OrderLine.vendor_order_id)
        .where(OrderLine.variant_id.in_(variant_ids), VendorOrder.status.in_(HOLDING_STATES))
        .group_by(OrderLine.variant_id)
    )
    return {int(variant_id or 0): int(total or 0) for variant_id, total in rows}


def levels(member: ShopMember, variants: Sequence[Variant]) -> list[StockLevel]:
    """On hand, held and sellable of the shop's ``variants``."""
    held = held_quantities([variant.id for variant in variants])
    return [
        _level(variant, held.get(variant.id, 0)) for variant in variants if variant.shop_id == member.shop_id
    ]


def _level(variant: Variant, held: int) -> StockLevel:
    return StockLevel(
        variant_id=variant.id,
        product_id=variant.product_id,
        sku=variant.sku,
        on_hand=variant.stock + held,
        held=held,
        sellable=variant.stock,
    )


def shop_variants(member: ShopMember, skus: Sequence[str]) -> dict[str, Variant]:
    """The shop's variants by upper-cased SKU (SKUs are matched as the catalogue does, case aside)."""
    wanted = {sku.strip().upper() for sku in skus}
    found = db.session.scalars(
        sa.select(Variant).where(Variant.shop_id == member.shop_id, sa.func.upper(Variant.sku).in_(wanted))
    )
    return {variant.sku.upper(): variant for variant in found}


def apply_changes(member: ShopMember, changes: Sequence[StockChange]) -> list[StockLevel]:
    """Apply every line or none (``StockBatchError`` names the lines refused); the levels after, in the
    lines' order. Never commits."""
    if not 0 < len(changes) <= MAX_LINES:
        raise ServiceError(_l("Envoyez entre 1 et %(count)d lignes.", count=MAX_LINES), "lines")
    variants = shop_variants(member, [change.sku for change in changes])
    problems: list[LineProblem] = []
    seen: set[str] = set()
    for index, change in enumerate(changes):
        key = change.sku.strip().upper()
        if key not in variants:
            problems.append(LineProblem(index, "sku", _l("Aucune déclinaison de la boutique n’a ce SKU.")))
        elif key in seen:
            problems.append(LineProblem(index, "sku", _l("Ce SKU apparaît deux fois dans le lot.")))
        seen.add(key)
    if problems:
        raise StockBatchError(problems)
    ids = sorted({variant.id for variant in variants.values()})
    # Locked in id order (as checkouts take them), and read afresh once the locks are ours.
    locked_rows = {
        variant.id: variant
        for variant in db.session.scalars(
            locked(sa.select(Variant).where(Variant.id.in_(ids)).order_by(Variant.id))
        )
    }
    held = held_quantities(ids)
    targets: list[tuple[Variant, int]] = []
    for index, change in enumerate(changes):
        variant = locked_rows[variants[change.sku.strip().upper()].id]
        variant_held = held.get(variant.id, 0)
        on_hand = (
            change.on_hand
            if change.on_hand is not None
            else variant.stock + variant_held + (change.delta or 0)
        )
        field = "on_hand" if change.on_hand is not None else "delta"
        if on_hand < 0:
            problems.append(LineProblem(index, field, _l("Le stock en magasin ne peut pas devenir négatif.")))
        elif on_hand - variant_held > MAX_STOCK:
            problems.append(LineProblem(index, field, ABOVE_MAX_STOCK))
        elif on_hand < variant_held:
            problems.append(
                LineProblem(
                    index,
                    field,
                    _l(
                        "Des commandes en ligne réservent %(held)d unité(s) de ce SKU : le stock en magasin "
                        "ne peut pas descendre en dessous.",
                        held=variant_held,
                    ),
                    held=variant_held,
                    sellable=variant.stock,
                )
            )
        else:
            targets.append((variant, on_hand - variant_held))
    if problems:
        raise StockBatchError(problems)
    for (variant, sellable), change in zip(targets, changes, strict=True):
        delta = sellable - variant.stock
        if (
            delta
            and move_stock(member.user, variant.id, delta, StockReason.ADJUSTMENT, _note(change)) is None
        ):
            raise ServiceError(_l("Le stock ne peut pas devenir négatif."), "delta")  # locked: cannot happen
        db.session.refresh(variant, ["stock"])
    return [_level(variant, held.get(variant.id, 0)) for variant, _ in targets]


def _note(change: StockChange) -> str:
    text = f"API {change.reason.value}"
    return f"{text}: {change.note.strip()}"[:200] if change.note.strip() else text
