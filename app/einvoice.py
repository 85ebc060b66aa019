"""Factur-X e-invoices: an invoice's or credit note's frozen figures as Cross Industry Invoice XML
(profile EN 16931), embedded in its PDF by the ``factur-x`` library (PDF/A-3 with ``factur-x.xml``
attached and the XMP metadata that names it).

French B2B invoices must be received electronically from September 2026 and issued so from September
2027 (SMEs); Factur-X is one of the three formats the reform accepts, and a person reads the same
file as a plain PDF. Used for the platform's commission documents to shops, and for a shop's invoices
and credit notes to a buyer who gave a company identity at checkout.

Amounts in the XML are net of VAT (EN 16931 works on net amounts): each line's net is its tax-inclusive
amount less its VAT, rounded per line as on the PDF, so both say the same thing to the cent. A credit
note (type 381) carries positive amounts; an invoice's line may be negative (its quantity then is,
since an item's net price never is: rule BR-27).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from lxml import etree

from app.invoicing import VatTotal
from app.money import cents_to_decimal

__all__ = [
    "CREDIT_NOTE",
    "INVOICE",
    "Business",
    "EInvoice",
    "EInvoiceLine",
    "Party",
    "business_party",
    "cii_xml",
    "embed",
    "siren_of",
]

INVOICE = "380"  # UNTDID 1001: commercial invoice
CREDIT_NOTE = "381"  # credit note
PROFILE = "urn:cen.eu:en16931:2017"  # Factur-X EN 16931 (comfort)
LEVEL = "en16931"
FLAVOR = "factur-x"

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
NSMAP = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}

# ISO 6523 schemes of the legal registration identifier (BT-30 / BT-47).
LEGAL_ID_SCHEMES = {"FR": "0002", "BE": "0208"}  # SIREN; Belgian enterprise number


@dataclass(frozen=True)
class Party:
    """A seller or a buyer as the XML names it: legal name, address, registration and VAT numbers."""

    name: str
    street: str
    postcode: str
    city: str
    country: str
    legal_id: str = ""  # SIREN (France) or enterprise number (Belgium)
    vat_number: str = ""
    email: str = ""
    trade_name: str = ""


class Business(Protocol):
    """What a shop tells of itself on an invoice (the shop model answers it)."""

    name: str
    legal_name: str
    street: str
    postcode: str
    city: str
    country: str
    registration_number: str
    vat_number: str
    email: str


def business_party(business: Business) -> Party:
    """A shop as a party: the seller of its own invoices, the buyer of the platform's commission ones."""
    return Party(
        name=business.legal_name or business.name,
        street=business.street,
        postcode=business.postcode,
        city=business.city,
        country=business.country,
        legal_id=siren_of(business.registration_number, business.country),
        vat_number=business.vat_number,
        email=business.email,
        trade_name=business.name,
    )


@dataclass(frozen=True)
class EInvoiceLine:
    name: str
    quantity: int
    net_cents: int  # the line's amount net of VAT (negative: something given back on an invoice)
    vat_bps: int
    sku: str = ""


@dataclass(frozen=True)
class EInvoice:
    """What the XML says: the document's frozen figures, its parties and references."""

    number: str
    type_code: str  # INVOICE or CREDIT_NOTE
    issued_on: dt.date
    currency: str
    seller: Party
    buyer: Party
    lines: tuple[EInvoiceLine, ...]
    vat: tuple[VatTotal, ...]
    exemption_reason: str = ""  # set under the VAT franchise: every line is exempt (category E)
    referenced_invoice: tuple[str, dt.date] | None = None  # a credit note's invoice
    order_reference: str = ""
    period: tuple[dt.date, dt.date] | None = None  # the billed period (a month of commission)
    payment_terms: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def net_cents(self) -> int:
        return sum(row.net_cents for row in self.vat)

    @property
    def vat_cents(self) -> int:
        return sum(row.vat_cents for row in self.vat)

    @property
    def total_cents(self) -> int:
        return self.net_cents + self.vat_cents


def siren_of(registration_number: str, country: str) -> str:
    """The legal identifier of a shop's registration: a French SIRET's first 9 digits (the SIREN)."""
    digits = "".join(ch for ch in registration_number if ch.isdigit())
    if country == "FR" and len(digits) == 14:
        return digits[:9]
    return digits


def _amount(cents: int, currency: str) -> str:
    return f"{cents_to_decimal(cents, currency):.2f}"


