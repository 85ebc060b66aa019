"""The platform's commission invoices and credit notes as Factur-X e-invoices (EN 16931): the CII XML
passes the schema, adds up as the standard's rules say, and travels inside the PDF as factur-x.xml."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import facturx
import pytest
from flask import Flask
from lxml import etree
from pypdf import PdfReader

from app import einvoice
from app.extensions import db
from app.invoicing import VatTotal
from app.orders import services as orders
from app.orders.models import Order
from payouts import documents
from tests.factories import SIRET, VAT_NUMBER
from tests.orders.support import Town, make_town, part_of
from tests.payouts.test_documents import at, buy, pdf_text, shop
from tests.plugins.stripe import StripeEmulator

NS = {
    "rsm": einvoice.RSM,
    "ram": einvoice.RAM,
    "udt": einvoice.UDT,
    "qdt": einvoice.QDT,
}


def embedded_xml(pdf: bytes) -> etree._Element:
    """The XML the PDF carries, checked against the Factur-X EN 16931 schema."""
    filename, xml = facturx.get_xml_from_pdf(pdf, check_xsd=False)
    assert filename == "factur-x.xml"
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    return etree.fromstring(xml)


def text(root: etree._Element, path: str) -> str:
    found = root.xpath(path, namespaces=NS)
    assert found, path
    return str(found[0].text if hasattr(found[0], "text") else found[0])


def amounts(root: etree._Element, path: str) -> list[Decimal]:
    return [Decimal(element.text) for element in root.xpath(path, namespaces=NS)]


def assert_adds_up(root: etree._Element) -> None:
    """The EN 16931 sums the schematron checks (BR-CO-10, 13, 14, 15, 16 and BR-S-08), here offline."""
    settlement = "rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement"
    totals = f"{settlement}/ram:SpecifiedTradeSettlementHeaderMonetarySummation"
    lines = amounts(root, "//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount")
    [line_total] = amounts(root, f"{totals}/ram:LineTotalAmount")
    [basis] = amounts(root, f"{totals}/ram:TaxBasisTotalAmount")
    [tax] = amounts(root, f"{totals}/ram:TaxTotalAmount")
    [grand] = amounts(root, f"{totals}/ram:GrandTotalAmount")
    [prepaid] = amounts(root, f"{totals}/ram:TotalPrepaidAmount")
    [due] = amounts(root, f"{totals}/ram:DuePayableAmount")
    assert sum(lines) == line_total == basis
    assert sum(amounts(root, f"{settlement}/ram:ApplicableTradeTax/ram:CalculatedAmount")) == tax
    assert (grand, due) == (basis + tax, grand - prepaid)
    for rate_element in root.xpath(f"{settlement}/ram:ApplicableTradeTax", namespaces=NS):
        rate = rate_element.findtext(f"{{{einvoice.RAM}}}RateApplicablePercent")
        at_rate = root.xpath(
            "//ram:IncludedSupplyChainTradeLineItem[.//ram:RateApplicablePercent = $rate]"
            "//ram:LineTotalAmount",
            rate=rate,
            namespaces=NS,
        )
        assert sum(Decimal(e.text) for e in at_rate) == Decimal(
            rate_element.findtext(f"{{{einvoice.RAM}}}BasisAmount")
        )


def xmp(pdf: bytes) -> str:
    metadata = PdfReader(io.BytesIO(pdf)).trailer["/Root"]["/Metadata"].get_object()
    return bytes(metadata.get_data()).decode()


@pytest.fixture
def town(app_ctx: Flask, stripe_api: StripeEmulator) -> Town:
    return make_town()


@pytest.fixture
def november(town: Town) -> tuple[Town, Order]:
    """The bakery's November: two breads and a tart (27,00 €), invoiced on 1 December."""
    with at(2026, 11, 10):
        order = buy(town, (town.bread, 2), (town.cake, 1))
    with at(2026, 12, 1, 10):
        assert documents.issue_month(2026, 11) == 1
        db.session.commit()
    return town, order


