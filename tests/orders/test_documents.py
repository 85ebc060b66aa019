"""The order documents: per-shop invoice numbers without gaps, the invoice's figures, and the PDFs."""

from __future__ import annotations

import datetime as dt
import io
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from pypdf import PdfReader

from app.cart.models import DeliveryMethod
from app.extensions import db
from app.orders import documents
from app.orders.models import (
    InvoiceCounter,
    Order,
    OrderLine,
    OrderStatus,
    Refund,
    RefundReason,
    RefundStatus,
    VendorOrder,
    VendorOrderStatus,
)
from tests.factories import SIRET, VAT_NUMBER, RelayPointFactory, ShopFactory, UserFactory
from tests.plugins.application import at_once, own_database_app
from tests.plugins.services import Services
from vendors.models import Shop, VatRegime

PAID_AT = dt.datetime(2026, 3, 14, 10, 0, tzinfo=dt.UTC)

# (title, variant label, sku, unit price in cents, quantity, VAT in bps)
LineSpec = tuple[str, str, str, int, int, int]


def vendor_order(
    shop: Shop,
    lines: Sequence[LineSpec] = (("Pain au levain", "", "PAIN-01", 450, 2, 550),),
    *,
    delivery_fee_cents: int = 0,
    delivery_vat_bps: int = 2000,
    method: DeliveryMethod = DeliveryMethod.HOME_DELIVERY,
    locale: str = "fr",
    **fields: object,
) -> VendorOrder:
    """One shop's part of a paid order, as placing and paying it would have left it."""
    order_lines = [
        OrderLine(
            title=title,
            variant_label=label,
            sku=sku,
            unit_price_cents=unit,
            quantity=quantity,
            vat_bps=vat_bps,
            total_cents=unit * quantity,
        )
        for title, label, sku, unit, quantity, vat_bps in lines
    ]
    items_cents = sum(line.total_cents for line in order_lines)
    part = VendorOrder(
        shop_id=shop.id,
        status=VendorOrderStatus.PAID,
        delivery_method=method,
        delivery_fee_cents=delivery_fee_cents,
        delivery_vat_bps=delivery_vat_bps,
        items_cents=items_cents,
        total_cents=items_cents + delivery_fee_cents,
        lines=order_lines,
        **fields,
    )
    order = Order(
        number=f"M-2026-{uuid.uuid4().int % 1_000_000:06d}",
        checkout_token=uuid.uuid4().hex,
        user_id=UserFactory().id,
        status=OrderStatus.PAID,
        items_cents=items_cents,
        delivery_cents=delivery_fee_cents,
        total_cents=items_cents + delivery_fee_cents,
        email="camille@example.com",
        phone="06 12 34 56 78",
        full_name="Camille Martin",
        street="8 quai des Mariniers",
        postcode="37000",
        city="Bellerive-sur-Loire",
        reserved_until=PAID_AT,
        paid_at=PAID_AT,
        locale=locale,
        vendor_orders=[part],
    )
    db.session.add(order)
    db.session.flush()
    return part


def pdf_pages(data: bytes) -> list[str]:
    """Each page's text, with the non-breaking spaces of French typography read as plain spaces."""
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    return [re.sub(r"[\s\u00a0\u202f]+", " ", page.extract_text()) for page in reader.pages]


def pdf_text(data: bytes) -> str:
    return " ".join(pdf_pages(data))


@pytest.fixture
def shop(app_ctx: Flask) -> Shop:
    return ShopFactory(name="Le Fournil", legal_name="LE FOURNIL SARL")


@pytest.fixture
def mixed_order(shop: Shop) -> VendorOrder:
    """Bread at 5.5 %, a tote bag at 20 %, delivered for 4.90 € at 20 %."""
    return vendor_order(
        shop,
        [
            ("Pain au levain", "", "PAIN-01", 450, 2, 550),
            ("Sac en toile", "Naturel", "SAC-NAT", 2400, 1, 2000),
        ],
        delivery_fee_cents=490,
        delivery_vat_bps=2000,
    )


