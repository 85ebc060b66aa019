"""The documents of one shop's part of an order, as PDF: its invoice, its packing slip, the withdrawal form.

Invoices are the shop's own (the marketplace is only the intermediary): each shop numbers them in its
own series per year, without gaps (``issue_invoice``). What an invoice prints is computed once, by
``invoice_figures``, and the PDF is drawn from those figures.

Every document is written in the order's language (French source strings, Flask-Babel) and drawn on
``app.pdf``'s document, in DejaVu Sans.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, format_date, format_time, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from fpdf.enums import Align, TableBordersLayout

from app import einvoice
from app.accounts.models import Address
from app.cart.models import DeliveryMethod
from app.database import utcnow
from app.extensions import db
from app.invoicing import VatTotal, draw_vat_summary, next_document_number, vat_summary
from app.money import format_money, format_rate, split_gross
from app.orders.credit_notes import CreditNoteFigures, credit_note_figures
from app.orders.models import (
    CreditLineKind,
    CreditNote,
    CreditNoteLine,
    InvoiceCounter,
    Order,
    RefundReason,
    RefundStatus,
    VendorOrder,
)
from app.pdf import (
    BOLD,
    HEADINGS,
    LINE_HEIGHT,
    Document,
    FontMissingError,
    country_name,
    long_date,
    new_document,
    output,
)
from vendors.hours import TOWN_TZ
from vendors.models import Shop, VatRegime

__all__ = [
    "FontMissingError",
    "InvoiceFigures",
    "InvoiceLine",
    "RefundMade",
    "VatTotal",
    "credit_note_pdf",
    "invoice_figures",
    "invoice_pdf",
    "is_business_buyer",
    "issue_invoice",
    "packing_slip_pdf",
    "withdrawal_form_pdf",
]

DELIVERY_LABELS = {
    DeliveryMethod.CLICK_COLLECT: _l("Retrait en boutique"),
    DeliveryMethod.LOCAL_DELIVERY: _l("Livraison locale"),
    DeliveryMethod.HOME_DELIVERY: _l("Envoi à domicile"),
    DeliveryMethod.RELAY: _l("Point relais"),
}
REFUND_REASONS = {
    RefundReason.REFUSED: _l("Commande refusée par la boutique"),
    RefundReason.CANCELLED: _l("Commande annulée"),
    RefundReason.WITHDRAWAL: _l("Rétractation"),
    RefundReason.EXPIRED: _l("Paiement reçu après l’expiration de la réservation"),
    RefundReason.PARTIAL: _l("Remboursement partiel par la boutique"),
    RefundReason.GOODWILL: _l("Geste commercial"),
    RefundReason.EXTERNAL: _l("Remboursement fait sur Stripe"),
}
# The mention an invoice carries instead of VAT when the shop is under the franchise.
FRANCHISE_MENTIONS = {
    "FR": _l("TVA non applicable, art. 293 B du CGI"),
    "BE": _l("Régime particulier de franchise des petites entreprises"),
}

INVOICE_PREFIX = "F"

# --------------------------------------------------------------------------------------------------
# Invoice numbers


def issue_invoice(vendor_order: VendorOrder) -> str:
    """Give the shop's part of an order its invoice number, F-2026-00001, once; the number.

    Numbers follow each other without gaps in each shop's own series per year (the town's calendar
    year). The vendor order's row is locked first, so two acceptances at once draw one number between
    them. Never commits: the caller does, with the acceptance.
    """
    db.session.refresh(vendor_order, ["invoice_number", "invoiced_at"], with_for_update=True)
    if vendor_order.invoice_number:
        return vendor_order.invoice_number
    now = utcnow()
    year = now.astimezone(TOWN_TZ).year
    vendor_order.invoice_number = next_document_number(
        InvoiceCounter, INVOICE_PREFIX, year, shop_id=vendor_order.shop_id
    )
    vendor_order.invoiced_at = now
    return vendor_order.invoice_number


# --------------------------------------------------------------------------------------------------
# Invoice figures


@dataclass(frozen=True)
class InvoiceLine:
    """One line as the invoice prints it; amounts in cents, tax included."""

    title: str
    variant_label: str
    sku: str
    quantity: int
    unit_cents: int
    vat_bps: int
    total_cents: int
    is_delivery: bool = False


@dataclass(frozen=True)
class RefundMade:
    refunded_at: dt.datetime
    amount_cents: int
    reason: RefundReason


@dataclass(frozen=True)
class InvoiceFigures:
    """Everything the invoice adds up. Under the VAT franchise every rate is 0 and ``vat`` is empty."""

    currency: str
    vat_exempt: bool
    lines: tuple[InvoiceLine, ...]
    vat: tuple[VatTotal, ...]
    net_cents: int
    vat_cents: int
    gross_cents: int
    refunds: tuple[RefundMade, ...]
    credit_notes: tuple[str, ...] = ()  # the numbers of the credit notes issued against it

    @property
    def refunded_cents(self) -> int:
        return sum(refund.amount_cents for refund in self.refunds)


def _delivery_title(vendor_order: VendorOrder) -> str:
    return _("Frais de livraison (%(method)s)", method=DELIVERY_LABELS[vendor_order.delivery_method])


def invoice_figures(vendor_order: VendorOrder) -> InvoiceFigures:
    """The lines, the delivery fee, the VAT per rate and the totals of the shop's invoice."""
    exempt = vendor_order.shop.vat_regime == VatRegime.FRANCHISE
    lines = [
        InvoiceLine(
            title=line.title,
            variant_label=line.variant_label,
            sku=line.sku,
            quantity=line.quantity,
            unit_cents=line.unit_price_cents,
            vat_bps=0 if exempt else line.vat_bps,
            total_cents=line.total_cents,
        )
        for line in vendor_order.lines
    ]
    if vendor_order.delivery_fee_cents:
        lines.append(
            InvoiceLine(
                title=_delivery_title(vendor_order),
                variant_label="",
                sku="",
                quantity=1,
                unit_cents=vendor_order.delivery_fee_cents,
                vat_bps=0 if exempt else vendor_order.delivery_vat_bps,
                total_cents=vendor_order.delivery_fee_cents,
                is_delivery=True,
            )
        )
    vat = () if exempt else vat_summary((line.total_cents, line.vat_bps) for line in lines)
    gross_cents = sum(line.total_cents for line in lines)
    vat_cents = sum(row.vat_cents for row in vat)
    refunds = tuple(
        RefundMade(refunded_at=refund.created_at, amount_cents=refund.amount_cents, reason=refund.reason)
        for refund in vendor_order.refunds
        if refund.status == RefundStatus.SUCCEEDED
    )
    return InvoiceFigures(
        currency=vendor_order.order.currency,
        vat_exempt=exempt,
        lines=tuple(lines),
        vat=vat,
        net_cents=gross_cents - vat_cents,
        vat_cents=vat_cents,
        gross_cents=gross_cents,
        refunds=refunds,
        credit_notes=tuple(note.number for note in vendor_order.credit_notes),
    )


