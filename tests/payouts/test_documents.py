"""The platform's documents to shops: monthly commission invoices (numbered without gaps, credit notes)
and payout statements, read from the ledger of real orders paid through the Stripe emulator."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from pypdf import PdfReader

from app.extensions import db
from app.money import parse_amount
from app.orders import services as orders
from app.orders.models import Order, RefundStatus, VendorOrder
from payouts import documents, gateway, ledger, tasks
from payouts.documents import PayoutStatus, Statement, StatementRow
from payouts.ledger import Line
from payouts.models import CommissionInvoice, InvoiceSeries, ShopTransfer, TransactionKind
from tests.factories import SIRET, VAT_NUMBER, ShopFactory
from tests.orders.support import Town, fill_cart, make_town, part_of
from tests.orders.test_lifecycle import place_and_pay
from tests.plugins.application import at_once, own_database_app
from tests.plugins.services import Services
from tests.plugins.stripe import StripeEmulator
from vendors.models import Shop

UTC = dt.UTC
PARIS = ZoneInfo("Europe/Paris")


def at(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> time_machine.travel:
    """Travel to that UTC time; the clock keeps ticking (the Stripe calls take their time)."""
    return time_machine.travel(dt.datetime(year, month, day, hour, minute, tzinfo=UTC))


def pdf_pages(data: bytes) -> list[str]:
    """Each page's text, with the non-breaking spaces of French typography read as plain spaces."""
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    return [re.sub(r"[\s\u00a0\u202f]+", " ", page.extract_text()) for page in reader.pages]


def pdf_text(data: bytes) -> str:
    return " ".join(pdf_pages(data))


def shop(shop_id: int) -> Shop:
    found = db.session.get(Shop, shop_id)
    assert found is not None
    return found


@pytest.fixture
def town(app_ctx: Flask, stripe_api: StripeEmulator) -> Town:
    """The bakery (bread 4,50 €, apple tart 18 €, local delivery 4,90 €) and the bookshop (a novel at
    24 €, carrier delivery 5,90 €); the platform's default commission, 10 %, VAT 20 % on it."""
    return make_town()


def buy(town: Town, *items: tuple[int, int]) -> Order:
    fill_cart(town, *items)
    return place_and_pay(town)


def deliver(part: VendorOrder) -> None:
    orders.accept(part)
    orders.ship(part, "", "")
    orders.mark_delivered(part)
    db.session.commit()


def withdraw_one_bread(part: VendorOrder) -> None:
    """The shopper sends one bread back (a partial withdrawal): 4,50 € refunded, goods only."""
    bread = next(line for line in part.lines if line.title == "Pain au levain")
    orders.request_withdrawal(part, {bread.id: "1"}, "Trop de pain")
    db.session.commit()


def invoice_numbers() -> list[tuple[int, int, int, str]]:
    return [
        (invoice.shop_id, invoice.year, invoice.month, invoice.number)
        for invoice in db.session.scalars(sa.select(CommissionInvoice).order_by(CommissionInvoice.number))
    ]


def series() -> list[tuple[int, int]]:
    return [(row.year, row.last) for row in db.session.scalars(sa.select(InvoiceSeries))]


# -- commission invoices --------------------------------------------------------------------------


def test_numbers_follow_across_shops_without_gaps_and_issuing_again_changes_nothing(town: Town) -> None:
    with at(2026, 10, 15):
        buy(town, (town.bread, 1), (town.novel, 1))
    with at(2026, 11, 10):
        buy(town, (town.bread, 1), (town.novel, 1))
    with at(2026, 12, 1, 10):
        issued = [documents.issue_month(2026, 10), documents.issue_month(2026, 11)]
        first = documents.issue_commission_invoice(town.baker_id, 2026, 10)
        again = [documents.issue_month(2026, 10), documents.issue_month(2026, 11)]
        nothing = documents.issue_commission_invoice(town.baker_id, 2026, 9)
    db.session.commit()
    assert first is not None
    assert (issued, again, nothing) == ([2, 2], [0, 0], None)
    assert invoice_numbers() == [
        (town.baker_id, 2026, 10, "C-2026-00001"),
        (town.books_id, 2026, 10, "C-2026-00002"),
        (town.baker_id, 2026, 11, "C-2026-00003"),
        (town.books_id, 2026, 11, "C-2026-00004"),
    ]
    assert first.number == "C-2026-00001"
    # A month without commission took no number.
    assert series() == [(2026, 4)]
    # Bread 4,50 € at 10 %: 0,45 € and 0,09 € of VAT; the novel at 24 €: 2,40 € and 0,48 €.
    assert [
        (invoice.net_cents, invoice.vat_cents, invoice.total_cents)
        for invoice in db.session.scalars(sa.select(CommissionInvoice).order_by(CommissionInvoice.number))
    ] == [(45, 9, 54), (240, 48, 288)] * 2


