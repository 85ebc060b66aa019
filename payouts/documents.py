"""The platform's documents to shops: the monthly commission invoice and the payout statement.

Both are read from the ledger (``payouts.ledger``), the one record of what moved:

- the **commission invoice** of a month bills a shop the commission the platform earned on its parts in
  that month (the town's month of each transaction), less the commission it gave back with refunds;
  a month that gave back more than it earned is a credit note ("Avoir"), its amounts negative. Each is
  numbered in the platform's own gapless yearly series (C-2026-00001, the year it is issued), under the
  series row's lock. Nothing is to be paid: the commission was already kept from the shop's payouts.
- the **payout statement** of a period lists the shop's parts of orders paid in it: what was sold,
  what the platform kept, what was refunded, what is due, transferred and taken back; then the shop's
  balances now.

Each document's figures are computed once, as a dataclass, and the PDF (and the CSV) are drawn from
them, in the language given (French source strings, Flask-Babel). Nothing here commits.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, format_date
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from fpdf.enums import Align
from sqlalchemy import orm
from sqlalchemy.exc import IntegrityError

from app import einvoice
from app.catalog.imports import neutralise
from app.database import utcnow
from app.extensions import db
from app.invoicing import VatTotal, net_vat_summary, next_document_number
from app.money import DEFAULT_CURRENCY, cents_to_decimal, format_money, format_rate
from app.orders.models import Order, VendorOrder
from app.pdf import country_name, long_date, new_document, output, short_date
from payouts import ledger
from payouts.commission import COMMISSION_VAT_BPS
from payouts.models import (
    CommissionInvoice,
    InvoiceSeries,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    ShopTransfer,
    TransactionKind,
    TransferStatus,
)
from vendors.hours import TOWN_TZ
from vendors.models import Shop

__all__ = [
    "CommissionInvoiceFigures",
    "CommissionLine",
    "PayoutStatus",
    "Statement",
    "StatementRow",
    "StatementTotals",
    "commission_einvoice",
    "commission_invoice_figures",
    "commission_invoice_pdf",
    "issue_commission_invoice",
    "issue_month",
    "previous_month",
    "statement",
    "statement_csv",
    "statement_pdf",
]

log = logging.getLogger(__name__)

COMMISSION_KINDS = (TransactionKind.COMMISSION, TransactionKind.COMMISSION_REFUND)
COMMISSION_PREFIX = "C"


def _day_start(day: dt.date) -> dt.datetime:
    """Midnight of ``day`` on the town's calendar, in UTC (DST-safe: the zone gives each day's offset)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=TOWN_TZ).astimezone(dt.UTC)


def _month_bounds(year: int, month: int) -> tuple[dt.datetime, dt.datetime]:
    """The town's month as [start, end) in UTC."""
    if not 1 <= month <= 12:
        raise ValueError(f"month must be between 1 and 12, got {month}")
    following = dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)
    return _day_start(dt.date(year, month, 1)), _day_start(following)


def previous_month(now: dt.datetime | None = None) -> tuple[int, int]:
    """(year, month) of the month before the town's current one."""
    today = (now or utcnow()).astimezone(TOWN_TZ).date()
    last_day = today.replace(day=1) - dt.timedelta(days=1)
    return last_day.year, last_day.month


# --------------------------------------------------------------------------------------------------
# Commission invoices: figures


@dataclass(frozen=True)
class CommissionLine:
    """One commission movement of the month: earned on a shop's part, or given back with a refund
    (then negative). Amounts in cents, VAT at ``COMMISSION_VAT_BPS``."""

    occurred_at: dt.datetime
    order_number: str
    vendor_order_id: int | None
    is_refund: bool
    net_cents: int
    vat_cents: int

    @property
    def total_cents(self) -> int:
        return self.net_cents + self.vat_cents


@dataclass(frozen=True)
class CommissionInvoiceFigures:
    """What a commission invoice prints; its totals add its lines up (negative: a credit note)."""

    number: str
    shop_id: int
    year: int
    month: int
    issued_at: dt.datetime
    currency: str
    vat_bps: int
    lines: tuple[CommissionLine, ...]

    @property
    def net_cents(self) -> int:
        return sum(line.net_cents for line in self.lines)

    @property
    def vat_cents(self) -> int:
        return sum(line.vat_cents for line in self.lines)

    @property
    def total_cents(self) -> int:
        return self.net_cents + self.vat_cents

    @property
    def is_credit_note(self) -> bool:
        return self.total_cents < 0

    @property
    def vat(self) -> tuple[VatTotal, ...]:
        """The VAT summary (one rate: the commission's)."""
        return net_vat_summary((line.net_cents, line.vat_cents, self.vat_bps) for line in self.lines)


