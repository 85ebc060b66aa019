"""DAC7 (directive 2021/514; in France CGI art. 1649 ter A): what the platform reports of its sellers.

* Figures per seller and quarter, read from the ledger. A sale is a shop's part of an order, in the
  quarter it was paid (its ``sale`` transaction, on the town's calendar). Its **consideration** is what
  the shopper paid the shop for it, less what was refunded since; its **fees** are the commission (and
  the share of Stripe's fee when shops bear it) less what refunds gave back; its **taxes** are the VAT on
  that commission. A sale refunded in full is no sale: it counts neither in the number nor the money.
* A seller of goods with fewer than 30 sales *and* under 2,000 € in the year is not reported (de minimis).
* Sellers whose data is missing are flagged in the report and left out of the declaration until they
  give it; the data is asked for by e-mail twice, then their payouts are withheld (the directive's
  "effective measures", art. 8ac §2 of 2011/16) until it is complete.
* The declaration is the DGFiP's XML, built with the ``dac7`` package's models and validated against
  its schema; each seller gets its own statement (PDF in its back office, and an e-mail).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from app import mail
from app.database import locked, utcnow
from app.extensions import db
from app.urls import external_url
from payouts import ledger
from payouts.models import Dac7Statement, LedgerAccount, LedgerEntry, LedgerTransaction, TransactionKind
from vendors import services as vendor_services
from vendors.hours import TOWN_TZ
from vendors.models import SellerKind, Shop, ShopStatus

# The dac7 package (pydantic, xmlschema, lxml: tens of MB) is imported where a declaration is built.
if TYPE_CHECKING:
    from dac7.models.flat import (
        OtherActivities,
        PlatformOperator,
        ReportableEntitySeller,
        ReportableIndividualSeller,
    )

log = logging.getLogger(__name__)

DE_MINIMIS_SALES = 30
DE_MINIMIS_CENTS = 200_000
REMINDERS_BEFORE_WITHHOLDING = 2
REMINDER_INTERVAL = dt.timedelta(days=7)


# -- figures --------------------------------------------------------------------------------------


@dataclass
class QuarterFigures:
    consideration_cents: int = 0
    sales: int = 0
    fees_cents: int = 0
    taxes_cents: int = 0


@dataclass
class SellerYear:
    """One seller's year: its four quarters, what data is missing, whether it is reported."""

    shop: Shop
    year: int
    quarters: list[QuarterFigures] = field(default_factory=lambda: [QuarterFigures() for _ in range(4)])

    @property
    def consideration_cents(self) -> int:
        return sum(quarter.consideration_cents for quarter in self.quarters)

    @property
    def sales(self) -> int:
        return sum(quarter.sales for quarter in self.quarters)

    @property
    def fees_cents(self) -> int:
        return sum(quarter.fees_cents for quarter in self.quarters)

    @property
    def taxes_cents(self) -> int:
        return sum(quarter.taxes_cents for quarter in self.quarters)

    @property
    def below_threshold(self) -> bool:
        """De minimis for sellers of goods: fewer than 30 sales and under 2,000 € in the year."""
        return self.sales < DE_MINIMIS_SALES and self.consideration_cents < DE_MINIMIS_CENTS

    @property
    def missing(self) -> list[str]:
        return vendor_services.dac7_missing(self.shop)

    @property
    def reportable(self) -> bool:
        return self.sales > 0 and not self.below_threshold


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """The year on the town's calendar, as UTC instants [start, end)."""
    start = dt.datetime(year, 1, 1, tzinfo=TOWN_TZ).astimezone(dt.UTC)
    end = dt.datetime(year + 1, 1, 1, tzinfo=TOWN_TZ).astimezone(dt.UTC)
    return start, end


def _quarter(instant: dt.datetime) -> int:
    return (instant.astimezone(TOWN_TZ).month - 1) // 3


