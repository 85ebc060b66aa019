"""The shop's credit notes (factures d'avoir): each refund of a part that has an invoice issues one, in
the same transaction as the refund, so there is never one without the other.

Numbering: each shop has its own yearly series AV-2026-00001, continuous and chronological like its
invoices' F- series (CGI art. 242 nonies A allows several series, each without gaps). The number is
drawn under the series row's lock (``app.invoicing.next_document_number``), so concurrent refunds of
one shop never share a number nor leave a gap.

Lines: the units refunded (a withdrawal, a partial refund of lines, a cancellation of everything), the
delivery fee when it is given back, and for an amount refunded without lines (a goodwill gesture, a
refund made on Stripe's dashboard, what is left after earlier partial refunds) one line per VAT rate of
the invoice, the amount shared in proportion to what each rate weighed on it (``money.allocate``), so
the VAT given back follows the VAT invoiced.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa

from app.database import utcnow
from app.extensions import db
from app.invoicing import VatTotal, next_document_number, vat_summary
from app.money import allocate
from app.orders.models import (
    CreditLineKind,
    CreditNote,
    CreditNoteCounter,
    CreditNoteLine,
    Refund,
    VendorOrder,
)
from vendors.hours import TOWN_TZ
from vendors.models import Shop, VatRegime

__all__ = [
    "PREFIX",
    "CreditNoteFigures",
    "build_credit_note",
    "credit_note_figures",
    "issue_for_refund",
    "vat_exempt",
]

PREFIX = "AV"


def vat_exempt(shop: Shop) -> bool:
    """Whether the shop's credit notes carry no VAT (the franchise: its invoices charged none)."""
    return shop.vat_regime == VatRegime.FRANCHISE


def _goods_lines(part: VendorOrder, items: Mapping[int, int]) -> list[CreditNoteLine]:
    lines = []
    for line in part.lines:
        count = items.get(line.id, 0)
        if count > 0:
            lines.append(
                CreditNoteLine(
                    kind=CreditLineKind.GOODS,
                    order_line_id=line.id,
                    title=line.title,
                    variant_label=line.variant_label,
                    sku=line.sku,
                    quantity=count,
                    unit_cents=line.unit_price_cents,
                    vat_bps=line.vat_bps,
                    total_cents=line.unit_price_cents * count,
                )
            )
    return lines


def _amount_lines(part: VendorOrder, amount_cents: int) -> list[CreditNoteLine]:
    """``amount_cents`` shared across the invoice's VAT rates in proportion to each rate's amount."""
    weights: dict[int, int] = {}
    for line in part.lines:
        weights[line.vat_bps] = weights.get(line.vat_bps, 0) + line.total_cents
    if part.delivery_fee_cents:
        rate = part.delivery_vat_bps
        weights[rate] = weights.get(rate, 0) + part.delivery_fee_cents
    rates = sorted(weights, reverse=True)
    shares = allocate(amount_cents, [weights[rate] for rate in rates])
    return [
        CreditNoteLine(
            kind=CreditLineKind.AMOUNT, quantity=1, unit_cents=share, vat_bps=rate, total_cents=share
        )
        for rate, share in zip(rates, shares, strict=True)
        if share > 0
    ]


def _lines(
    part: VendorOrder, amount_cents: int, delivery_cents: int, items: Mapping[int, int] | None
) -> list[CreditNoteLine]:
    """What the refund gives back, line by line; the lines add up to ``amount_cents`` exactly."""
    delivery = min(delivery_cents, amount_cents)
    goods = _goods_lines(part, items or {})
    if sum(line.total_cents for line in goods) + delivery > amount_cents:
        goods = []  # capped to what was left after earlier refunds: the units no longer say the amount
    lines = list(goods)
    if delivery:
        lines.append(
            CreditNoteLine(
                kind=CreditLineKind.DELIVERY,
                quantity=1,
                unit_cents=delivery,
                vat_bps=part.delivery_vat_bps,
                total_cents=delivery,
            )
        )
    rest = amount_cents - sum(line.total_cents for line in lines)
    if rest > 0:
        lines += _amount_lines(part, rest)
    return lines


def issue_for_refund(done: Refund, items: Mapping[int, int] | None = None) -> CreditNote | None:
    """The credit note of a refund, issued once, in the caller's transaction (which records the refund):
    None when the part has no invoice (refused or cancelled before the shop accepted it: nothing was
    invoiced, so nothing is credited). ``items``: the units refunded, by order line id, when the refund
    is of lines."""
    part = done.vendor_order
    if not part.invoice_number or part.invoiced_at is None:
        return None
    if done.id is not None:
        existing = db.session.scalar(sa.select(CreditNote).where(CreditNote.refund_id == done.id))
        if existing is not None:
            return existing
    now = utcnow()
    number = next_document_number(
        CreditNoteCounter, PREFIX, now.astimezone(TOWN_TZ).year, shop_id=part.shop_id
    )
    note = build_credit_note(part, done, items, number=number, issued_at=now, exempt=vat_exempt(part.shop))
    note.vendor_order, note.refund = part, done
    db.session.add(note)
    db.session.flush()
    return note


def build_credit_note(
    part: VendorOrder,
    done: Refund,
    items: Mapping[int, int] | None,
    *,
    number: str,
    issued_at: dt.datetime,
    exempt: bool,
) -> CreditNote:
    """The credit note of ``done`` on the invoiced ``part``, numbered ``number``, with its lines and
    VAT, attached to nothing and added to no session: ``issue_for_refund`` adds it in the refund's
    transaction, the demo town's history writes many at once (``app.orders.demo_history``)."""
    lines = _lines(part, done.amount_cents, done.delivery_cents, items)
    if exempt:
        for line in lines:
            line.vat_bps = 0
    vat = sum(row.vat_cents for row in vat_summary((line.total_cents, line.vat_bps) for line in lines))
    if part.invoice_number is None or part.invoiced_at is None:
        raise ValueError(f"vendor order {part.id} has no invoice to credit")
    return CreditNote(
        shop_id=part.shop_id,
        number=number,
        issued_at=issued_at,
        invoice_number=part.invoice_number,
        invoice_issued_at=part.invoiced_at,
        currency=part.order.currency,
        net_cents=done.amount_cents - vat,
        vat_cents=vat,
        total_cents=done.amount_cents,
        vat_exempt=exempt,
        lines=lines,
    )


@dataclass(frozen=True)
class CreditNoteFigures:
    """What a credit note adds up: its lines' VAT per rate (empty under the franchise) and totals."""

    vat: tuple[VatTotal, ...]
    net_cents: int
    vat_cents: int
    gross_cents: int


def credit_note_figures(note: CreditNote) -> CreditNoteFigures:
    vat = () if note.vat_exempt else vat_summary((line.total_cents, line.vat_bps) for line in note.lines)
    vat_cents = sum(row.vat_cents for row in vat)
    gross = sum(line.total_cents for line in note.lines)
    return CreditNoteFigures(vat=vat, net_cents=gross - vat_cents, vat_cents=vat_cents, gross_cents=gross)