def test_each_shop_numbers_its_invoices_without_gaps(app_ctx: Flask) -> None:
    baker, books = ShopFactory(), ShopFactory()
    parts = [vendor_order(shop) for shop in (baker, books, baker, baker, books)]
    with time_machine.travel(dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        numbers = [documents.issue_invoice(part) for part in parts]
        again = [documents.issue_invoice(part) for part in parts]
    db.session.flush()
    counters = db.session.execute(
        sa.select(InvoiceCounter.shop_id, InvoiceCounter.year, InvoiceCounter.last)
        .where(InvoiceCounter.shop_id.in_([baker.id, books.id]))
        .order_by(InvoiceCounter.shop_id)
    ).all()
    assert (numbers, again, [(part.invoice_number, part.invoiced_at) for part in parts], counters) == (
        ["F-2026-00001", "F-2026-00001", "F-2026-00002", "F-2026-00003", "F-2026-00002"],
        numbers,
        [(number, dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)) for number in numbers],
        [(baker.id, 2026, 3), (books.id, 2026, 2)],
    )


def test_concurrent_acceptances_leave_no_gap_and_no_twin(
    services: Services, postgres_only: None, tmp_path: Path
) -> None:
    """Each vendor order accepted twice at once, by threads on their own connections, real commits."""
    with own_database_app(services, tmp_path, "marketplace_invoices") as app:
        with app.app_context():
            shops = [ShopFactory(), ShopFactory()]
            part_ids = [vendor_order(shops[n % 2]).id for n in range(12)]
            db.session.commit()
            db.session.remove()

        def accept(part_id: int) -> None:
            part = db.session.get(VendorOrder, part_id)
            assert part is not None
            documents.issue_invoice(part)
            db.session.commit()

        at_once(app, accept, [(part_id,) for part_id in part_ids * 2])
        with app.app_context():
            issued = db.session.execute(
                sa.select(VendorOrder.shop_id, VendorOrder.invoice_number).order_by(VendorOrder.id)
            ).all()
            last = db.session.execute(sa.select(InvoiceCounter.shop_id, InvoiceCounter.last)).all()
    year = dt.datetime.now(ZoneInfo("Europe/Paris")).year
    by_shop = {
        shop_id: sorted(number for owner, number in issued if owner == shop_id)
        for shop_id in {owner for owner, _ in issued}
    }
    expected = [f"F-{year}-{n:05d}" for n in range(1, 7)]
    assert (list(by_shop.values()), sorted(count for _, count in last)) == ([expected, expected], [6, 6])


def test_issuing_keeps_the_acceptance_not_yet_flushed(shop: Shop) -> None:
    """The app accepts and issues in one go: re-reading the invoice columns under lock keeps the rest."""
    part = vendor_order(shop)
    part.status = VendorOrderStatus.ACCEPTED
    part.accepted_at = PAID_AT
    documents.issue_invoice(part)
    db.session.commit()
    db.session.expire_all()
    assert (part.status, part.accepted_at, part.invoice_number is not None) == (
        VendorOrderStatus.ACCEPTED,
        PAID_AT,
        True,
    )


def test_the_invoice_year_is_the_towns(app_ctx: Flask) -> None:
    """23:30 UTC on New Year's Eve is already the new year in Paris: the series starts again."""
    shop = ShopFactory()
    late, next_day = vendor_order(shop), vendor_order(shop)
    with time_machine.travel(dt.datetime(2026, 12, 31, 12, 0, tzinfo=dt.UTC), tick=False):
        december = documents.issue_invoice(late)
    with time_machine.travel(dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC), tick=False):
        january = documents.issue_invoice(next_day)
    assert (december, january) == ("F-2026-00001", "F-2027-00001")


def test_the_figures_add_up_per_vat_rate_with_the_delivery_fee(mixed_order: VendorOrder) -> None:
    figures = documents.invoice_figures(mixed_order)
    assert (
        [
            (line.sku, line.quantity, line.vat_bps, line.total_cents, line.is_delivery)
            for line in figures.lines
        ],
        [(row.rate_bps, row.net_cents, row.vat_cents, row.gross_cents) for row in figures.vat],
        (figures.net_cents, figures.vat_cents, figures.gross_cents, figures.vat_exempt),
    ) == (
        [
            ("PAIN-01", 2, 550, 900, False),
            ("SAC-NAT", 1, 2000, 2400, False),
            ("", 1, 2000, 490, True),
        ],
        # VAT rounded per line: 900 × 5.5/105.5 = 46.92; 2400 / 6 = 400; 490 / 6 = 81.67
        [(2000, 2408, 482, 2890), (550, 853, 47, 900)],
        (3261, 529, 3790, False),
    )
    assert figures.gross_cents == mixed_order.total_cents