# --------------------------------------------------------------------------------------------------
# Drawing


def _shop_address(shop: Shop) -> list[str]:
    return [shop.street, f"{shop.postcode} {shop.city}".strip(), country_name(shop.country)]


def _buyer_address(order: Order) -> list[str]:
    return [
        order.full_name,
        order.street,
        f"{order.postcode} {order.city}".strip(),
        country_name(order.country),
    ]


def _consumer_address(order: Order) -> list[str]:
    """The shopper's postal address for the withdrawal form: the order's delivery address, else (click
    and collect, relay point) the last one the shopper used at checkout. Never the country alone: an
    address with no street is left blank for the shopper to write in."""
    street, postcode, city, country = order.street, order.postcode, order.city, order.country
    if not street.strip():
        saved = db.session.scalar(
            sa.select(Address)
            .where(Address.user_id == order.user_id)
            .order_by(Address.last_used_at.desc().nulls_last(), Address.id.desc())
            .limit(1)
        )
        if saved is None:
            return []
        street, postcode, city, country = saved.street, saved.postcode, saved.city, saved.country
    return [street, f"{postcode} {city}".strip(), country_name(country)]


def _buyer_lines(order: Order) -> list[str]:
    """The buyer as an invoice names it: the company first, with its numbers, when there is one."""
    if not order.buyer_company:
        return _buyer_address(order)
    lines = [order.buyer_company, *_buyer_address(order)]
    if order.buyer_siren:
        lines.append(_("SIREN : %(number)s", number=order.buyer_siren))
    if order.buyer_vat_number:
        lines.append(_("N° TVA intracommunautaire : %(number)s", number=order.buyer_vat_number))
    return lines