def year_figures(year: int, shop_id: int | None = None) -> list[SellerYear]:
    """Every seller with a sale paid in ``year`` (or only ``shop_id``), by shop name."""
    start, end = year_bounds(year)
    sales = sa.select(
        LedgerTransaction.vendor_order_id, LedgerTransaction.shop_id, LedgerTransaction.occurred_at
    ).where(
        LedgerTransaction.kind == TransactionKind.SALE,
        LedgerTransaction.shop_id.is_not(None),
        LedgerTransaction.vendor_order_id.is_not(None),
        LedgerTransaction.occurred_at >= start,
        LedgerTransaction.occurred_at < end,
    )
    if shop_id is not None:
        sales = sales.where(LedgerTransaction.shop_id == shop_id)
    sold = {
        row.vendor_order_id: (row.shop_id, _quarter(row.occurred_at)) for row in db.session.execute(sales)
    }
    if not sold:
        return []
    amounts = _amounts(sales.with_only_columns(LedgerTransaction.vendor_order_id))
    by_shop: dict[int, SellerYear] = {}
    shops = {
        shop.id: shop
        for shop in db.session.scalars(sa.select(Shop).where(Shop.id.in_({s for s, _ in sold.values()})))
    }
    for vendor_order_id, (owner_id, quarter) in sold.items():
        sale = amounts.get(vendor_order_id, {})
        seller = by_shop.setdefault(owner_id, SellerYear(shops[owner_id], year))
        figures = seller.quarters[quarter]
        consideration = sale.get("consideration", 0)
        if consideration <= 0:
            continue  # refunded in full: no sale
        figures.consideration_cents += consideration
        figures.sales += 1
        figures.fees_cents += sale.get("fees", 0)
        figures.taxes_cents += sale.get("taxes", 0)
    return sorted(by_shop.values(), key=lambda seller: (seller.shop.name.lower(), seller.shop.id))


def _amounts(vendor_order_ids: Any) -> dict[int, dict[str, int]]:
    """Per vendor order: consideration (sale less refunds, on the shop's accounts), fees (commission and
    Stripe's fee charged to the shop, less what refunds gave back) and taxes (the commission's VAT)."""
    kinds = (
        TransactionKind.SALE,
        TransactionKind.REFUND,
        TransactionKind.COMMISSION,
        TransactionKind.COMMISSION_REFUND,
    )
    rows = db.session.execute(
        sa.select(
            LedgerTransaction.vendor_order_id,
            LedgerTransaction.kind,
            LedgerAccount.code,
            sa.func.sum(LedgerEntry.amount_cents),
        )
        .join(LedgerEntry, LedgerEntry.transaction_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerEntry.account_id == LedgerAccount.id)
        .where(LedgerTransaction.vendor_order_id.in_(vendor_order_ids), LedgerTransaction.kind.in_(kinds))
        .group_by(LedgerTransaction.vendor_order_id, LedgerTransaction.kind, LedgerAccount.code)
    )
    found: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for vendor_order_id, kind, code, total in rows:
        assert vendor_order_id is not None  # filtered by the query
        amount = -int(total)  # credits are negative: what the shop is owed, what the platform earns
        if code.startswith("shop:") and kind in (TransactionKind.SALE, TransactionKind.REFUND):
            found[vendor_order_id]["consideration"] += amount
        elif code in (ledger.COMMISSION, ledger.STRIPE_FEES) and kind != TransactionKind.SALE:
            found[vendor_order_id]["fees"] += amount
        elif code == ledger.COMMISSION_VAT:
            found[vendor_order_id]["taxes"] += amount
    return found


def seller_year(shop: Shop, year: int) -> SellerYear:
    """One seller's figures of a year (all zero when it sold nothing)."""
    found = year_figures(year, shop_id=shop.id)
    return found[0] if found else SellerYear(shop, year)


# -- the declaration ------------------------------------------------------------------------------


class DeclarationError(ValueError):
    """The declaration could not be built or does not validate against the DGFiP schema."""


@dataclass(frozen=True)
class BuiltDeclaration:
    filename: str
    xml: str
    reported: list[SellerYear]
    left_out: list[SellerYear]  # reportable, but their data is missing


def _euros(cents: int) -> Decimal:
    return Decimal(cents) / 100