def _commission_lines(
    shop_id: int, year: int, month: int, written_by: dt.datetime | None = None
) -> list[CommissionLine]:
    """The shop's commission movements in the town's month, oldest first, as the ledger holds them:
    the credits to ``platform:commission`` and ``platform:commission_vat`` (debits when given back).

    ``written_by``: only transactions written by then (an invoice's lines are those it was issued on).
    """
    start, end = _month_bounds(year, month)
    query = (
        sa.select(
            LedgerTransaction.id,
            LedgerTransaction.kind,
            LedgerTransaction.occurred_at,
            LedgerTransaction.vendor_order_id,
            LedgerTransaction.memo,
            Order.number,
            LedgerAccount.code,
            LedgerEntry.amount_cents,
        )
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerEntry.account_id == LedgerAccount.id)
        .outerjoin(VendorOrder, VendorOrder.id == LedgerTransaction.vendor_order_id)
        .outerjoin(Order, Order.id == VendorOrder.order_id)
        .where(
            LedgerTransaction.shop_id == shop_id,
            LedgerTransaction.kind.in_(COMMISSION_KINDS),
            LedgerTransaction.occurred_at >= start,
            LedgerTransaction.occurred_at < end,
            LedgerAccount.code.in_((ledger.COMMISSION, ledger.COMMISSION_VAT)),
        )
        .order_by(LedgerTransaction.occurred_at, LedgerTransaction.id)
    )
    if written_by is not None:
        query = query.where(LedgerTransaction.created_at <= written_by)
    heads: dict[int, tuple[dt.datetime, str, int | None, bool]] = {}
    amounts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for txn_id, kind, occurred_at, vendor_order_id, memo, number, code, amount in db.session.execute(query):
        heads[txn_id] = (
            occurred_at,
            number or memo,
            vendor_order_id,
            kind == TransactionKind.COMMISSION_REFUND,
        )
        # Revenue and VAT payable are credited (negative) when earned: their natural sign is turned.
        amounts[txn_id][0 if code == ledger.COMMISSION else 1] -= int(amount)
    return [
        CommissionLine(
            occurred_at=occurred_at,
            order_number=number,
            vendor_order_id=vendor_order_id,
            is_refund=is_refund,
            net_cents=amounts[txn_id][0],
            vat_cents=amounts[txn_id][1],
        )
        for txn_id, (occurred_at, number, vendor_order_id, is_refund) in heads.items()
    ]


def commission_invoice_figures(invoice: CommissionInvoice) -> CommissionInvoiceFigures:
    """The invoice's lines read from the ledger (those written by the time it was issued) and its totals."""
    lines = _commission_lines(invoice.shop_id, invoice.year, invoice.month, written_by=invoice.issued_at)
    figures = CommissionInvoiceFigures(
        number=invoice.number,
        shop_id=invoice.shop_id,
        year=invoice.year,
        month=invoice.month,
        issued_at=invoice.issued_at,
        currency=DEFAULT_CURRENCY,
        vat_bps=COMMISSION_VAT_BPS,
        lines=tuple(lines),
    )
    kept = (invoice.net_cents, invoice.vat_cents, invoice.total_cents)
    read = (figures.net_cents, figures.vat_cents, figures.total_cents)
    if read != kept:
        log.error("commission invoice %s: the ledger says %s, the invoice %s", invoice.number, read, kept)
    return figures


# --------------------------------------------------------------------------------------------------
# Commission invoices: issuing


def _invoice_of(shop_id: int, year: int, month: int) -> CommissionInvoice | None:
    return db.session.scalar(
        sa.select(CommissionInvoice).where(
            CommissionInvoice.shop_id == shop_id,
            CommissionInvoice.year == year,
            CommissionInvoice.month == month,
        )
    )


def _next_number(year: int) -> str:
    """C-2026-00001: the platform's next commission invoice number, under the series row's lock."""
    return next_document_number(InvoiceSeries, COMMISSION_PREFIX, year)


class _AlreadyIssued(Exception):
    def __init__(self, invoice: CommissionInvoice) -> None:
        super().__init__(invoice.number)
        self.invoice = invoice


def _require_over(year: int, month: int) -> None:
    """Refuse a month that is not over: its commission is not all known yet, and an invoice once issued
    is never issued again."""
    if _month_bounds(year, month)[1] > utcnow():
        raise ValueError(f"{year}-{month:02d} is not over yet: its commission invoices come after it")