def _date(parent: etree._Element, tag: str, day: dt.date, qualified: bool = False) -> None:
    holder = etree.SubElement(parent, f"{{{RAM}}}{tag}")
    value = etree.SubElement(holder, f"{{{QDT if qualified else UDT}}}DateTimeString", format="102")
    value.text = day.strftime("%Y%m%d")


def _text(parent: etree._Element, tag: str, text: str, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, f"{{{RAM}}}{tag}", **attributes)
    element.text = text
    return element


def _rate(bps: int) -> str:
    return f"{Decimal(bps) / 100:.2f}"


def _category(document: EInvoice) -> str:
    return "E" if document.exemption_reason else "S"


def _party(parent: etree._Element, tag: str, party: Party) -> None:
    element = etree.SubElement(parent, f"{{{RAM}}}{tag}")
    _text(element, "Name", party.name)
    if party.legal_id:
        organisation = etree.SubElement(element, f"{{{RAM}}}SpecifiedLegalOrganization")
        scheme = LEGAL_ID_SCHEMES.get(party.country)
        _text(organisation, "ID", party.legal_id, **({"schemeID": scheme} if scheme else {}))
        if party.trade_name and party.trade_name != party.name:
            _text(organisation, "TradingBusinessName", party.trade_name)
    address = etree.SubElement(element, f"{{{RAM}}}PostalTradeAddress")
    if party.postcode:
        _text(address, "PostcodeCode", party.postcode)
    if party.street:
        _text(address, "LineOne", party.street)
    if party.city:
        _text(address, "CityName", party.city)
    _text(address, "CountryID", party.country)
    if party.email:
        uri = etree.SubElement(element, f"{{{RAM}}}URIUniversalCommunication")
        _text(uri, "URIID", party.email, schemeID="EM")
    if party.vat_number:
        registration = etree.SubElement(element, f"{{{RAM}}}SpecifiedTaxRegistration")
        _text(registration, "ID", party.vat_number, schemeID="VA")


def _line(parent: etree._Element, index: int, line: EInvoiceLine, document: EInvoice) -> None:
    item = etree.SubElement(parent, f"{{{RAM}}}IncludedSupplyChainTradeLineItem")
    _text(etree.SubElement(item, f"{{{RAM}}}AssociatedDocumentLineDocument"), "LineID", str(index))
    product = etree.SubElement(item, f"{{{RAM}}}SpecifiedTradeProduct")
    if line.sku:
        _text(product, "SellerAssignedID", line.sku)
    _text(product, "Name", line.name)
    # An item's net price is never negative (BR-27): a line given back has a negative quantity.
    quantity = -line.quantity if line.net_cents < 0 else line.quantity
    price = cents_to_decimal(abs(line.net_cents), document.currency) / line.quantity
    agreement = etree.SubElement(item, f"{{{RAM}}}SpecifiedLineTradeAgreement")
    _text(
        etree.SubElement(agreement, f"{{{RAM}}}NetPriceProductTradePrice"),
        "ChargeAmount",
        f"{price.quantize(Decimal('0.0001'))}",
    )
    delivery = etree.SubElement(item, f"{{{RAM}}}SpecifiedLineTradeDelivery")
    _text(delivery, "BilledQuantity", str(quantity), unitCode="C62")  # C62: one (a unit)
    settlement = etree.SubElement(item, f"{{{RAM}}}SpecifiedLineTradeSettlement")
    tax = etree.SubElement(settlement, f"{{{RAM}}}ApplicableTradeTax")
    _text(tax, "TypeCode", "VAT")
    _text(tax, "CategoryCode", _category(document))
    _text(tax, "RateApplicablePercent", _rate(0 if document.exemption_reason else line.vat_bps))
    summation = etree.SubElement(settlement, f"{{{RAM}}}SpecifiedTradeSettlementLineMonetarySummation")
    _text(summation, "LineTotalAmount", _amount(line.net_cents, document.currency))