def _platform_operator() -> PlatformOperator:
    from dac7.models.enums import CountryCode, EUCountryCode, Nexus
    from dac7.models.flat import Address, MandatoryTaxIdentificationNumber, PlatformOperator

    config = current_app.config
    siren = re.sub(r"\D", "", config["PLATFORM_SIRET"])[:9]
    street, _, town = config["PLATFORM_ADDRESS"].rpartition(",")
    postcode, _, city = town.strip().partition(" ")
    return PlatformOperator(
        residence_country_code=EUCountryCode.FRANCE,
        tax_identification_numbers=[
            MandatoryTaxIdentificationNumber(issued_by=CountryCode("FR"), value=siren)
        ],
        vat_number=config["PLATFORM_VAT_NUMBER"],
        legal_names=[config["PLATFORM_LEGAL_NAME"]],
        business_names=[config["MARKETPLACE_NAME"]],
        addresses=[
            Address(country_code=CountryCode("FR"), street=street.strip(), post_code=postcode, city=city)
        ],
        nexus=Nexus.RESIDENT,
    )


def _activities(seller: SellerYear) -> OtherActivities:
    from dac7.models.flat import OtherActivities

    quarters = seller.quarters
    values: dict[str, Any] = {"currency_code": "EUR"}
    for number, quarter in enumerate(quarters, start=1):
        values[f"consideration_amount_q{number}"] = _euros(quarter.consideration_cents)
        values[f"activities_number_q{number}"] = quarter.sales
        values[f"fees_amount_q{number}"] = _euros(quarter.fees_cents)
        values[f"taxes_amount_q{number}"] = _euros(quarter.taxes_cents)
    return OtherActivities(**values)


def _seller_model(seller: SellerYear) -> ReportableEntitySeller | ReportableIndividualSeller:
    from dac7.models.enums import CountryCode, LegalAddressType, NamePersonType
    from dac7.models.flat import (
        Address,
        FinancialIdentifier,
        ReportableEntitySeller,
        ReportableIndividualSeller,
        TaxIdentificationNumber,
    )

    shop = seller.shop
    address = Address(
        legal_type=LegalAddressType.BUSINESS if shop.seller_kind == SellerKind.COMPANY else None,
        country_code=CountryCode(shop.country),
        street=shop.street,
        post_code=shop.postcode,
        city=shop.city,
    )
    common: dict[str, Any] = {
        "seller_id": str(shop.id),
        "residence_country_code": shop.country,
        "vat_number": shop.vat_number or None,
        "tax_identification_numbers": [
            TaxIdentificationNumber(issued_by=CountryCode(shop.country), value=shop.tax_number)
        ],
        "addresses": [address],
        "financial_identifiers": (
            [FinancialIdentifier(type="IBAN", account_number=shop.payout_account_masked, other_info="masked")]
            if shop.payout_account_masked
            else []
        ),
        "sale_of_goods": _activities(seller),
    }
    if shop.seller_kind == SellerKind.COMPANY:
        return ReportableEntitySeller(legal_names=[shop.legal_name], **common)
    assert shop.seller_birth_date is not None  # dac7_missing says so first
    return ReportableIndividualSeller(
        name_type=NamePersonType.INDIVIDUAL,
        first_name=shop.seller_first_name,
        last_name=shop.seller_last_name,
        birth_date=shop.seller_birth_date,
        birth_city=shop.seller_birth_city,
        birth_country_code=CountryCode(shop.seller_birth_country),
        **common,
    )