def test_a_franchise_shop_charges_no_vat(app_ctx: Flask) -> None:
    shop = ShopFactory(vat_regime=VatRegime.FRANCHISE, vat_number="")
    part = vendor_order(
        shop, [("Bougie", "", "BOUGIE-1", 1500, 2, 2000)], delivery_fee_cents=490, delivery_vat_bps=0
    )
    documents.issue_invoice(part)
    figures = documents.invoice_figures(part)
    text = pdf_text(documents.invoice_pdf(part))
    assert (
        [line.vat_bps for line in figures.lines],
        figures.vat,
        (figures.net_cents, figures.vat_cents, figures.gross_cents, figures.vat_exempt),
    ) == ([0, 0], (), (3490, 0, 3490, True))
    assert "TVA non applicable, art. 293 B du CGI" in text
    assert "Total TVA" not in text
    assert "34,90 €" in text


def test_the_invoice_carries_the_legal_mentions(app: Flask, mixed_order: VendorOrder) -> None:
    mixed_order.refunds.append(
        Refund(
            amount_cents=490,
            reason=RefundReason.CANCELLED,
            status=RefundStatus.SUCCEEDED,
            key=uuid.uuid4().hex,
        )
    )
    mixed_order.refunds.append(
        Refund(amount_cents=900, reason=RefundReason.WITHDRAWAL, status=RefundStatus.FAILED, key="failed")
    )
    with time_machine.travel(dt.datetime(2026, 3, 15, 8, 0, tzinfo=dt.UTC), tick=False):
        number = documents.issue_invoice(mixed_order)
    data = documents.invoice_pdf(mixed_order)
    text = pdf_text(data)
    order = mixed_order.order
    for mention in [
        f"Facture n° {number}",
        "Date d’émission : 15 mars 2026",
        f"Commande n° {order.number} du 14 mars 2026",
        "LE FOURNIL SARL",
        "15 rue de la Paix",
        "37000 Bellerive-sur-Loire",
        f"SIRET : {SIRET}",
        f"N° TVA intracommunautaire : {VAT_NUMBER}",
        "RCS Tours 972 281 866",
        f"place de marché {app.config['MARKETPLACE_NAME']}",
        "Camille Martin",
        "8 quai des Mariniers",
        "Pain au levain",
        "Sac en toile — Naturel",
        "SAC-NAT",
        "Frais de livraison (Envoi à domicile)",
        "5,5 %",
        "Total HT 32,61 €",
        "Total TVA 5,29 €",
        "Total TTC 37,90 €",
        "Payée par carte le 14 mars 2026",
        "Remboursements effectués",
        "Commande annulée",
        "Total remboursé 4,90 €",
        "Page 1/1",
    ]:
        assert mention in text, mention
    assert "Rétractation" not in text  # the failed refund is not one that was made
    metadata = PdfReader(io.BytesIO(data)).metadata
    assert metadata is not None
    assert (metadata.title, metadata.author) == (f"Facture {number}", "LE FOURNIL SARL")


def test_an_invoice_needs_its_number_first(mixed_order: VendorOrder) -> None:
    with pytest.raises(ValueError, match="issue_invoice"):
        documents.invoice_pdf(mixed_order)


def test_sixty_lines_run_over_several_pages(shop: Shop) -> None:
    lines = [
        (
            f"Article {n:02d} " + "au titre très long qui doit passer à la ligne " * 2,
            "",
            f"A-{n:02d}",
            300,
            1,
            2000,
        )
        for n in range(60)
    ]
    part = vendor_order(shop, lines)
    documents.issue_invoice(part)
    for data in (documents.invoice_pdf(part), documents.packing_slip_pdf(part)):
        pages = pdf_pages(data)
        assert len(pages) > 1
        assert [f"Page {n}/{len(pages)}" in page for n, page in enumerate(pages, start=1)] == [True] * len(
            pages
        )
        text = " ".join(pages)
        assert [f"A-{n:02d}" in text for n in range(60)] == [True] * 60


