"""A buyer buying for a company: its name, SIREN and VAT number are checked at checkout and frozen on the
order, and the shop's invoice and credit notes to it are Factur-X e-invoices; a consumer's stay plain PDFs."""

from __future__ import annotations

import facturx
import pytest
import sqlalchemy as sa
from flask import Flask
from lxml import etree

from app import einvoice
from app.extensions import db
from app.orders import documents
from app.orders import services as orders
from app.orders.models import CreditNote, Order
from tests.catalog.test_categories import field_errors
from tests.orders.support import Town, checkout, fill_cart, login, make_town, only_order, part_of, pay
from tests.orders.test_documents import pdf_text
from tests.orders.test_lifecycle import place_and_pay
from tests.plugins.application import Client
from tests.plugins.stripe import StripeEmulator

COMPANY = {"company_name": "Atelier Vélo SARL", "siren": "732 829 320", "vat_number": "FR44732829320"}
NS = {"ram": einvoice.RAM, "rsm": einvoice.RSM, "qdt": einvoice.QDT}


@pytest.fixture
def town(app_ctx: Flask) -> Town:
    made = make_town()
    fill_cart(made, (made.bread, 2), (made.cake, 1))
    return made


def orders_of(town: Town) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Order).where(Order.user_id == town.shopper_id)
        )
        or 0
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"siren": "732 829 321"}, "siren", "Ce SIREN est erroné : sa clé de contrôle ne correspond pas."),
        ({"siren": "7328293"}, "siren", "Un SIREN compte 9 chiffres (un SIRET, 14)."),
        ({"vat_number": "FR45732829320"}, "vat_number", "Ce numéro de TVA est erroné"),
        ({"vat_number": "FR40303265045"}, "vat_number", "Ce numéro de TVA n’est pas celui de ce SIREN."),
        ({"company_name": ""}, "company_name", "Indiquez la raison sociale de l’entreprise."),
        ({"siren": "", "vat_number": ""}, "siren", "Indiquez le SIREN ou le numéro de TVA de l’entreprise."),
    ],
)
def test_a_wrong_company_identity_is_a_form_error_and_nothing_is_ordered(
    client: Client, town: Town, changes: dict[str, str], field: str, message: str
) -> None:
    login(client, "camille@example.com")
    response, _token = checkout(client, **{**COMPANY, **changes})
    assert response.status_code == 200
    errors = field_errors(response.get_data(as_text=True), field)
    assert errors, f"no error on {field}"
    assert errors[0].startswith(message), errors
    assert orders_of(town) == 0


def embedded(pdf: bytes) -> etree._Element:
    filename, xml = facturx.get_xml_from_pdf(pdf, check_xsd=False)
    assert filename == "factur-x.xml"
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    return etree.fromstring(xml)


def first(root: etree._Element, path: str) -> str:
    found = root.xpath(path, namespaces=NS)
    assert found, path
    return str(found[0].text)


def test_a_company_buyer_gets_factur_x_invoice_and_credit_note(
    client: Client, town: Town, stripe_api: StripeEmulator
) -> None:
    login(client, "camille@example.com")
    response, _token = checkout(client, **COMPANY)
    assert response.status_code == 302
    order = only_order(town.shopper_id)
    assert (order.buyer_company, order.buyer_siren, order.buyer_vat_number) == (
        "Atelier Vélo SARL",
        "732829320",
        "FR44732829320",
    )
    assert pay(client, order.number).status_code == 302
    bakery = part_of(only_order(town.shopper_id), town.baker_id)
    orders.accept(bakery)
    db.session.commit()

    invoice = embedded(documents.invoice_pdf(bakery))
    assert (
        first(invoice, "//rsm:ExchangedDocument/ram:TypeCode"),
        first(invoice, "//rsm:ExchangedDocument/ram:ID"),
        first(invoice, "//ram:BuyerTradeParty/ram:Name"),
        first(invoice, "//ram:BuyerTradeParty/ram:SpecifiedLegalOrganization/ram:ID"),
        first(invoice, "//ram:BuyerTradeParty/ram:SpecifiedTaxRegistration/ram:ID"),
        first(invoice, "//ram:SellerTradeParty/ram:Name"),
        first(invoice, "//ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"),
        first(invoice, "//ram:GrandTotalAmount"),
    ) == (
        "380",
        bakery.invoice_number,
        "Atelier Vélo SARL",
        "732829320",
        "FR44732829320",
        bakery.shop.legal_name,
        order.number,
        "31.90",  # 2 × 4,50 + 18,00 + 4,90 of delivery, VAT included
    )
    text = pdf_text(documents.invoice_pdf(bakery))
    assert "Atelier Vélo SARL" in text
    assert "SIREN : 732829320" in text

    orders.cancel_by_shop(bakery, "Four en panne.")
    db.session.commit()
    note = db.session.scalars(sa.select(CreditNote).where(CreditNote.vendor_order_id == bakery.id)).one()
    credit = embedded(documents.credit_note_pdf(note))
    assert (
        first(credit, "//rsm:ExchangedDocument/ram:TypeCode"),
        first(credit, "//rsm:ExchangedDocument/ram:ID"),
        first(credit, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID"),
        first(credit, "//ram:GrandTotalAmount"),
    ) == ("381", note.number, bakery.invoice_number, "31.90")


def test_a_consumers_invoice_stays_a_plain_pdf(town: Town, stripe_api: StripeEmulator) -> None:
    order = place_and_pay(town)
    bakery = part_of(order, town.baker_id)
    orders.accept(bakery)
    db.session.commit()
    filename, xml = facturx.get_xml_from_pdf(documents.invoice_pdf(bakery), check_xsd=False)
    assert not filename
    assert not xml