def build_declaration(
    year: int,
    sellers: Iterable[SellerYear] | None = None,
    *,
    declaration_id: int = 1,
    now: dt.datetime | None = None,
) -> BuiltDeclaration:
    """The year's XML declaration, validated against the DGFiP schema the ``dac7`` package ships.

    Reportable sellers whose data is missing are left out (and listed): the manager sees them in the report.
    """
    from dac7.constants import Env
    from dac7.core import build_filename_from_xml_data, json_to_xml
    from dac7.models.flat import (
        Declaration,
        OtherPlatformOperators,
        ReportableEntitySeller,
        ReportableIndividualSeller,
    )

    sellers = list(sellers if sellers is not None else year_figures(year))
    reportable = [seller for seller in sellers if seller.reportable]
    reported = [seller for seller in reportable if not seller.missing]
    left_out = [seller for seller in reportable if seller.missing]
    env = Env.PROD if current_app.config.get("APP_ENV") == "production" else Env.TEST
    entities = [
        model for seller in reported if isinstance(model := _seller_model(seller), ReportableEntitySeller)
    ]
    people = [
        model for seller in reported if isinstance(model := _seller_model(seller), ReportableIndividualSeller)
    ]
    declaration = Declaration(
        fiscal_year=year,
        declaration_id=declaration_id,
        timestamp=now or utcnow(),
        platform_operator=_platform_operator(),
        other_platform_operators=OtherPlatformOperators(),
        reportable_entity_sellers=entities,
        reportable_individual_sellers=people,
        env=env,
    )
    data = declaration.get_dpi().model_dump(by_alias=True, exclude_defaults=True, mode="json")
    try:
        xml = json_to_xml(json.dumps(data))
        filename = build_filename_from_xml_data(xml, declaration_id=declaration_id)  # validates it
    except Exception as error:  # xmlschema's errors: the schema refused what we built
        log.exception("DAC7 declaration of %d does not validate", year)
        raise DeclarationError(str(error)) from error
    return BuiltDeclaration(filename=filename, xml=xml, reported=reported, left_out=left_out)


# -- reminders and withholding --------------------------------------------------------------------


def _recipients(shop: Shop) -> list[tuple[str, str]]:
    people = [(shop.email, "fr")] if shop.email else []
    people += [
        (owner.email, owner.locale)
        for owner in vendor_services.owners(shop)
        if owner.email and owner.email != shop.email
    ]
    return people


def _write(shop: Shop, template: str, subject: Any, **context: Any) -> None:
    url = external_url("vendors_backoffice.tax_details", slug=shop.slug)
    missing = [vendor_services.DAC7_FIELDS[key] for key in vendor_services.dac7_missing(shop)]
    for address, locale in _recipients(shop):
        mail.send(address, subject, template, locale=locale, shop=shop, url=url, missing=missing, **context)


def chase_missing_data(now: dt.datetime | None = None) -> dict[str, int]:
    """Job step: remind open shops whose DAC7 data is missing (every 7 days, twice), then withhold their
    payouts; release those whose data is now complete. Each shop is locked while it is handled, so two
    runs never remind twice."""
    now = now or utcnow()
    done = {"reminded": 0, "withheld": 0, "released": 0}
    ids = db.session.scalars(
        sa.select(Shop.id).where(Shop.status == ShopStatus.APPROVED).order_by(Shop.id)
    ).all()
    for shop_id in ids:
        shop = db.session.scalar(locked(sa.select(Shop).where(Shop.id == shop_id)))
        if shop is None:
            continue
        step = _chase(shop, now)
        if step:
            done[step] += 1
    return done


def _chase(shop: Shop, now: dt.datetime) -> str | None:
    if not vendor_services.dac7_missing(shop):
        if shop.payouts_withheld_at is None:
            return None
        shop.payouts_withheld_at = None
        shop.dac7_reminders = 0
        shop.dac7_reminded_at = None
        return "released"
    if shop.payouts_withheld_at is not None:
        return None
    if shop.dac7_reminded_at is not None and now - shop.dac7_reminded_at < REMINDER_INTERVAL:
        return None
    if shop.dac7_reminders < REMINDERS_BEFORE_WITHHOLDING:
        shop.dac7_reminders += 1
        shop.dac7_reminded_at = now
        _write(
            shop,
            "payouts/dac7_reminder",
            _l("Informations fiscales à compléter (DAC7)"),
            reminder=shop.dac7_reminders,
            last=shop.dac7_reminders == REMINDERS_BEFORE_WITHHOLDING,
        )
        return "reminded"
    shop.payouts_withheld_at = now
    _write(shop, "payouts/dac7_withheld", _l("Virements suspendus : informations fiscales manquantes (DAC7)"))
    return "withheld"


# -- the sellers' statements ----------------------------------------------------------------------