def test_a_commission_invoice_is_a_factur_x_pdf(app_ctx: Flask, november: tuple[Town, Order]) -> None:
    town, _order = november
    [invoice] = [documents.issue_commission_invoice(town.baker_id, 2026, 11)]
    assert invoice is not None
    data = documents.commission_invoice_pdf(invoice)
    assert "Facture de commission n° C-2026-00001" in pdf_text(data)  # still read by a person
    metadata = xmp(data)
    assert "<pdfaid:part>3</pdfaid:part>" in metadata
    catalog = PdfReader(io.BytesIO(data)).trailer["/Root"]
    [intent] = catalog["/OutputIntents"]
    assert (intent.get_object()["/S"], intent.get_object()["/OutputConditionIdentifier"]) == (
        "/GTS_PDFA1",
        "sRGB",
    )
    assert "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#" in metadata
    root = embedded_xml(data)
    baker = shop(town.baker_id)
    seller = "//ram:SellerTradeParty"
    settlement = "//ram:ApplicableHeaderTradeSettlement"
    buyer = "//ram:BuyerTradeParty"
    assert {
        "profile": text(root, "//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID"),
        "number": text(root, "rsm:ExchangedDocument/ram:ID"),
        "type": text(root, "rsm:ExchangedDocument/ram:TypeCode"),
        "issued": text(root, "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString"),
        "seller": text(root, f"{seller}/ram:Name"),
        "seller_siren": text(root, f"{seller}/ram:SpecifiedLegalOrganization/ram:ID"),
        "seller_scheme": text(root, f"{seller}/ram:SpecifiedLegalOrganization/ram:ID/@schemeID"),
        "seller_vat": text(root, f"{seller}/ram:SpecifiedTaxRegistration/ram:ID"),
        "seller_town": text(root, f"{seller}/ram:PostalTradeAddress/ram:CityName"),
        "seller_postcode": text(root, f"{seller}/ram:PostalTradeAddress/ram:PostcodeCode"),
        "buyer": text(root, f"{buyer}/ram:Name"),
        "buyer_siren": text(root, f"{buyer}/ram:SpecifiedLegalOrganization/ram:ID"),
        "buyer_vat": text(root, f"{buyer}/ram:SpecifiedTaxRegistration/ram:ID"),
        "period": (
            text(root, "//ram:BillingSpecifiedPeriod/ram:StartDateTime/udt:DateTimeString"),
            text(root, "//ram:BillingSpecifiedPeriod/ram:EndDateTime/udt:DateTimeString"),
        ),
        "rate": text(root, f"{settlement}/ram:ApplicableTradeTax/ram:RateApplicablePercent"),
        "grand": text(root, "//ram:GrandTotalAmount"),
        "due": text(root, "//ram:DuePayableAmount"),
    } == {
        "profile": "urn:cen.eu:en16931:2017",
        "number": "C-2026-00001",
        "type": "380",
        "issued": "20261201",
        "seller": "Bellerive Commerces SAS",
        "seller_siren": "552100554",
        "seller_scheme": "0002",
        "seller_vat": "FR26552100554",
        "seller_town": "Bellerive-sur-Loire",
        "seller_postcode": "37000",
        "buyer": baker.legal_name,
        "buyer_siren": SIRET[:9],
        "buyer_vat": VAT_NUMBER,
        "period": ("20261101", "20261130"),
        "rate": "20.00",
        "grand": "3.24",  # 10 % of 27,00 € of goods, plus 20 % VAT
        "due": "0.00",
    }
    assert_adds_up(root)


def test_a_commission_credit_note_is_a_factur_x_381_referring_to_the_last_invoice(
    app_ctx: Flask, november: tuple[Town, Order]
) -> None:
    town, order = november
    with at(2026, 12, 5):
        orders.refuse(part_of(order, town.baker_id), "Four en panne, désolés.")
        db.session.commit()
    with at(2027, 1, 2, 10):
        credit = documents.issue_commission_invoice(town.baker_id, 2026, 12)
        db.session.commit()
    assert credit is not None
    data = documents.commission_invoice_pdf(credit)
    assert "Avoir sur commission n° C-2027-00001" in pdf_text(data)
    root = embedded_xml(data)
    assert (
        text(root, "rsm:ExchangedDocument/ram:TypeCode"),
        text(root, "//ram:InvoiceReferencedDocument/ram:IssuerAssignedID"),
        text(root, "//ram:InvoiceReferencedDocument/ram:FormattedIssueDateTime/qdt:DateTimeString"),
        amounts(root, "//ram:LineTotalAmount"),
        text(root, "//ram:TaxTotalAmount"),
        text(root, "//ram:GrandTotalAmount"),
    ) == ("381", "C-2026-00001", "20261201", [Decimal("2.70"), Decimal("2.70")], "0.54", "3.24")
    assert_adds_up(root)


def test_lines_that_do_not_add_up_to_the_vat_summary_are_refused(app_ctx: Flask) -> None:
    party = einvoice.Party("A", "1 rue", "37000", "Tours", "FR", legal_id="552100554")
    document = einvoice.EInvoice(
        number="C-2026-00009",
        type_code=einvoice.INVOICE,
        issued_on=dt.date(2026, 12, 1),
        currency="EUR",
        seller=party,
        buyer=party,
        lines=(einvoice.EInvoiceLine("Commission", 1, 270, 2000),),
        vat=(VatTotal(2000, 260, 52, 312),),
    )
    with pytest.raises(ValueError, match="do not add up"):
        einvoice.cii_xml(document)