def _issue(shop_id: int, year: int, month: int) -> tuple[CommissionInvoice | None, bool]:
    """The shop's invoice of the month and whether it was issued now."""
    _require_over(year, month)
    existing = _invoice_of(shop_id, year, month)
    if existing is not None:
        return existing, False
    lines = _commission_lines(shop_id, year, month)
    net = sum(line.net_cents for line in lines)
    vat = sum(line.vat_cents for line in lines)
    if net == 0 and vat == 0:
        return None, False
    now = utcnow()  # after reading the lines: the invoice's figures are those written by then
    try:
        # The number and the invoice together: if the invoice cannot be kept, the number is not spent.
        with db.session.begin_nested():
            number = _next_number(now.astimezone(TOWN_TZ).year)
            # Holding the series lock now, an issuer of the same invoice that got it first has committed.
            existing = _invoice_of(shop_id, year, month)
            if existing is not None:
                raise _AlreadyIssued(existing)
            invoice = CommissionInvoice(
                shop_id=shop_id,
                year=year,
                month=month,
                number=number,
                net_cents=net,
                vat_cents=vat,
                total_cents=net + vat,
                issued_at=now,
            )
            db.session.add(invoice)
    except _AlreadyIssued as already:
        return already.invoice, False
    except IntegrityError:
        existing = _invoice_of(shop_id, year, month)
        if existing is None:
            raise
        return existing, False
    return invoice, True


def issue_commission_invoice(shop_id: int, year: int, month: int) -> CommissionInvoice | None:
    """The shop's commission invoice for the town's ``month``, issued once; None when nothing moved.

    Net: the commission earned on the shop's parts in the month, less the commission given back with
    refunds; VAT likewise; negative when more was given back than earned (a credit note). The same shop
    and month again return the first invoice. The month must be over. Never commits: the caller does.
    """
    return _issue(shop_id, year, month)[0]


def issue_month(year: int, month: int) -> int:
    """Issue the month's invoice of every shop whose commission moved in it; how many were issued now.

    In the caller's transaction (it commits); shops in id order, so numbers follow them.
    """
    _require_over(year, month)
    start, end = _month_bounds(year, month)
    shop_ids = db.session.scalars(
        sa.select(LedgerTransaction.shop_id)
        .where(
            LedgerTransaction.kind.in_(COMMISSION_KINDS),
            LedgerTransaction.shop_id.is_not(None),
            LedgerTransaction.occurred_at >= start,
            LedgerTransaction.occurred_at < end,
        )
        .distinct()
        .order_by(LedgerTransaction.shop_id)
    ).all()
    issued = 0
    for shop_id in shop_ids:
        assert shop_id is not None
        _invoice, new = _issue(shop_id, year, month)
        if new:
            issued += 1
    return issued


# --------------------------------------------------------------------------------------------------
# Commission invoices: the PDF


_POSTCODE_TOWN = re.compile(r"(?P<postcode>[0-9]{4,5})\s+(?P<city>.+)")


def _line_label(line: CommissionLine) -> str:
    return _("Commission rendue (remboursement)") if line.is_refund else _("Commission sur la commande")


def _month_label(year: int, month: int) -> str:
    return format_date(dt.date(year, month, 1), "LLLL y")


def _registration(shop: Shop) -> str:
    if not shop.registration_number:
        return ""
    if shop.is_french:
        return _("SIRET : %(number)s", number=shop.registration_number)
    return _("N° d’entreprise : %(number)s", number=shop.registration_number)


def _shop_lines(shop: Shop) -> list[str]:
    """The shop as the platform's customer: legal name, trade name, address, registration, VAT number."""
    lines = [shop.legal_name or shop.name]
    if shop.legal_name and shop.name != shop.legal_name:
        lines.append(_("Enseigne : %(name)s", name=shop.name))
    lines += [shop.street, f"{shop.postcode} {shop.city}".strip(), country_name(shop.country)]
    lines.append(_registration(shop))
    if shop.vat_number:
        lines.append(_("N° TVA intracommunautaire : %(number)s", number=shop.vat_number))
    return lines


def _platform_lines() -> list[str]:
    config = current_app.config
    return [
        config["PLATFORM_LEGAL_NAME"],
        _("Place de marché %(name)s", name=config["MARKETPLACE_NAME"]),
        *(part.strip() for part in config["PLATFORM_ADDRESS"].split(",")),  # one line per part
        _("SIRET : %(number)s", number=config["PLATFORM_SIRET"]) if config["PLATFORM_SIRET"] else "",
        _("N° TVA intracommunautaire : %(number)s", number=config["PLATFORM_VAT_NUMBER"])
        if config["PLATFORM_VAT_NUMBER"]
        else "",
    ]


def _shop(shop_id: int) -> Shop:
    shop = db.session.get(Shop, shop_id)
    if shop is None:
        raise LookupError(f"shop {shop_id} not found")
    return shop


