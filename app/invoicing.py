"""What every invoice and credit note of the marketplace shares, whoever issues it (a shop to its buyer,
the platform to a shop): gapless numbering in a yearly series, and the VAT summary per rate.

French law (CGI art. 242 nonies A, 1-7°) asks for a unique number "based on a chronological and
continuous sequence"; several series are allowed when each is itself continuous. So each kind of
document has its own series (invoices ``F-``, credit notes ``AV-`` per shop; ``C-`` for the platform's
commission documents), each numbered under its counter row's lock (``app.database.next_in_series``):
two issuers never draw the same number, and a rolled-back issue leaves no gap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.database import next_in_series
from app.money import vat_breakdown

if TYPE_CHECKING:  # fpdf is loaded with the first document drawn, not by every worker
    from app.pdf import Document

__all__ = [
    "VatTotal",
    "document_number",
    "draw_vat_summary",
    "net_vat_summary",
    "next_document_number",
    "vat_summary",
]


def next_document_number(counter: Any, prefix: str, year: int, **series: Any) -> str:
    """``prefix``-2026-00001: the next number of a document series, per year, without gaps.

    ``counter`` is a model keyed by ``series`` and ``year`` with a ``last`` column; the number is taken
    under its row's lock, held until the caller's transaction ends (which must keep the document)."""
    last = next_in_series(counter, **series, year=year)
    return document_number(prefix, year, int(last))


def document_number(prefix: str, year: int, last: int) -> str:
    """The ``last``-th number of a series, as ``next_document_number`` writes it."""
    return f"{prefix}-{year}-{last:05d}"


@dataclass(frozen=True)
class VatTotal:
    """One row of a document's VAT summary: its amounts at one rate (VAT rounded per line)."""

    rate_bps: int
    net_cents: int
    vat_cents: int
    gross_cents: int


def vat_summary(lines: Iterable[tuple[int, int]]) -> tuple[VatTotal, ...]:
    """The VAT summary of (gross_cents, rate_bps) tax-inclusive lines, highest rate first."""
    return tuple(
        VatTotal(rate_bps=rate, net_cents=gross - vat, vat_cents=vat, gross_cents=gross)
        for rate, (gross, vat) in vat_breakdown(lines).items()
    )


def net_vat_summary(lines: Iterable[tuple[int, int, int]]) -> tuple[VatTotal, ...]:
    """The VAT summary of (net_cents, vat_cents, rate_bps) lines whose VAT was computed already (the
    platform's commission, billed net), highest rate first."""
    totals: dict[int, tuple[int, int]] = {}
    for net, vat, rate in lines:
        net_total, vat_total = totals.get(rate, (0, 0))
        totals[rate] = (net_total + net, vat_total + vat)
    return tuple(
        VatTotal(rate_bps=rate, net_cents=net, vat_cents=vat, gross_cents=net + vat)
        for rate, (net, vat) in sorted(totals.items(), reverse=True)
    )


def draw_vat_summary(pdf: Document, rows: Iterable[VatTotal], currency: str) -> None:
    """The VAT summary table (rate, net, VAT, gross), at the right of the page."""
    from flask_babel import gettext as _
    from fpdf.enums import Align, TableBordersLayout

    from app.money import format_money, format_rate
    from app.pdf import HEADINGS, LINE_HEIGHT

    with pdf.table(
        width=pdf.epw * 0.6,
        col_widths=(1, 1, 1, 1),
        align=Align.R,
        text_align=(Align.R, Align.R, Align.R, Align.R),
        headings_style=HEADINGS,
        line_height=LINE_HEIGHT,
        padding=1,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
    ) as table:
        table.row([_("Taux"), _("Base HT"), _("TVA"), _("Total TTC")])
        for row in rows:
            table.row(
                [
                    format_rate(row.rate_bps),
                    format_money(row.net_cents, currency),
                    format_money(row.vat_cents, currency),
                    format_money(row.gross_cents, currency),
                ]
            )
    pdf.ln(3)