def _legal_name(shop: Shop) -> str:
    return shop.legal_name or shop.name


def _registration(shop: Shop) -> str:
    if not shop.registration_number:
        return ""
    if shop.is_french:
        return _("SIRET : %(number)s", number=shop.registration_number)
    return _("N° d’entreprise : %(number)s", number=shop.registration_number)


def _seller_lines(shop: Shop) -> list[str]:
    lines = [_legal_name(shop)]
    if shop.legal_name and shop.name != shop.legal_name:
        lines.append(_("Enseigne : %(name)s", name=shop.name))
    lines += _shop_address(shop)
    lines.append(_registration(shop))
    if shop.vat_number:
        lines.append(_("N° TVA intracommunautaire : %(number)s", number=shop.vat_number))
    if shop.trade_register:
        lines.append(shop.trade_register)
    if shop.email:
        lines.append(shop.email)
    return lines


def _line_title(title: str, variant_label: str) -> str:
    return f"{title} — {variant_label}" if variant_label else title


# --------------------------------------------------------------------------------------------------
# The invoice


def invoice_pdf(vendor_order: VendorOrder) -> bytes:
    """The shop's invoice for its part of the order, in the order's language.

    The vendor order must have been given its number by ``issue_invoice``.
    """
    if not vendor_order.invoice_number or vendor_order.invoiced_at is None:
        raise ValueError(f"vendor order {vendor_order.id} has no invoice yet: call issue_invoice() first")
    order, shop = vendor_order.order, vendor_order.shop
    with force_locale(order.locale):
        figures = invoice_figures(vendor_order)
        number = vendor_order.invoice_number
        pdf = new_document(
            heading=shop.name,
            reference=_("Facture %(number)s", number=number),
            title=_("Facture %(number)s", number=number),
            author=_legal_name(shop),
            locale=order.locale,
            pdf_a=is_business_buyer(order),
        )
        pdf.title_line(_("Facture n° %(number)s", number=number))
        pdf.paragraph(
            "\n".join(
                [
                    _("Date d’émission : %(date)s", date=long_date(vendor_order.invoiced_at)),
                    _(
                        "Commande n° %(number)s du %(date)s",
                        number=order.number,
                        date=long_date(order.paid_at or order.created_at),
                    ),
                ]
            ),
            gap=4,
        )
        pdf.blocks((_("Vendeur"), _seller_lines(shop)), (_("Client"), _buyer_lines(order)))
        pdf.paragraph(
            _(
                "Vente conclue par l’intermédiaire de la place de marché %(marketplace)s, qui agit en "
                "qualité d’intermédiaire au nom et pour le compte du vendeur ci-dessus.",
                marketplace=current_app.config["MARKETPLACE_NAME"],
            ),
            size=8.5,
            gap=4,
        )
        _invoice_lines(pdf, figures)
        _invoice_totals(pdf, figures, shop)
        if order.paid_at is not None:
            pdf.paragraph(_("Payée par carte le %(date)s.", date=long_date(order.paid_at)), bold=True, gap=3)
        if figures.refunds:
            _invoice_refunds(pdf, figures)
        if figures.credit_notes:
            pdf.paragraph(
                _("Avoirs émis : %(numbers)s", numbers=", ".join(figures.credit_notes)), size=8.5, gap=2
            )
        drawn = output(pdf)
        if not is_business_buyer(order):
            return drawn
        return einvoice.embed(
            drawn,
            _invoice_einvoice(vendor_order, figures),
            title=_("Facture %(number)s", number=number),
            author=_legal_name(shop),
            lang=order.locale,
        )


def _line_cells(
    title: str,
    sku: str,
    quantity: int,
    amounts: tuple[int, int],
    vat_bps: int,
    *,
    currency: str,
    exempt: bool,
) -> list[str]:
    """One row of the lines table: ``amounts`` is (unit price, line total), tax included."""
    unit_cents, total_cents = amounts
    cells = [title, sku, str(quantity), format_money(unit_cents, currency)]
    if not exempt:
        cells.append(format_rate(vat_bps))
    return [*cells, format_money(total_cents, currency)]