def commission_invoice_pdf(invoice: CommissionInvoice, locale: str = "fr") -> bytes:
    """The commission invoice (or credit note) from the platform to the shop, in ``locale``."""
    figures = commission_invoice_figures(invoice)
    shop = _shop(invoice.shop_id)
    config = current_app.config
    money = figures.currency
    with force_locale(locale):
        if figures.is_credit_note:
            reference = _("Avoir %(number)s", number=figures.number)
            title = _("Avoir sur commission n° %(number)s", number=figures.number)
        else:
            reference = _("Facture %(number)s", number=figures.number)
            title = _("Facture de commission n° %(number)s", number=figures.number)
        pdf = new_document(
            heading=config["MARKETPLACE_NAME"],
            reference=reference,
            title=reference,
            author=config["PLATFORM_LEGAL_NAME"],
            locale=locale,
            pdf_a=True,
        )
        pdf.title_line(title)
        period = _month_label(figures.year, figures.month)
        pdf.paragraph(
            "\n".join(
                [
                    _("Date d’émission : %(date)s", date=long_date(figures.issued_at)),
                    _("Période : %(period)s", period=period),
                ]
            ),
            gap=4,
        )
        pdf.blocks((_("Prestataire"), _platform_lines()), (_("Client"), _shop_lines(shop)))
        pdf.paragraph(
            _(
                "Commission de la place de marché %(marketplace)s sur les ventes de la boutique réalisées "
                "par son intermédiaire : prélevée sur les commandes payées en %(period)s, rendue avec les "
                "remboursements faits en %(period)s.",
                marketplace=config["MARKETPLACE_NAME"],
                period=period,
            ),
            size=8.5,
            gap=4,
        )
        rows = [
            [
                short_date(line.occurred_at),
                line.order_number,
                _line_label(line),
                format_money(line.net_cents, money),
                format_money(line.vat_cents, money),
                format_money(line.total_cents, money),
            ]
            for line in figures.lines
        ]
        pdf.lines_table(
            [_("Date"), _("Commande"), _("Désignation"), _("Montant HT"), _("TVA"), _("Montant TTC")],
            rows,
            col_widths=(15, 20, 32, 15, 12, 15),
            text_align=(Align.L, Align.L, Align.L, Align.R, Align.R, Align.R),
        )
        pdf.totals(
            [
                (_("Total HT"), format_money(figures.net_cents, money)),
                *(
                    (_("TVA %(rate)s", rate=format_rate(row.rate_bps)), format_money(row.vat_cents, money))
                    for row in figures.vat
                ),
                (_("Total TTC"), format_money(figures.total_cents, money)),
            ]
        )
        if figures.is_credit_note:
            pdf.paragraph(
                _("Montant déjà restitué sur vos ventes : vous n’avez rien à recevoir en plus."),
                bold=True,
                gap=3,
            )
        else:
            pdf.paragraph(
                _("Montant déjà prélevé sur vos ventes : vous n’avez rien à payer."), bold=True, gap=3
            )
        if not figures.lines:
            # EN 16931 needs one line at least: an invoice whose ledger lines are gone (logged above as
            # a difference) is still handed out, as a plain PDF, rather than not at all.
            log.error("commission invoice %s has no lines: sent without its Factur-X XML", invoice.number)
            return output(pdf)
        return einvoice.embed(
            output(pdf),
            commission_einvoice(invoice, figures),
            title=reference,
            author=config["PLATFORM_LEGAL_NAME"],
            lang=locale,
        )


# --------------------------------------------------------------------------------------------------
# Commission invoices: Factur-X


def _platform_party() -> einvoice.Party:
    """The platform operator as seller, from its configured legal details. ``PLATFORM_ADDRESS`` is
    written as on paper, "street, ..., 37000 Town": its last part gives the postcode and the town."""
    config = current_app.config
    parts = [part.strip() for part in config["PLATFORM_ADDRESS"].split(",") if part.strip()]
    postcode, city = "", ""
    found = _POSTCODE_TOWN.fullmatch(parts[-1]) if parts else None
    if found:
        postcode, city = found["postcode"], found["city"]
        parts = parts[:-1]
    return einvoice.Party(
        name=config["PLATFORM_LEGAL_NAME"],
        street=", ".join(parts),
        postcode=postcode,
        city=city,
        country="FR",  # the operator is registered in France (its SIRET)
        legal_id=einvoice.siren_of(config["PLATFORM_SIRET"], "FR"),
        vat_number=config["PLATFORM_VAT_NUMBER"],
        trade_name=config["MARKETPLACE_NAME"],
    )


def _invoice_before(invoice: CommissionInvoice) -> CommissionInvoice | None:
    """The shop's last commission invoice before this credit note: the one a credit note refers to
    (the commission it gives back was billed on earlier invoices, the latest standing for them)."""
    return db.session.scalar(
        sa.select(CommissionInvoice)
        .where(
            CommissionInvoice.shop_id == invoice.shop_id,
            CommissionInvoice.total_cents > 0,
            CommissionInvoice.issued_at < invoice.issued_at,
        )
        .order_by(CommissionInvoice.issued_at.desc(), CommissionInvoice.id.desc())
        .limit(1)
    )