def send_statements(year: int) -> int:
    """E-mail each reported seller its statement of ``year`` (once: a second run sends nothing)."""
    sent = 0
    for seller in year_figures(year):
        if not seller.reportable:
            continue
        exists = db.session.scalar(
            sa.select(Dac7Statement.id).where(
                Dac7Statement.shop_id == seller.shop.id, Dac7Statement.year == year
            )
        )
        if exists is not None:
            continue
        db.session.add(Dac7Statement(shop_id=seller.shop.id, year=year))
        db.session.flush()
        url = external_url("payouts_backoffice.dac7_statement", slug=seller.shop.slug, year=year)
        for address, locale in _recipients(seller.shop):
            mail.send(
                address,
                _l("Votre relevé DAC7 %(year)d", year=year),
                "payouts/dac7_statement",
                locale=locale,
                shop=seller.shop,
                seller=seller,
                year=year,
                url=url,
            )
        sent += 1
    return sent


def statement_years(shop: Shop) -> list[int]:
    """The years a seller's statement was sent for, newest first."""
    return list(
        db.session.scalars(
            sa.select(Dac7Statement.year)
            .where(Dac7Statement.shop_id == shop.id)
            .order_by(Dac7Statement.year.desc())
        )
    )


def statement_pdf(seller: SellerYear, locale: str) -> bytes:
    """The seller's own DAC7 statement: what the platform reports of it for the year, quarter by quarter."""
    from flask_babel import force_locale
    from flask_babel import gettext as _

    from app.money import format_money
    from app.pdf import new_document, output

    shop = seller.shop
    with force_locale(locale):
        title = _("Relevé DAC7 %(year)d", year=seller.year)
        pdf = new_document(
            heading=current_app.config["PLATFORM_LEGAL_NAME"],
            reference=shop.legal_name or shop.name,
            title=title,
            author=current_app.config["PLATFORM_LEGAL_NAME"],
            locale=locale,
        )
        pdf.title_line(title)
        pdf.paragraph(
            _(
                "Informations communiquées à l’administration fiscale par %(platform)s, opérateur de "
                "plateforme, en application de l’article 1649 ter A du Code général des impôts "
                "(directive (UE) 2021/514).",
                platform=current_app.config["PLATFORM_LEGAL_NAME"],
            ),
            gap=3,
        )
        if shop.seller_kind == SellerKind.INDIVIDUAL:
            identity = f"{shop.seller_first_name} {shop.seller_last_name}".strip()
        else:
            identity = shop.legal_name or shop.name
        pdf.field(_("Vendeur :"), identity)
        pdf.field(_("Adresse :"), f"{shop.street}, {shop.postcode} {shop.city}")
        pdf.field(_("Numéro d’identification fiscale :"), shop.tax_number or "—")
        if shop.vat_number:
            pdf.field(_("N° TVA intracommunautaire :"), shop.vat_number)
        pdf.field(_("Compte bancaire :"), shop.payout_account_masked or "—")
        pdf.ln(2)
        for number, quarter in enumerate(seller.quarters, start=1):
            pdf.paragraph(
                _(
                    "T%(number)d : %(sales)d ventes, contrepartie %(amount)s, commissions et frais %(fees)s, "
                    "taxes %(taxes)s",
                    number=number,
                    sales=quarter.sales,
                    amount=format_money(quarter.consideration_cents),
                    fees=format_money(quarter.fees_cents),
                    taxes=format_money(quarter.taxes_cents),
                ),
                gap=1,
            )
        pdf.ln(2)
        pdf.paragraph(
            _(
                "Année : %(sales)d ventes, contrepartie %(amount)s, commissions et frais %(fees)s, "
                "taxes %(taxes)s.",
                sales=seller.sales,
                amount=format_money(seller.consideration_cents),
                fees=format_money(seller.fees_cents),
                taxes=format_money(seller.taxes_cents),
            ),
            bold=True,
        )
        if not seller.reportable:
            pdf.paragraph(
                _(
                    "Sous les seuils (moins de 30 ventes et moins de 2 000 €) : vous n’êtes pas déclaré "
                    "cette année."
                ),
                gap=2,
            )
        return output(pdf)