def _draw_lines(pdf: Document, rows: list[list[str]], *, exempt: bool) -> None:
    """The lines table of an invoice or a credit note (no VAT column under the franchise)."""
    if exempt:
        headings = [_("Désignation"), _("Réf."), _("Qté"), _("Prix unitaire"), _("Total")]
        widths: tuple[int, ...] = (56, 14, 8, 14, 14)
        align: tuple[Align, ...] = (Align.L, Align.L, Align.R, Align.R, Align.R)
    else:
        headings = [_("Désignation"), _("Réf."), _("Qté"), _("PU TTC"), _("TVA"), _("Total TTC")]
        widths = (50, 13, 7, 12, 8, 13)
        align = (Align.L, Align.L, Align.R, Align.R, Align.R, Align.R)
    with pdf.table(
        col_widths=widths,
        text_align=align,
        headings_style=HEADINGS,
        line_height=LINE_HEIGHT,
        padding=1,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
    ) as table:
        table.row(headings)
        for cells in rows:
            table.row(cells)
    pdf.ln(4)


def _invoice_lines(pdf: Document, figures: InvoiceFigures) -> None:
    rows = [
        _line_cells(
            _line_title(line.title, line.variant_label),
            line.sku,
            line.quantity,
            (line.unit_cents, line.total_cents),
            line.vat_bps,
            currency=figures.currency,
            exempt=figures.vat_exempt,
        )
        for line in figures.lines
    ]
    _draw_lines(pdf, rows, exempt=figures.vat_exempt)


def _franchise_mention(shop: Shop) -> str:
    return str(FRANCHISE_MENTIONS.get(shop.country, FRANCHISE_MENTIONS["FR"]))


def _invoice_totals(pdf: Document, figures: InvoiceFigures, shop: Shop) -> None:
    money = figures.currency
    if figures.vat_exempt:
        with pdf.table(
            width=pdf.epw * 0.5,
            col_widths=(3, 2),
            align=Align.R,
            text_align=(Align.L, Align.R),
            first_row_as_headings=False,
            line_height=LINE_HEIGHT + 1,
            padding=1,
            borders_layout=TableBordersLayout.HORIZONTAL_LINES,
        ) as table:
            table.row([_("Total à payer"), format_money(figures.gross_cents, money)], style=BOLD)
        pdf.ln(2)
        pdf.paragraph(_franchise_mention(shop), gap=4)
        return
    draw_vat_summary(pdf, figures.vat, money)
    with pdf.table(
        width=pdf.epw * 0.45,
        col_widths=(3, 2),
        align=Align.R,
        text_align=(Align.L, Align.R),
        first_row_as_headings=False,
        line_height=LINE_HEIGHT + 1,
        padding=1,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
    ) as table:
        table.row([_("Total HT"), format_money(figures.net_cents, money)])
        table.row([_("Total TVA"), format_money(figures.vat_cents, money)])
        table.row([_("Total TTC"), format_money(figures.gross_cents, money)], style=BOLD)
    pdf.ln(4)


def _invoice_refunds(pdf: Document, figures: InvoiceFigures) -> None:
    pdf.paragraph(_("Remboursements effectués (pour information)"), bold=True, gap=1)
    with pdf.table(
        col_widths=(3, 5, 2),
        text_align=(Align.L, Align.L, Align.R),
        headings_style=HEADINGS,
        line_height=LINE_HEIGHT,
        padding=1,
        borders_layout=TableBordersLayout.HORIZONTAL_LINES,
    ) as table:
        table.row([_("Date"), _("Motif"), _("Montant")])
        for refund in figures.refunds:
            table.row(
                [
                    long_date(refund.refunded_at),
                    str(REFUND_REASONS[refund.reason]),
                    format_money(refund.amount_cents, figures.currency),
                ]
            )
        table.row(
            ["", _("Total remboursé"), format_money(figures.refunded_cents, figures.currency)], style=BOLD
        )


# --------------------------------------------------------------------------------------------------
# Credit notes


def _credit_line_title(line: CreditNoteLine, vendor_order: VendorOrder, exempt: bool) -> str:
    if line.kind == CreditLineKind.DELIVERY:
        return _delivery_title(vendor_order)
    if line.kind == CreditLineKind.AMOUNT:
        if exempt:
            return _("Remboursement sans détail d’articles")
        return _("Remboursement sans détail d’articles (TVA %(rate)s)", rate=format_rate(line.vat_bps))
    return _line_title(line.title, line.variant_label)