def commission_einvoice(invoice: CommissionInvoice, figures: CommissionInvoiceFigures) -> einvoice.EInvoice:
    """The commission invoice's figures as an EN 16931 document: a credit note (381) carries its
    amounts turned positive, as the standard wants."""
    sign = -1 if figures.is_credit_note else 1
    referenced = _invoice_before(invoice) if figures.is_credit_note else None
    start, end = _month_bounds(figures.year, figures.month)
    return einvoice.EInvoice(
        number=figures.number,
        type_code=einvoice.CREDIT_NOTE if figures.is_credit_note else einvoice.INVOICE,
        issued_on=figures.issued_at.astimezone(TOWN_TZ).date(),
        currency=figures.currency,
        seller=_platform_party(),
        buyer=einvoice.business_party(_shop(invoice.shop_id)),
        lines=tuple(
            einvoice.EInvoiceLine(
                name=f"{_line_label(line)} {line.order_number}",
                quantity=1,
                net_cents=sign * line.net_cents,
                vat_bps=figures.vat_bps,
            )
            for line in figures.lines
        ),
        vat=tuple(
            VatTotal(row.rate_bps, sign * row.net_cents, sign * row.vat_cents, sign * row.gross_cents)
            for row in figures.vat
        ),
        referenced_invoice=(
            (referenced.number, referenced.issued_at.astimezone(TOWN_TZ).date()) if referenced else None
        ),
        period=(start.astimezone(TOWN_TZ).date(), (end.astimezone(TOWN_TZ) - dt.timedelta(days=1)).date()),
        payment_terms=_("Montant déjà prélevé sur vos ventes : vous n’avez rien à payer.")
        if not figures.is_credit_note
        else _("Montant déjà restitué sur vos ventes : vous n’avez rien à recevoir en plus."),
    )


# --------------------------------------------------------------------------------------------------
# Payout statements: figures


class PayoutStatus(enum.StrEnum):
    """Where a shop's part stands on its way to the shop."""

    HELD = "held"  # paid, not yet delivered and past the payout hold
    NOTHING_DUE = "nothing_due"  # refunded before it could be released: nothing left to send
    WAITING = "waiting"  # released, the shop's Stripe account cannot receive it yet
    PAID = "paid"  # transferred to the shop's Stripe account
    FAILED = "failed"  # Stripe refused the transfer: retried
    NETTED = "netted"  # released, used up by what refunds left the shop owing


PAYOUT_STATUS_LABELS = {
    PayoutStatus.HELD: _l("En attente de livraison et du délai de versement"),
    PayoutStatus.NOTHING_DUE: _l("Rien à verser"),
    PayoutStatus.WAITING: _l("En attente de votre compte Stripe"),
    PayoutStatus.PAID: _l("Versé"),
    PayoutStatus.FAILED: _l("Virement refusé, nouvel essai prévu"),
    PayoutStatus.NETTED: _l("Compensé par des remboursements"),
}


@dataclass(frozen=True)
class StatementRow:
    """One shop part of an order paid in the period; amounts in cents, all positive but ``net_due``."""

    vendor_order_id: int
    order_number: str
    paid_on: dt.date  # the town's day the order was paid
    goods_cents: int
    delivery_cents: int
    commission_cents: int  # the platform's commission, net of VAT
    commission_vat_cents: int
    refunds_cents: int  # given back to the shopper
    commission_back_cents: int  # the commission and its VAT given back with the refunds
    transferred_cents: int
    transferred_on: dt.date | None
    reversed_cents: int  # taken back from the shop's Stripe account after refunds
    status: PayoutStatus
    stripe_fees_cents: int = 0  # the part's share of Stripe's fee, when shops bear the fees

    @property
    def net_due_cents(self) -> int:
        """What the part owes the shop in the end: what was sold, less what the platform kept and what
        the shopper got back."""
        return (
            self.goods_cents
            + self.delivery_cents
            - self.commission_cents
            - self.commission_vat_cents
            - self.refunds_cents
            + self.commission_back_cents
            - self.stripe_fees_cents
        )


@dataclass(frozen=True)
class StatementTotals:
    goods_cents: int
    delivery_cents: int
    commission_cents: int
    commission_vat_cents: int
    refunds_cents: int
    commission_back_cents: int
    net_due_cents: int
    transferred_cents: int
    reversed_cents: int
    stripe_fees_cents: int = 0


