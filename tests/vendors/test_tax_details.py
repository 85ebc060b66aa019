"""The seller's DAC7 data in its back office: check digits with python-stdnum, a birth date that is not
in the future, the missing data listed, only the owner, and the masked IBAN read from Stripe."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from flask import Flask

from app.extensions import db
from tests.catalog.test_categories import field_errors
from tests.factories import PASSWORD, ShopFactory, ShopMemberFactory, UserFactory, owner_of
from tests.plugins.application import Client
from tests.plugins.stripe import StripeEmulator
from vendors import services, validators
from vendors.models import MemberRole, SellerKind, Shop

URL = "/vendeur/atelier/informations-fiscales"
PERSON = {
    "kind": "individual",
    "tax_number": "30 23 217 600 053",
    "first_name": "Lucie",
    "last_name": "Moreau",
    "birth_date": "1984-05-02",
    "birth_city": "Tours",
    "birth_country": "fr",
}


@pytest.fixture
def shop(app_ctx: Flask) -> Shop:
    member = owner_of(ShopFactory(name="Atelier", slug="atelier"), email="owner@example.com")
    db.session.commit()
    return member.shop


def _login(client: Client, email: str = "owner@example.com") -> None:
    assert client.submit("/connexion", {"email": email, "password": PASSWORD}).status_code == 302


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(page))


def test_tax_numbers_are_checked_by_their_check_digits() -> None:
    assert validators.normalize_tax_number("732 829 320", "FR", company=True) == "732829320"
    assert validators.normalize_tax_number("3023217600053", "FR", company=False) == "3023217600053"
    assert validators.normalize_tax_number("0403.170.701", "BE", company=True) == "0403170701"
    assert validators.normalize_tax_number("85.07.30-033.28", "BE", company=False) == "85073003328"
    for number, company in (("732829321", True), ("3023217600054", False), ("12345", True)):
        with pytest.raises(validators.InvalidIdentifier):
            validators.normalize_tax_number(number, "FR", company=company)


def test_a_siren_with_a_wrong_check_digit_is_refused_on_its_field(shop: Shop, client: Client) -> None:
    _login(client)
    response = client.submit(URL, {"kind": "company", "tax_number": "732 829 321"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert field_errors(page, "tax_number") == [
        "Ce numéro SIREN n’est pas valide (9 chiffres, clé de contrôle)."
    ]
    db.session.refresh(shop)
    assert (shop.seller_kind, shop.tax_number) == (None, "")


def test_a_personal_tax_number_with_a_wrong_check_digit_is_refused(shop: Shop, client: Client) -> None:
    _login(client)
    page = client.submit(URL, {**PERSON, "tax_number": "3023217600054"}).get_data(as_text=True)
    assert field_errors(page, "tax_number") == [
        "Ce numéro fiscal n’est pas valide (13 chiffres, clé de contrôle)."
    ]


def test_a_birth_date_in_the_future_is_refused_on_its_field(shop: Shop, client: Client) -> None:
    _login(client)
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()
    page = client.submit(URL, {**PERSON, "birth_date": tomorrow}).get_data(as_text=True)
    assert field_errors(page, "birth_date") == ["La date de naissance ne peut pas être dans le futur."]
    db.session.refresh(shop)
    assert shop.seller_birth_date is None


def test_a_person_is_saved_and_nothing_is_missing_any_more(shop: Shop, client: Client) -> None:
    _login(client)
    page = _text(client.get(URL).get_data(as_text=True))
    assert 'data-testid="dac7-missing"' in page
    assert "numéro d’identification fiscale" in page
    response = client.submit(URL, PERSON)
    assert response.status_code == 302
    db.session.refresh(shop)
    assert (shop.seller_kind, shop.tax_number, shop.seller_birth_country) == (
        SellerKind.INDIVIDUAL,
        "3023217600053",
        "FR",
    )
    assert services.dac7_missing(shop) == []
    assert 'data-testid="dac7-missing"' not in client.get(URL).get_data(as_text=True)


def test_a_company_offers_its_siren_from_the_siret_and_needs_no_birth_date(shop: Shop) -> None:
    owner = next(member for member in shop.members if member.is_owner)
    services.update_tax_details(owner, services.TaxDetails(kind=SellerKind.COMPANY, tax_number="732829320"))
    assert services.dac7_missing(shop) == []
    shop.vat_number = ""
    assert services.dac7_missing(shop) == ["vat_number"]


def test_only_the_owner_gives_the_tax_details(shop: Shop, client: Client) -> None:
    ShopMemberFactory(shop=shop, user=UserFactory(email="staff@example.com"), role=MemberRole.STAFF)
    db.session.commit()
    _login(client, "staff@example.com")
    assert client.get(URL).status_code == 403


def test_the_masked_iban_is_read_from_the_stripe_account(shop: Shop, stripe_api: StripeEmulator) -> None:
    from payouts import gateway

    owner = next(member for member in shop.members if member.is_owner)
    account = gateway.create_express_account(
        shop_id=shop.id, email="owner@example.com", country="FR", business_name=shop.name
    )
    shop.stripe_account_id = account.id
    services.refresh_payouts_status(owner)
    assert shop.payout_account_masked == ""  # onboarding not done: no bank account yet
    stripe_api.control("POST", f"accounts/{account.id}/complete")
    services.refresh_payouts_status(owner)
    assert shop.payout_account_masked == "FR •••• 2606"