def _credit_lines(pdf: Document, note: CreditNote) -> None:
    """The lines given back, their amounts negative as on every "Avoir" of the marketplace."""
    rows = [
        _line_cells(
            _credit_line_title(line, note.vendor_order, note.vat_exempt),
            line.sku,
            line.quantity,
            (-line.unit_cents, -line.total_cents),
            line.vat_bps,
            currency=note.currency,
            exempt=note.vat_exempt,
        )
        for line in note.lines
    ]
    _draw_lines(pdf, rows, exempt=note.vat_exempt)


def credit_note_pdf(note: CreditNote) -> bytes:
    """The shop's credit note for one refund, in the order's language; Factur-X for a business buyer."""
    vendor_order = note.vendor_order
    order, shop = vendor_order.order, vendor_order.shop
    figures = credit_note_figures(note)
    money = note.currency
    with force_locale(order.locale):
        title = _("Avoir %(number)s", number=note.number)
        pdf = new_document(
            heading=shop.name,
            reference=title,
            title=title,
            author=_legal_name(shop),
            locale=order.locale,
            pdf_a=is_business_buyer(order),
        )
        pdf.title_line(_("Avoir n° %(number)s", number=note.number))
        pdf.paragraph(
            "\n".join(
                [
                    _("Date d’émission : %(date)s", date=long_date(note.issued_at)),
                    _(
                        "Sur la facture n° %(number)s du %(date)s",
                        number=note.invoice_number,
                        date=long_date(note.invoice_issued_at),
                    ),
                    _("Commande n° %(number)s", number=order.number),
                    _("Motif : %(reason)s", reason=REFUND_REASONS[note.refund.reason]),
                ]
            ),
            gap=4,
        )
        pdf.blocks((_("Vendeur"), _seller_lines(shop)), (_("Client"), _buyer_lines(order)))
        _credit_lines(pdf, note)
        if note.vat_exempt:
            pdf.totals([(_("Total de l’avoir"), format_money(-figures.gross_cents, money))])
            pdf.paragraph(_franchise_mention(shop), gap=4)
        else:
            draw_vat_summary(pdf, [_negated(row) for row in figures.vat], money)
            pdf.totals(
                [
                    (_("Total HT"), format_money(-figures.net_cents, money)),
                    (_("Total TVA"), format_money(-figures.vat_cents, money)),
                    (_("Total de l’avoir TTC"), format_money(-figures.gross_cents, money)),
                ]
            )
        pdf.paragraph(
            _(
                "Montant remboursé sur le moyen de paiement de la commande le %(date)s : rien n’est à payer.",
                date=long_date(note.refund.created_at),
            ),
            bold=True,
            gap=3,
        )
        drawn = output(pdf)
        if not is_business_buyer(order):
            return drawn
        return einvoice.embed(
            drawn,
            _credit_note_einvoice(note, figures),
            title=title,
            author=_legal_name(shop),
            lang=order.locale,
        )


def _negated(row: VatTotal) -> VatTotal:
    return VatTotal(row.rate_bps, -row.net_cents, -row.vat_cents, -row.gross_cents)


# --------------------------------------------------------------------------------------------------
# Factur-X, for a buyer who bought for a company


def is_business_buyer(order: Order) -> bool:
    """A buyer who gave a company name and its SIREN or VAT number at checkout gets e-invoices."""
    return bool(order.buyer_company and (order.buyer_siren or order.buyer_vat_number))


def _buyer_party(order: Order) -> einvoice.Party:
    return einvoice.Party(
        name=order.buyer_company,
        street=order.street,
        postcode=order.postcode,
        city=order.city,
        country=order.country,
        legal_id=order.buyer_siren,
        vat_number=order.buyer_vat_number,
        email=order.email,
    )


def _net_line(title: str, sku: str, quantity: int, gross_cents: int, vat_bps: int) -> einvoice.EInvoiceLine:
    net, _vat = split_gross(gross_cents, vat_bps)
    return einvoice.EInvoiceLine(name=title, quantity=quantity, net_cents=net, vat_bps=vat_bps, sku=sku)


def _vat_rows(vat: tuple[VatTotal, ...], gross_cents: int) -> tuple[VatTotal, ...]:
    """The VAT summary; under the franchise, one exempt row holding everything."""
    return vat or (VatTotal(rate_bps=0, net_cents=gross_cents, vat_cents=0, gross_cents=gross_cents),)