@dataclass(frozen=True)
class Statement:
    """A shop's statement for the days ``start`` to ``end`` (included, the town's calendar), and its
    ledger balances when it was drawn up."""

    shop_id: int
    shop_name: str
    shop_legal_name: str
    start: dt.date
    end: dt.date
    currency: str
    rows: tuple[StatementRow, ...]
    pending_cents: int  # paid, waiting for delivery and the payout hold
    available_cents: int  # released, to be transferred; negative: refunds to take from the next ones
    paid_out_cents: int  # transferred to the shop, less what was taken back
    drawn_up_at: dt.datetime

    @property
    def totals(self) -> StatementTotals:
        rows = self.rows
        return StatementTotals(
            goods_cents=sum(row.goods_cents for row in rows),
            delivery_cents=sum(row.delivery_cents for row in rows),
            commission_cents=sum(row.commission_cents for row in rows),
            commission_vat_cents=sum(row.commission_vat_cents for row in rows),
            refunds_cents=sum(row.refunds_cents for row in rows),
            commission_back_cents=sum(row.commission_back_cents for row in rows),
            net_due_cents=sum(row.net_due_cents for row in rows),
            transferred_cents=sum(row.transferred_cents for row in rows),
            reversed_cents=sum(row.reversed_cents for row in rows),
            stripe_fees_cents=sum(row.stripe_fees_cents for row in rows),
        )


@dataclass
class _PartMoney:
    """What the ledger holds of one part, in the shop's favour (natural sign)."""

    sold: int = 0
    commission: int = 0
    commission_vat: int = 0
    refunds: int = 0
    commission_back: int = 0
    transferred: int = 0
    transferred_at: dt.datetime | None = None
    reversed: int = 0
    stripe_fees: int = 0  # the part's share of Stripe's fee, charged to the shop
    held: int = 0  # still in the shop's pending and available accounts


def _ledger_by_part(shop_id: int, parts: Sequence[VendorOrder]) -> dict[int, _PartMoney]:
    """Per part, its movements in the ledger. The sale is one transaction for the whole order (its
    credit to the shop's pending account is the part); everything after it names the part."""
    shop_accounts = (ledger.pending(shop_id), ledger.available(shop_id))
    part_of_order = {part.order_id: part.id for part in parts}
    sale_keys = {f"order-{part.order_id}-payment": part.order_id for part in parts}
    rows = db.session.execute(
        sa.select(
            LedgerTransaction.key,
            LedgerTransaction.kind,
            LedgerTransaction.occurred_at,
            LedgerTransaction.vendor_order_id,
            LedgerAccount.code,
            LedgerEntry.amount_cents,
        )
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerEntry.account_id == LedgerAccount.id)
        .where(
            sa.or_(
                LedgerTransaction.vendor_order_id.in_([part.id for part in parts]),
                LedgerTransaction.key.in_(list(sale_keys)),
            ),
            LedgerAccount.code.in_(
                (*shop_accounts, ledger.COMMISSION, ledger.COMMISSION_VAT, ledger.STRIPE_FEES)
            ),
        )
        .order_by(LedgerTransaction.occurred_at, LedgerTransaction.id)
    )
    money: dict[int, _PartMoney] = defaultdict(_PartMoney)
    for key, kind, occurred_at, vendor_order_id, code, amount in rows:
        part_id = vendor_order_id if vendor_order_id is not None else part_of_order[sale_keys[key]]
        found = money[part_id]
        amount = int(amount)
        if code in shop_accounts:
            found.held -= amount  # a liability: what the platform owes the shop is a credit
        if kind == TransactionKind.SALE and code in shop_accounts:
            found.sold -= amount
        elif kind == TransactionKind.COMMISSION and code == ledger.COMMISSION:
            found.commission -= amount
        elif kind == TransactionKind.COMMISSION and code == ledger.COMMISSION_VAT:
            found.commission_vat -= amount
        elif kind == TransactionKind.REFUND and code in shop_accounts:
            found.refunds += amount
        elif kind == TransactionKind.COMMISSION_REFUND and code in shop_accounts:
            found.commission_back -= amount
        elif kind == TransactionKind.TRANSFER and code in shop_accounts:
            found.transferred += amount
            found.transferred_at = occurred_at
        elif kind == TransactionKind.TRANSFER_REVERSAL and code in shop_accounts:
            found.reversed -= amount
        elif kind == TransactionKind.COMMISSION and code == ledger.STRIPE_FEES:
            found.stripe_fees -= amount  # the shop's share of a payment's fee, credited to the expense
    return money


def _status(transfer: ShopTransfer | None, held: int) -> PayoutStatus:
    if transfer is None:
        return PayoutStatus.HELD if held > 0 else PayoutStatus.NOTHING_DUE
    return {
        TransferStatus.WAITING: PayoutStatus.WAITING,
        TransferStatus.PAID: PayoutStatus.PAID,
        TransferStatus.FAILED: PayoutStatus.FAILED,
        TransferStatus.NETTED: PayoutStatus.NETTED,
    }[transfer.status]