def _settlement(parent: etree._Element, document: EInvoice) -> None:
    money = document.currency
    settlement = etree.SubElement(parent, f"{{{RAM}}}ApplicableHeaderTradeSettlement")
    _text(settlement, "InvoiceCurrencyCode", money)
    for row in document.vat:
        tax = etree.SubElement(settlement, f"{{{RAM}}}ApplicableTradeTax")
        _text(tax, "CalculatedAmount", _amount(row.vat_cents, money))
        _text(tax, "TypeCode", "VAT")
        if document.exemption_reason:
            _text(tax, "ExemptionReason", document.exemption_reason)
        _text(tax, "BasisAmount", _amount(row.net_cents, money))
        _text(tax, "CategoryCode", _category(document))
        _text(tax, "RateApplicablePercent", _rate(0 if document.exemption_reason else row.rate_bps))
    if document.period is not None:
        period = etree.SubElement(settlement, f"{{{RAM}}}BillingSpecifiedPeriod")
        _date(period, "StartDateTime", document.period[0])
        _date(period, "EndDateTime", document.period[1])
    if document.payment_terms:
        terms = etree.SubElement(settlement, f"{{{RAM}}}SpecifiedTradePaymentTerms")
        _text(terms, "Description", document.payment_terms)
    totals = etree.SubElement(settlement, f"{{{RAM}}}SpecifiedTradeSettlementHeaderMonetarySummation")
    _text(totals, "LineTotalAmount", _amount(sum(line.net_cents for line in document.lines), money))
    _text(totals, "TaxBasisTotalAmount", _amount(document.net_cents, money))
    _text(totals, "TaxTotalAmount", _amount(document.vat_cents, money), currencyID=money)
    _text(totals, "GrandTotalAmount", _amount(document.total_cents, money))
    # Paid already (by card, or kept from the shop's sales; a credit note's money is given back with
    # its refund): nothing is due.
    _text(totals, "TotalPrepaidAmount", _amount(document.total_cents, money))
    _text(totals, "DuePayableAmount", _amount(0, money))
    if document.referenced_invoice is not None:
        number, issued_on = document.referenced_invoice
        referenced = etree.SubElement(settlement, f"{{{RAM}}}InvoiceReferencedDocument")
        _text(referenced, "IssuerAssignedID", number)
        _date(referenced, "FormattedIssueDateTime", issued_on, qualified=True)


def cii_xml(document: EInvoice) -> bytes:
    """The document as Cross Industry Invoice XML (UTF-8), profile EN 16931."""
    if sum(line.net_cents for line in document.lines) != document.net_cents:
        raise ValueError(f"{document.number}: the lines do not add up to the VAT summary's net amounts")
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=NSMAP)
    context = etree.SubElement(root, f"{{{RSM}}}ExchangedDocumentContext")
    guideline = etree.SubElement(context, f"{{{RAM}}}GuidelineSpecifiedDocumentContextParameter")
    _text(guideline, "ID", PROFILE)
    header = etree.SubElement(root, f"{{{RSM}}}ExchangedDocument")
    _text(header, "ID", document.number)
    _text(header, "TypeCode", document.type_code)
    issued = etree.SubElement(header, f"{{{RAM}}}IssueDateTime")
    etree.SubElement(issued, f"{{{UDT}}}DateTimeString", format="102").text = document.issued_on.strftime(
        "%Y%m%d"
    )
    for note in document.notes:
        _text(etree.SubElement(header, f"{{{RAM}}}IncludedNote"), "Content", note)
    transaction = etree.SubElement(root, f"{{{RSM}}}SupplyChainTradeTransaction")
    for index, line in enumerate(document.lines, start=1):
        _line(transaction, index, line, document)
    agreement = etree.SubElement(transaction, f"{{{RAM}}}ApplicableHeaderTradeAgreement")
    _party(agreement, "SellerTradeParty", document.seller)
    _party(agreement, "BuyerTradeParty", document.buyer)
    if document.order_reference:
        order = etree.SubElement(agreement, f"{{{RAM}}}BuyerOrderReferencedDocument")
        _text(order, "IssuerAssignedID", document.order_reference)
    etree.SubElement(transaction, f"{{{RAM}}}ApplicableHeaderTradeDelivery")
    _settlement(transaction, document)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def embed(pdf: bytes, document: EInvoice, *, title: str, author: str, lang: str) -> bytes:
    """The PDF as Factur-X: the document's XML checked against the EN 16931 schema and attached as
    ``factur-x.xml``, with the PDF/A-3 metadata naming it. A schema error raises (never a PDF whose
    XML a buyer's software would refuse)."""
    import facturx  # lxml schemas and pypdf, loaded with the first e-invoice drawn

    xml = cii_xml(document)
    result: bytes = facturx.generate_from_binary(
        pdf,
        xml,
        flavor=FLAVOR,
        level=LEVEL,
        check_xsd=True,
        pdf_metadata={
            "author": author,
            "keywords": "Factur-X",
            "title": title,
            "subject": title,
        },
        lang=lang,
    )
    return result