def test_a_month_with_a_sale_and_a_partial_refund(town: Town) -> None:
    with at(2026, 11, 10):
        order = buy(town, (town.bread, 2), (town.cake, 1), (town.novel, 1))
        bakery = part_of(order, town.baker_id)
        deliver(bakery)
    with at(2026, 11, 12):
        withdraw_one_bread(bakery)
    with at(2026, 11, 20):
        refund = orders.receive_return(bakery)
        db.session.commit()
    # 23:30 UTC on the 30th is already December 1st in Bellerive: that order is December's.
    with at(2026, 11, 30, 23, 30):
        december = buy(town, (town.bread, 1))
    with at(2026, 12, 1, 10):
        invoice = documents.issue_commission_invoice(town.baker_id, 2026, 11)
        books = documents.issue_commission_invoice(town.books_id, 2026, 11)
        with pytest.raises(ValueError, match="not over"):
            documents.issue_commission_invoice(town.baker_id, 2026, 12)
    db.session.commit()
    assert invoice is not None
    assert books is not None

    # The bakery's part: 2 × 4,50 + 18 = 27 € of goods, 10 % is 2,70 € (VAT 0,54 €). One bread back:
    # 4,50 / 27 of the commission is 0,45 € (VAT 0,09 €) given back.
    assert (refund.amount_cents, refund.commission_cents, refund.commission_vat_cents) == (450, 45, 9)
    assert (bakery.commission_cents, bakery.commission_vat_cents) == (270, 54)
    assert (invoice.number, invoice.net_cents, invoice.vat_cents, invoice.total_cents) == (
        "C-2026-00001",
        225,
        45,
        270,
    )
    assert (books.net_cents, books.vat_cents, books.total_cents) == (240, 48, 288)
    figures = documents.commission_invoice_figures(invoice)
    assert [
        (
            line.order_number,
            line.occurred_at.astimezone(PARIS).date(),
            line.is_refund,
            line.net_cents,
            line.vat_cents,
        )
        for line in figures.lines
    ] == [
        (order.number, dt.date(2026, 11, 10), False, 270, 54),
        (order.number, dt.date(2026, 11, 20), True, -45, -9),
    ]
    assert (figures.net_cents, figures.vat_cents, figures.total_cents, figures.is_credit_note) == (
        225,
        45,
        270,
        False,
    )
    assert december.number not in {line.order_number for line in figures.lines}

    data = documents.commission_invoice_pdf(invoice)
    text = pdf_text(data)
    baker = shop(town.baker_id)
    for mention in [
        "Facture de commission n° C-2026-00001",
        "Date d’émission : 1 décembre 2026",
        "Période : novembre 2026",
        "Bellerive Commerces SAS",
        "Hôtel de ville 1 place de la Mairie 37000 Bellerive-sur-Loire",
        "SIRET : 55210055400013",
        "N° TVA intracommunautaire : FR26552100554",
        baker.legal_name,
        "Enseigne : Le Fournil",
        "15 rue de la Paix",
        f"SIRET : {SIRET}",
        f"N° TVA intracommunautaire : {VAT_NUMBER}",
        f"10/11/2026 {order.number} Commission sur la commande 2,70 € 0,54 € 3,24 €",
        f"20/11/2026 {order.number} Commission rendue (remboursement) -0,45 € -0,09 € -0,54 €",
        "Total HT 2,25 €",
        "TVA 20 % 0,45 €",
        "Total TTC 2,70 €",
        "Montant déjà prélevé sur vos ventes",
        "Page 1/1",
    ]:
        assert mention in text, mention
    assert "Avoir" not in text
    metadata = PdfReader(io.BytesIO(data)).metadata
    assert metadata is not None
    assert (metadata.title, metadata.author) == ("Facture C-2026-00001", "Bellerive Commerces SAS")
    # In the shop owner's language (the English catalogue comes from the translators; dates are Babel's).
    assert "November 2026" in pdf_text(documents.commission_invoice_pdf(invoice, locale="en"))