def _paid_out(shop_id: int) -> int:
    """Transferred to the shop minus taken back, all time (natural sign of the available account)."""
    moved = ledger.totals_by_kind(ledger.available(shop_id))
    return -(moved.get(TransactionKind.TRANSFER, 0) + moved.get(TransactionKind.TRANSFER_REVERSAL, 0))


def statement(shop_id: int, start: dt.date, end: dt.date) -> Statement:
    """The shop's parts of the orders paid from ``start`` to ``end`` (both included, the town's days),
    with the shop's ledger balances now.

    Every amount but the split of a part's price between goods and delivery (which the ledger does not
    keep: it comes from the part) is read from the ledger.
    """
    if end < start:
        raise ValueError(f"the statement ends ({end}) before it starts ({start})")
    shop = _shop(shop_id)
    parts = list(
        db.session.scalars(
            sa.select(VendorOrder)
            .join(Order, Order.id == VendorOrder.order_id)
            .where(
                VendorOrder.shop_id == shop_id,
                Order.paid_at >= _day_start(start),
                Order.paid_at < _day_start(end + dt.timedelta(days=1)),
            )
            .options(orm.contains_eager(VendorOrder.order))
            .order_by(Order.paid_at, VendorOrder.id)
        )
    )
    money = _ledger_by_part(shop_id, parts)
    transfers = {
        transfer.vendor_order_id: transfer
        for transfer in db.session.scalars(
            sa.select(ShopTransfer).where(ShopTransfer.vendor_order_id.in_([part.id for part in parts]))
        )
    }
    rows = []
    for part in parts:
        found = money[part.id]
        if found.sold != part.total_cents:
            log.error(
                "vendor order %d: the ledger holds %d for a part of %d", part.id, found.sold, part.total_cents
            )
        paid_at = part.order.paid_at
        assert paid_at is not None
        rows.append(
            StatementRow(
                vendor_order_id=part.id,
                order_number=part.order.number,
                paid_on=paid_at.astimezone(TOWN_TZ).date(),
                goods_cents=part.items_cents,
                delivery_cents=found.sold - part.items_cents,
                commission_cents=found.commission,
                commission_vat_cents=found.commission_vat,
                refunds_cents=found.refunds,
                commission_back_cents=found.commission_back,
                transferred_cents=found.transferred,
                transferred_on=found.transferred_at.astimezone(TOWN_TZ).date()
                if found.transferred_at
                else None,
                reversed_cents=found.reversed,
                status=_status(transfers.get(part.id), found.held),
                stripe_fees_cents=found.stripe_fees,
            )
        )
    return Statement(
        shop_id=shop.id,
        shop_name=shop.name,
        shop_legal_name=shop.legal_name or shop.name,
        start=start,
        end=end,
        currency=parts[0].order.currency if parts else DEFAULT_CURRENCY,
        rows=tuple(rows),
        pending_cents=ledger.balance(ledger.pending(shop_id)),
        available_cents=ledger.balance(ledger.available(shop_id)),
        paid_out_cents=_paid_out(shop_id),
        drawn_up_at=utcnow(),
    )


# --------------------------------------------------------------------------------------------------
# Payout statements: CSV and PDF

# A cell that is only a number (what ``_amount`` writes) is read as that number, never as a formula,
# so it is written as it is: "-12,50" stays a negative amount. Anything else that could start a
# formula is neutralised like the catalogue's export (a leading quote).
_NUMBER = re.compile(r"-?[0-9]+(?:,[0-9]+)?")


def _cell(value: str) -> str:
    return value if _NUMBER.fullmatch(value) else neutralise(value)


def _amount(cents: int) -> str:
    """1250 -> "12,50", -1250 -> "-12,50": the way French spreadsheets write amounts."""
    return str(cents_to_decimal(cents)).replace(".", ",")


def _with_fees(statement: Statement) -> bool:
    """Stripe's fees have a column only on statements of shops that bear them."""
    return any(row.stripe_fees_cents for row in statement.rows)


def _columns(fees: bool = False) -> list[str]:
    return [
        _("Commande"),
        _("Payée le"),
        _("Marchandises"),
        _("Livraison"),
        _("Commission HT"),
        _("TVA sur commission"),
        _("Remboursé"),
        _("Commission rendue TTC"),
        *([_("Frais Stripe")] if fees else []),
        _("Net dû"),
        _("Versé"),
        _("Versé le"),
        _("Repris"),
        _("Statut"),
    ]


def _amounts(figures: StatementRow | StatementTotals, fees: bool = False) -> list[int]:
    return [
        figures.goods_cents,
        figures.delivery_cents,
        figures.commission_cents,
        figures.commission_vat_cents,
        figures.refunds_cents,
        figures.commission_back_cents,
        *([figures.stripe_fees_cents] if fees else []),
        figures.net_due_cents,
        figures.transferred_cents,
    ]