def _invoice_einvoice(vendor_order: VendorOrder, figures: InvoiceFigures) -> einvoice.EInvoice:
    order, shop = vendor_order.order, vendor_order.shop
    assert vendor_order.invoice_number is not None
    assert vendor_order.invoiced_at is not None
    return einvoice.EInvoice(
        number=vendor_order.invoice_number,
        type_code=einvoice.INVOICE,
        issued_on=vendor_order.invoiced_at.astimezone(TOWN_TZ).date(),
        currency=figures.currency,
        seller=einvoice.business_party(shop),
        buyer=_buyer_party(order),
        lines=tuple(
            _net_line(
                _line_title(line.title, line.variant_label),
                line.sku,
                line.quantity,
                line.total_cents,
                line.vat_bps,
            )
            for line in figures.lines
        ),
        vat=_vat_rows(figures.vat, figures.gross_cents),
        exemption_reason=_franchise_mention(shop) if figures.vat_exempt else "",
        order_reference=order.number,
        payment_terms=_("Payée par carte à la commande."),
    )


def _credit_note_einvoice(note: CreditNote, figures: CreditNoteFigures) -> einvoice.EInvoice:
    vendor_order = note.vendor_order
    order, shop = vendor_order.order, vendor_order.shop
    return einvoice.EInvoice(
        number=note.number,
        type_code=einvoice.CREDIT_NOTE,
        issued_on=note.issued_at.astimezone(TOWN_TZ).date(),
        currency=note.currency,
        seller=einvoice.business_party(shop),
        buyer=_buyer_party(order),
        lines=tuple(
            _net_line(
                _credit_line_title(line, vendor_order, note.vat_exempt),
                line.sku,
                line.quantity,
                line.total_cents,
                line.vat_bps,
            )
            for line in note.lines
        ),
        vat=_vat_rows(figures.vat, figures.gross_cents),
        exemption_reason=_franchise_mention(shop) if note.vat_exempt else "",
        referenced_invoice=(note.invoice_number, note.invoice_issued_at.astimezone(TOWN_TZ).date()),
        order_reference=order.number,
        payment_terms=_("Remboursé sur le moyen de paiement de la commande."),
    )


# --------------------------------------------------------------------------------------------------
# The packing slip


def _slot(value: dt.datetime) -> str:
    return _("%(day)s à %(time)s", day=format_date(value, "full"), time=format_time(value, "short"))


def _delivery_lines(vendor_order: VendorOrder) -> list[str]:
    """How the parcel leaves the shop, and where to."""
    order = vendor_order.order
    method = vendor_order.delivery_method
    lines = [str(DELIVERY_LABELS[method])]
    if method == DeliveryMethod.CLICK_COLLECT:
        if vendor_order.pickup_slot is not None:
            lines.append(_("Créneau de retrait : %(slot)s", slot=_slot(vendor_order.pickup_slot)))
        if vendor_order.pickup_code:
            lines.append(_("Code de retrait : %(code)s", code=vendor_order.pickup_code))
    elif method == DeliveryMethod.RELAY:
        relay = vendor_order.relay_point
        if relay is not None:
            lines += [relay.name, relay.street, f"{relay.postcode} {relay.city}"]
    else:
        lines += _buyer_address(order)
    if vendor_order.carrier or vendor_order.tracking_number:
        lines.append(
            _(
                "Transporteur : %(carrier)s %(tracking)s",
                carrier=vendor_order.carrier,
                tracking=vendor_order.tracking_number,
            ).strip()
        )
    return lines


def packing_slip_pdf(vendor_order: VendorOrder) -> bytes:
    """What the shop packs for its part of the order: delivery, recipient and lines, no prices."""
    order, shop = vendor_order.order, vendor_order.shop
    with force_locale(order.locale):
        reference = _("Commande %(number)s", number=order.number)
        pdf = new_document(
            heading=shop.name,
            reference=reference,
            title=_("Bon de préparation, commande %(number)s", number=order.number),
            author=_legal_name(shop),
            locale=order.locale,
        )
        pdf.title_line(_("Bon de préparation — commande n° %(number)s", number=order.number))
        pdf.paragraph(_("Commandée le %(date)s", date=long_date(order.paid_at or order.created_at)), gap=4)
        recipient = [order.full_name]
        if vendor_order.delivery_method != DeliveryMethod.CLICK_COLLECT:
            recipient += _buyer_address(order)[1:]
        if order.phone:
            recipient.append(_("Tél. : %(phone)s", phone=order.phone))
        pdf.blocks(
            (_("Mode de remise"), _delivery_lines(vendor_order)),
            (_("Destinataire"), recipient),
        )
        with pdf.table(
            col_widths=(6, 8, 22, 64),
            text_align=(Align.C, Align.R, Align.L, Align.L),
            headings_style=HEADINGS,
            line_height=LINE_HEIGHT + 1,
            padding=1,
        ) as table:
            table.row(["✓", _("Qté"), _("Réf."), _("Article")])
            for line in vendor_order.lines:
                table.row(["☐", str(line.quantity), line.sku, _line_title(line.title, line.variant_label)])
        pdf.ln(3)
        units = sum(line.quantity for line in vendor_order.lines)
        pdf.paragraph(_("Articles à préparer : %(units)d", units=units), bold=True)
        return output(pdf)