def test_a_month_that_gives_back_more_than_it_earned_is_a_credit_note(town: Town) -> None:
    with at(2026, 11, 10):
        order = buy(town, (town.bread, 2), (town.cake, 1))
    with at(2026, 12, 1, 10):
        assert documents.issue_month(2026, 11) == 1
        db.session.commit()
    with at(2026, 12, 5):
        orders.refuse(part_of(order, town.baker_id), "Four en panne, désolés.")
        db.session.commit()
    with at(2027, 1, 2, 10):
        credit = documents.issue_commission_invoice(town.baker_id, 2026, 12)
        assert documents.issue_commission_invoice(town.books_id, 2026, 12) is None
    db.session.commit()
    assert credit is not None
    # Issued in 2027: the first number of 2027's series.
    assert (credit.number, credit.net_cents, credit.vat_cents, credit.total_cents) == (
        "C-2027-00001",
        -270,
        -54,
        -324,
    )
    figures = documents.commission_invoice_figures(credit)
    assert figures.is_credit_note
    assert [(line.is_refund, line.net_cents, line.vat_cents) for line in figures.lines] == [(True, -270, -54)]
    text = pdf_text(documents.commission_invoice_pdf(credit))
    for mention in [
        "Avoir sur commission n° C-2027-00001",
        "Période : décembre 2026",
        "Date d’émission : 2 janvier 2027",
        f"05/12/2026 {order.number} Commission rendue (remboursement) -2,70 € -0,54 € -3,24 €",
        "Total HT -2,70 €",
        "TVA 20 % -0,54 €",
        "Total TTC -3,24 €",
        "Montant déjà restitué sur vos ventes",
    ]:
        assert mention in text, mention
    assert "Facture de commission" not in text
    assert series() == [(2026, 1), (2027, 1)]


def test_the_daily_job_and_the_command_issue_last_months_missing_invoices(app: Flask, town: Town) -> None:
    with at(2026, 11, 10):
        buy(town, (town.bread, 1), (town.novel, 1))
    with at(2026, 12, 1, 3):
        assert tasks.issue_last_month() == 2
    with at(2026, 12, 2, 3):
        assert tasks.issue_last_month() == 0
    runner = app.test_cli_runner()
    with at(2026, 12, 2, 4):
        again = runner.invoke(args=["payouts", "invoices", "--month", "2026-11"])
        october = runner.invoke(args=["payouts", "invoices", "--month", "2026-10"])
        unfinished = runner.invoke(args=["payouts", "invoices", "--month", "2026-12"])
        wrong = runner.invoke(args=["payouts", "invoices", "--month", "11/2026"])
    assert (again.exit_code, again.output) == (0, "0 commission invoices issued for 2026-11\n")
    assert (october.exit_code, october.output) == (0, "0 commission invoices issued for 2026-10\n")
    assert (unfinished.exit_code, "not over" in unfinished.output) == (2, True)
    assert (wrong.exit_code, "YYYY-MM" in wrong.output) == (2, True)
    assert [number for *_, number in invoice_numbers()] == ["C-2026-00001", "C-2026-00002"]
    assert (tasks.issue_last_month, 86400) in tasks.SCHEDULE


def test_concurrent_issuing_leaves_no_gap_and_no_twin(
    services: Services, postgres_only: None, tmp_path: Path
) -> None:
    """Each shop's invoice of two months issued twice at once, by threads on their own connections."""
    with own_database_app(services, tmp_path, "marketplace_commission_invoices") as app:
        with app.app_context():
            shop_ids = [ShopFactory().id for _ in range(4)]
            for shop_id in shop_ids:
                for month in (9, 10):
                    # What services.record_payment writes for a part of 30 € (its sale left out).
                    ledger.post(
                        f"test-{shop_id}-{month}-commission",
                        TransactionKind.COMMISSION,
                        [
                            Line(ledger.pending(shop_id), 360),
                            Line(ledger.COMMISSION, -300),
                            Line(ledger.COMMISSION_VAT, -60),
                        ],
                        shop_id=shop_id,
                        occurred_at=dt.datetime(2026, month, 12, 10, 0, tzinfo=UTC),
                    )
            db.session.commit()
            db.session.remove()

        def issue(shop_id: int, month: int) -> None:
            documents.issue_commission_invoice(shop_id, 2026, month)
            db.session.commit()

        at_once(app, issue, [(shop_id, month) for shop_id in shop_ids for month in (9, 10)] * 2)
        with app.app_context():
            issued = db.session.execute(
                sa.select(CommissionInvoice.shop_id, CommissionInvoice.month, CommissionInvoice.number)
            ).all()
            last = db.session.execute(sa.select(InvoiceSeries.last)).scalars().all()
    year = dt.datetime.now(PARIS).year
    assert (len({(shop_id, month) for shop_id, month, _ in issued}), last) == (8, [8])
    assert sorted(number for *_, number in issued) == [f"C-{year}-{n:05d}" for n in range(1, 9)]