def _csv_rows(statement: Statement) -> Iterable[list[str]]:
    fees = _with_fees(statement)
    yield _columns(fees)
    for row in statement.rows:
        yield [
            row.order_number,
            row.paid_on.isoformat(),
            *(_amount(cents) for cents in _amounts(row, fees)),
            row.transferred_on.isoformat() if row.transferred_on else "",
            _amount(row.reversed_cents),
            str(PAYOUT_STATUS_LABELS[row.status]),
        ]
    totals = statement.totals
    yield [
        _("Total"),
        "",
        *(_amount(cents) for cents in _amounts(totals, fees)),
        "",
        _amount(totals.reversed_cents),
        "",
    ]


def statement_csv(statement: Statement, locale: str = "fr") -> str:
    """The statement as a spreadsheet reads it: UTF-8 with a BOM, ``;`` between cells, amounts with a
    decimal comma, ISO dates; a header line, one line per part, a totals line."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    with force_locale(locale):
        for cells in _csv_rows(statement):
            writer.writerow([_cell(cell) for cell in cells])
    return buffer.getvalue()


def statement_pdf(statement: Statement, locale: str = "fr") -> bytes:
    """The statement on landscape A4: one line per part, the totals, then the shop's balances."""
    money = statement.currency
    config = current_app.config
    with force_locale(locale):
        period = _("du %(start)s au %(end)s", start=long_date(statement.start), end=long_date(statement.end))
        title = _("Relevé de versements")
        pdf = new_document(
            heading=config["MARKETPLACE_NAME"],
            reference=f"{statement.shop_name} · {period}",
            title=f"{title} — {statement.shop_name}",
            author=config["PLATFORM_LEGAL_NAME"],
            locale=locale,
            orientation="landscape",
        )
        pdf.title_line(title)
        shop_name = statement.shop_legal_name
        if statement.shop_name != shop_name:
            shop_name = f"{shop_name} ({statement.shop_name})"
        pdf.paragraph(
            "\n".join(
                [
                    shop_name,
                    _("Commandes payées %(period)s", period=period),
                    _("Établi le %(date)s", date=long_date(statement.drawn_up_at)),
                ]
            ),
            gap=4,
        )
        fees = _with_fees(statement)
        rows = [
            [
                row.order_number,
                short_date(row.paid_on),
                *(format_money(cents, money) for cents in _amounts(row, fees)),
                short_date(row.transferred_on) if row.transferred_on else "",
                format_money(row.reversed_cents, money),
                str(PAYOUT_STATUS_LABELS[row.status]),
            ]
            for row in statement.rows
        ]
        totals = statement.totals
        rows.append(
            [
                _("Total"),
                "",
                *(format_money(cents, money) for cents in _amounts(totals, fees)),
                "",
                format_money(totals.reversed_cents, money),
                "",
            ]
        )
        pdf.lines_table(
            _columns(fees),
            rows,
            # In mm on landscape A4 (261 between the margins): an amount of 12 345,67 € fits in 7 points.
            col_widths=(20, 18, 19, 18, 19, 18, 18, 18, 16, 18, 18, 18, 18, 25)
            if fees
            else (22, 18, 23, 18, 19, 19, 18, 19, 18, 18, 18, 18, 33),
            text_align=(Align.L, Align.L, *([Align.R] * (9 if fees else 8)), Align.L, Align.R, Align.L),
            bold_rows=(len(rows) - 1,),
            size=7,
        )
        pdf.paragraph(
            _(
                "Net dû = marchandises + livraison − commission − TVA sur commission − remboursé "
                "+ commission rendue − frais Stripe."
            )
            if fees
            else _(
                "Net dû = marchandises + livraison − commission − TVA sur commission − remboursé "
                "+ commission rendue."
            ),
            size=8,
            gap=4,
        )
        pdf.paragraph(_("Vos soldes au %(date)s", date=long_date(statement.drawn_up_at)), bold=True, gap=1)
        pdf.totals(
            [
                (
                    _("En attente de livraison et du délai de versement"),
                    format_money(statement.pending_cents, money),
                ),
                (
                    _("Disponible pour les prochains versements"),
                    format_money(statement.available_cents, money),
                ),
                (_("Déjà versé (virements moins reprises)"), format_money(statement.paid_out_cents, money)),
            ],
            width=0.55,
            col_widths=(4, 1),
            bold_last=False,
        )
        if statement.available_cents < 0:
            pdf.paragraph(
                _("Solde négatif : ce montant sera déduit de vos prochains versements."), bold=True, gap=2
            )
        return output(pdf)