# --------------------------------------------------------------------------------------------------
# The model withdrawal form (France: annexe à l'article R221-1 du Code de la consommation)


def withdrawal_form_pdf(vendor_order: VendorOrder | None = None) -> bytes:
    """The legal model withdrawal form; pre-filled with the shop, the order and the shopper when given.

    Without a vendor order it is the blank form, in the current language, with lines to write on.
    """
    order = vendor_order.order if vendor_order is not None else None
    shop = vendor_order.shop if vendor_order is not None else None
    locale = order.locale if order is not None else str(get_locale() or "fr")
    with force_locale(locale):
        marketplace = current_app.config["MARKETPLACE_NAME"]
        title = _("Formulaire de rétractation")
        pdf = new_document(
            heading=shop.name if shop is not None else marketplace,
            reference=_("Commande %(number)s", number=order.number) if order is not None else title,
            title=title,
            author=_legal_name(shop) if shop is not None else marketplace,
            locale=locale,
        )
        pdf.title_line(title)
        pdf.paragraph(
            _(
                "(Veuillez compléter et renvoyer le présent formulaire uniquement si vous souhaitez vous "
                "rétracter du contrat.)"
            ),
            size=9,
            gap=4,
        )
        ordered_on = names = address = ""
        if vendor_order is not None and order is not None and shop is not None:
            recipient = [_legal_name(shop), shop.street, f"{shop.postcode} {shop.city}", shop.email]
            pdf.paragraph(
                _("À l’attention de %(recipient)s :", recipient=", ".join(p for p in recipient if p.strip())),
                bold=True,
                gap=3,
            )
        else:
            pdf.field(_("À l’attention de :"), bold=True, gap=0)
            pdf.rule()
            pdf.ln(3)
        pdf.paragraph(
            _(
                "Je/Nous (*) vous notifie/notifions (*) par la présente ma/notre (*) rétractation du "
                "contrat portant sur la vente du bien (*)/pour la prestation de services (*) ci-dessous :"
            ),
            gap=2,
        )
        if vendor_order is not None and order is not None:
            pdf.paragraph(_("Commande n° %(number)s", number=order.number), gap=1)
            # Goods the law excludes from withdrawal (L221-28) are not offered on the form.
            for line in (line for line in vendor_order.lines if line.withdrawable):
                pdf.paragraph(
                    _(
                        "– %(title)s (réf. %(sku)s), quantité : %(quantity)d",
                        title=_line_title(line.title, line.variant_label),
                        sku=line.sku,
                        quantity=line.quantity,
                    ),
                    gap=0.5,
                )
            ordered_on = long_date(order.paid_at or order.created_at)
            names = order.full_name
            address = ", ".join(_consumer_address(order))
        else:
            for _row in range(4):
                pdf.rule()
        pdf.ln(4)
        pdf.field(_("Commandé le (*)/reçu le (*) :"), ordered_on)
        pdf.field(_("Nom du (des) consommateur(s) :"), names)
        pdf.field(_("Adresse du (des) consommateur(s) :"), address, gap=0)
        if not address:
            pdf.rule()
        pdf.ln(3)
        pdf.paragraph(
            _(
                "Signature du (des) consommateur(s) (uniquement en cas de notification du présent "
                "formulaire sur papier) :"
            ),
            gap=0,
        )
        pdf.ln(24)
        pdf.field(_("Date :"), gap=6)
        pdf.paragraph(_("(*) Rayez la mention inutile."), size=8.5)
        return output(pdf)