# -- payout statements ----------------------------------------------------------------------------


@pytest.fixture
def connected_bakery(town: Town, stripe_api: StripeEmulator) -> str:
    """The bakery's Express account, onboarded: it can receive transfers."""
    bakery = shop(town.baker_id)
    account = gateway.create_express_account(
        shop_id=bakery.id, email="boulanger@example.com", country="FR", business_name=bakery.name
    )
    stripe_api.control("POST", f"accounts/{account.id}/complete", {})
    bakery.stripe_account_id = account.id
    bakery.stripe_payouts_enabled = True
    db.session.commit()
    return account.id


@pytest.fixture
def first(town: Town, connected_bakery: str) -> Order:
    """The bakery's November: an order delivered, transferred after the hold, then one bread sent back
    and refunded (taken back from the transfer); a second order paid, not yet delivered."""
    with at(2026, 11, 3):
        first = buy(town, (town.bread, 2), (town.cake, 1), (town.novel, 1))
    bakery = part_of(first, town.baker_id)
    with at(2026, 11, 4):
        deliver(bakery)
    with at(2026, 11, 18, 10):  # the 14-day hold is over (a withdrawal open would hold the transfer)
        assert tasks.transfer_due() == 1
    with at(2026, 11, 18, 11):  # the last day to withdraw
        withdraw_one_bread(bakery)
    return first


def settle_the_return(bakery: VendorOrder) -> None:
    with at(2026, 11, 20):
        orders.receive_return(bakery)
        db.session.commit()


def test_the_statement_reads_the_ledger_and_agrees_with_the_orders(town: Town, first: Order) -> None:
    bakery = part_of(first, town.baker_id)
    settle_the_return(bakery)
    with at(2026, 11, 25):
        second = buy(town, (town.bread, 1))
    with at(2026, 12, 1, 10):
        found = documents.statement(town.baker_id, dt.date(2026, 11, 1), dt.date(2026, 11, 30))

    # The first part: 27 € of goods and 4,90 € delivery; 2,70 € commission and 0,54 € VAT kept; 4,50 €
    # refunded with 0,54 € of commission given back; 28,66 € transferred, 3,96 € taken back.
    assert found.rows == (
        StatementRow(
            vendor_order_id=bakery.id,
            order_number=first.number,
            paid_on=dt.date(2026, 11, 3),
            goods_cents=2700,
            delivery_cents=490,
            commission_cents=270,
            commission_vat_cents=54,
            refunds_cents=450,
            commission_back_cents=54,
            transferred_cents=2866,
            transferred_on=dt.date(2026, 11, 18),
            reversed_cents=396,
            status=PayoutStatus.PAID,
        ),
        StatementRow(
            vendor_order_id=part_of(second, town.baker_id).id,
            order_number=second.number,
            paid_on=dt.date(2026, 11, 25),
            goods_cents=450,
            delivery_cents=490,
            commission_cents=45,
            commission_vat_cents=9,
            refunds_cents=0,
            commission_back_cents=0,
            transferred_cents=0,
            transferred_on=None,
            reversed_cents=0,
            status=PayoutStatus.HELD,
        ),
    )
    assert [row.net_due_cents for row in found.rows] == [2470, 886]
    assert (found.pending_cents, found.available_cents, found.paid_out_cents) == (886, 0, 2470)

    # The same figures from the order tables, and what the ledger still holds for each part.
    db.session.expire_all()
    for row in found.rows:
        part = db.session.get(VendorOrder, row.vendor_order_id)
        assert part is not None
        succeeded = [refund for refund in part.refunds if refund.status == RefundStatus.SUCCEEDED]
        transfer = db.session.scalar(sa.select(ShopTransfer).where(ShopTransfer.vendor_order_id == part.id))
        held = ledger.balance(ledger.pending(part.shop_id), vendor_order_id=part.id) + ledger.balance(
            ledger.available(part.shop_id), vendor_order_id=part.id
        )
        assert (
            row.goods_cents + row.delivery_cents,
            row.commission_cents,
            row.commission_vat_cents,
            row.refunds_cents,
            row.commission_back_cents,
            row.transferred_cents,
            row.reversed_cents,
            row.net_due_cents - row.transferred_cents + row.reversed_cents,
        ) == (
            part.total_cents,
            part.commission_cents,
            part.commission_vat_cents,
            sum(refund.amount_cents for refund in succeeded),
            sum(refund.commission_cents + refund.commission_vat_cents for refund in succeeded),
            transfer.amount_cents if transfer else 0,
            transfer.reversed_cents if transfer else 0,
            held,
        )
    totals = found.totals
    assert (totals.net_due_cents, totals.transferred_cents - totals.reversed_cents) == (3356, 2470)
    assert found.pending_cents + found.available_cents + found.paid_out_cents == totals.net_due_cents

    # A period is the town's days: the order paid on November 25th is not October's nor December's.
    with at(2026, 12, 1, 10):
        assert documents.statement(town.baker_id, dt.date(2026, 11, 25), dt.date(2026, 11, 25)).rows == (
            found.rows[1],
        )
        assert documents.statement(town.baker_id, dt.date(2026, 12, 1), dt.date(2026, 12, 31)).rows == ()