def test_an_english_order_gets_its_documents(shop: Shop) -> None:
    part = vendor_order(shop, locale="en", delivery_fee_cents=490)
    number = documents.issue_invoice(part)
    texts = [
        pdf_text(documents.invoice_pdf(part)),
        pdf_text(documents.packing_slip_pdf(part)),
        pdf_text(documents.withdrawal_form_pdf(part)),
    ]
    assert number in texts[0]
    assert [(part.order.number in text, "Camille Martin" in text, "PAIN-01" in text) for text in texts] == [
        (True, True, True)
    ] * 3


def test_the_packing_slip_for_click_and_collect(shop: Shop) -> None:
    part = vendor_order(
        shop,
        [
            ("Pain au levain", "", "PAIN-01", 450, 3, 550),
            ("Sac en toile", "Naturel", "SAC-NAT", 2400, 1, 2000),
        ],
        method=DeliveryMethod.CLICK_COLLECT,
        pickup_slot=dt.datetime(2026, 3, 16, 16, 30, tzinfo=dt.UTC),
        pickup_code="K7P4Q2",
    )
    text = pdf_text(documents.packing_slip_pdf(part))
    for mention in [
        f"commande n° {part.order.number}",
        "Retrait en boutique",
        "Créneau de retrait : lundi 16 mars 2026 à 17:30",
        "Code de retrait : K7P4Q2",
        "Camille Martin",
        "06 12 34 56 78",
        "☐ 3 PAIN-01 Pain au levain",
        "☐ 1 SAC-NAT Sac en toile — Naturel",
        "Articles à préparer : 4",
    ]:
        assert mention in text, mention
    assert "€" not in text


def test_the_packing_slip_for_a_relay_point(shop: Shop) -> None:
    relay = RelayPointFactory(name="Tabac de la Gare", street="2 avenue de la Gare")
    part = vendor_order(shop, method=DeliveryMethod.RELAY, relay_point_id=relay.id)
    text = pdf_text(documents.packing_slip_pdf(part))
    assert ["Point relais" in text, "Tabac de la Gare" in text, "2 avenue de la Gare" in text] == [True] * 3


def test_the_withdrawal_form_is_the_legal_model_prefilled(shop: Shop) -> None:
    part = vendor_order(shop)
    text = pdf_text(documents.withdrawal_form_pdf(part))
    for mention in [
        "Formulaire de rétractation",
        f"À l’attention de LE FOURNIL SARL, 15 rue de la Paix, 37000 Bellerive-sur-Loire, {shop.email} :",
        "Je/Nous (*) vous notifie/notifions (*) par la présente ma/notre (*) rétractation du contrat "
        "portant sur la vente du bien (*)/pour la prestation de services (*) ci-dessous :",
        f"Commande n° {part.order.number}",
        "Pain au levain (réf. PAIN-01), quantité : 2",
        "Commandé le (*)/reçu le (*) : 14 mars 2026",
        "Nom du (des) consommateur(s) : Camille Martin",
        "Adresse du (des) consommateur(s) : 8 quai des Mariniers, 37000 Bellerive-sur-Loire",
        "Signature du (des) consommateur(s) (uniquement en cas de notification du présent formulaire sur "
        "papier) :",
        "Date :",
        "(*) Rayez la mention inutile.",
    ]:
        assert mention in text, mention


def test_the_blank_withdrawal_form(app_ctx: Flask) -> None:
    text = pdf_text(documents.withdrawal_form_pdf())
    assert [
        "Formulaire de rétractation" in text,
        "À l’attention de :" in text,
        "Nom du (des) consommateur(s) :" in text,
        "(*) Rayez la mention inutile." in text,
    ] == [True] * 4


def test_a_missing_font_names_the_debian_package(
    app: Flask, mixed_order: VendorOrder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "PDF_FONT_DIR", str(tmp_path))
    with pytest.raises(documents.FontMissingError, match="fonts-dejavu-core"):
        documents.packing_slip_pdf(mixed_order)