def test_a_refund_the_shop_cannot_cover_leaves_it_owing(
    town: Town, first: Order, connected_bakery: str, stripe_api: StripeEmulator
) -> None:
    """The shop's Stripe balance was paid out: the reversal fails and its balance goes negative."""
    bakery = part_of(first, town.baker_id)
    stripe_api.control("POST", f"accounts/{connected_bakery}/balance", {"available": 0})
    settle_the_return(bakery)
    with at(2026, 12, 1, 10):
        found = documents.statement(town.baker_id, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    (row,) = found.rows
    assert (row.refunds_cents, row.commission_back_cents, row.transferred_cents, row.reversed_cents) == (
        450,
        54,
        2866,
        0,
    )
    assert (found.pending_cents, found.available_cents, found.paid_out_cents) == (0, -396, 2866)
    text = pdf_text(documents.statement_pdf(found))
    assert "-3,96 €" in text
    assert "Solde négatif : ce montant sera déduit de vos prochains versements." in text


def test_the_statement_as_csv_reads_back(town: Town, first: Order) -> None:
    settle_the_return(part_of(first, town.baker_id))
    with at(2026, 12, 1, 10):
        found = documents.statement(town.baker_id, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    content = documents.statement_csv(found)
    assert content.startswith("\ufeff")
    lines = list(csv.reader(io.StringIO(content.removeprefix("\ufeff"), newline=""), delimiter=";"))
    assert lines == [
        [
            "Commande",
            "Payée le",
            "Marchandises",
            "Livraison",
            "Commission HT",
            "TVA sur commission",
            "Remboursé",
            "Commission rendue TTC",
            "Net dû",
            "Versé",
            "Versé le",
            "Repris",
            "Statut",
        ],
        [
            first.number,
            "2026-11-03",
            "27,00",
            "4,90",
            "2,70",
            "0,54",
            "4,50",
            "0,54",
            "24,70",
            "28,66",
            "2026-11-18",
            "3,96",
            "Versé",
        ],
        ["Total", "", "27,00", "4,90", "2,70", "0,54", "4,50", "0,54", "24,70", "28,66", "", "3,96", ""],
    ]
    assert [parse_amount(cell) for cell in lines[1][2:10]] == [2700, 490, 270, 54, 450, 54, 2470, 2866]


def test_csv_cells_that_could_run_as_formulas_are_neutralised_but_negative_amounts_stay_numbers(
    app_ctx: Flask,
) -> None:
    row = StatementRow(
        vendor_order_id=1,
        order_number='=HYPERLINK("http://evil.example","M-2026-000001")',
        paid_on=dt.date(2026, 11, 3),
        goods_cents=1000,
        delivery_cents=0,
        commission_cents=100,
        commission_vat_cents=20,
        refunds_cents=1000,
        commission_back_cents=0,  # the platform kept its commission on this refund
        transferred_cents=0,
        transferred_on=None,
        reversed_cents=0,
        status=PayoutStatus.NOTHING_DUE,
    )
    found = Statement(
        shop_id=1,
        shop_name="@Boutique",
        shop_legal_name="@Boutique SARL",
        start=dt.date(2026, 11, 1),
        end=dt.date(2026, 11, 30),
        currency="EUR",
        rows=(row, StatementRow(**{**row.__dict__, "order_number": "-1+1", "vendor_order_id": 2})),
        pending_cents=0,
        available_cents=-240,
        paid_out_cents=0,
        drawn_up_at=dt.datetime(2026, 12, 1, 10, tzinfo=UTC),
    )
    lines = list(
        csv.reader(
            io.StringIO(documents.statement_csv(found).removeprefix("\ufeff"), newline=""), delimiter=";"
        )
    )
    assert [line[0] for line in lines[1:]] == [
        '\'=HYPERLINK("http://evil.example","M-2026-000001")',
        "'-1+1",
        "Total",
    ]
    # Net due: 10 € sold, 1,20 € of commission kept, 10 € refunded: -1,20 €, a number to a spreadsheet.
    assert [line[8] for line in lines[1:]] == ["-1,20", "-1,20", "-2,40"]
    assert parse_amount(lines[-1][8]) == -240


def test_a_long_statement_runs_over_several_pages(app_ctx: Flask) -> None:
    rows = tuple(
        StatementRow(
            vendor_order_id=n,
            order_number=f"M-2026-{n:06d}",
            paid_on=dt.date(2026, 11, 1 + n % 30),
            goods_cents=1000 + n,
            delivery_cents=490,
            commission_cents=100,
            commission_vat_cents=20,
            refunds_cents=0,
            commission_back_cents=0,
            transferred_cents=1370 + n,
            transferred_on=dt.date(2026, 11, 30),
            reversed_cents=0,
            status=PayoutStatus.PAID,
        )
        for n in range(1, 81)
    )
    found = Statement(
        shop_id=1,
        shop_name="Le Fournil",
        shop_legal_name="LE FOURNIL SARL",
        start=dt.date(2026, 11, 1),
        end=dt.date(2026, 11, 30),
        currency="EUR",
        rows=rows,
        pending_cents=0,
        available_cents=0,
        paid_out_cents=sum(row.transferred_cents for row in rows),
        drawn_up_at=dt.datetime(2026, 12, 1, 10, tzinfo=UTC),
    )
    pages = pdf_pages(documents.statement_pdf(found))
    assert len(pages) > 1
    assert [f"Page {n}/{len(pages)}" in page for n, page in enumerate(pages, start=1)] == [True] * len(pages)
    assert ["Commission rendue TTC" in page for page in pages] == [True] * len(pages)  # headings repeated
    text = " ".join(pages)
    assert [f"M-2026-{n:06d}" in text for n in range(1, 81)] == [True] * 80
    assert "Total 832,40 € 392,00 €" in text


def test_last_month_is_the_towns(app_ctx: Flask) -> None:
    """23:30 UTC on New Year's Eve is already January in Bellerive: last month is December."""
    assert documents.previous_month(dt.datetime(2026, 12, 31, 22, 30, tzinfo=UTC)) == (2026, 11)
    assert documents.previous_month(dt.datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == (2026, 12)
    assert documents.previous_month(dt.datetime(2026, 3, 1, 0, 0, tzinfo=UTC)) == (2026, 2)


def test_the_statement_pdf_is_a_landscape_table_with_the_balances(town: Town, first: Order) -> None:
    settle_the_return(part_of(first, town.baker_id))
    with at(2026, 11, 25):
        second = buy(town, (town.bread, 1))
    with at(2026, 12, 1, 10):
        found = documents.statement(town.baker_id, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    data = documents.statement_pdf(found)
    page = PdfReader(io.BytesIO(data)).pages[0]
    assert page.mediabox.width > page.mediabox.height
    text = pdf_text(data)
    baker = shop(town.baker_id)
    for mention in [
        "Relevé de versements",
        f"{baker.legal_name} (Le Fournil)",
        "Commandes payées du 1 novembre 2026 au 30 novembre 2026",
        "Établi le 1 décembre 2026",
        f"{first.number} 03/11/2026 27,00 € 4,90 € 2,70 € 0,54 € 4,50 € 0,54 € 24,70 € 28,66 € "
        "18/11/2026 3,96 € Versé",
        f"{second.number} 25/11/2026 4,50 € 4,90 € 0,45 € 0,09 € 0,00 € 0,00 € 8,86 € 0,00 €",
        "Total 31,50 € 9,80 € 3,15 € 0,63 € 4,50 € 0,54 € 33,56 € 28,66 €",
        "En attente de livraison et du délai de versement 8,86 €",
        "Disponible pour les prochains versements 0,00 €",
        "Déjà versé (virements moins reprises) 24,70 €",
        "Page 1/1",
    ]:
        assert mention in text, mention
    assert "Solde négatif" not in text
    english = pdf_text(documents.statement_pdf(found, locale="en"))
    assert ["November 1, 2026" in english, "€24.70" in english] == [True, True]
