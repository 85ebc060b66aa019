"""What Stripe still asks for reads as words on the Payments page, never as Stripe's field names."""

from __future__ import annotations

import re

import pytest
from flask import Flask

from tests.factories import PASSWORD, ShopFactory, owner_of
from tests.plugins.application import Client
from vendors.stripe_requirements import label, labels

RAW = [
    "representative.dob.day",
    "representative.dob.month",
    "representative.dob.year",
    "external_account",
    "individual.verification.document",
    "business_profile.url",
    "tos_acceptance.date",
    "company.tax_id",
    "person_1NbXyZ2eZvKYlo2C.address.city",
    "business_profile.annual_revenue",
    "something_new.with_parts",
]


@pytest.mark.parametrize(
    ("requirement", "expected"),
    [
        ("external_account", "Compte bancaire (IBAN) qui recevra vos virements"),
        ("business_profile.url", "Site web ou page qui présente votre activité"),
        ("tos_acceptance.date", "Acceptation du contrat de service de Stripe"),
        ("company.tax_id", "Numéro d’identification de l’entreprise (SIREN, numéro BCE)"),
        ("representative.dob.day", "Date de naissance (représentant légal)"),
        ("individual.verification.document", "Pièce d’identité (carte d’identité ou passeport)"),
        ("individual.first_name", "Prénom"),
        ("person_1NbXyZ2eZvKYlo2C.address.city", "Adresse personnelle (une personne de l’entreprise)"),
        ("owners.email", "Adresse e-mail (associés qui détiennent plus de 25 %)"),
        ("company.address.postal_code", "Adresse du siège de l’entreprise"),
        (
            "documents.company_registration_verification.files",
            "Justificatif d’immatriculation de l’entreprise (extrait Kbis)",
        ),
        ("representative.favourite_colour", "Information « favourite colour » (représentant légal)"),
        ("company.new_field", "Entreprise : new field"),
        (
            "business_profile.annual_revenue",
            "Autre information demandée par Stripe : « business profile, annual revenue »",
        ),
    ],
)
def test_each_requirement_has_a_label(app: Flask, requirement: str, expected: str) -> None:
    with app.test_request_context("/"):
        assert label(requirement) == expected


def test_no_label_is_a_raw_dotted_name(app: Flask) -> None:
    with app.test_request_context("/"):
        made = labels(RAW)
    assert made.count("Date de naissance (représentant légal)") == 1, "day, month and year are one date"
    assert len(made) == len(RAW) - 2
    for text in made:
        assert not re.search(r"\w\.\w", text), text
        assert "_" not in text, text


def test_the_payments_page_shows_the_labels(client: Client) -> None:
    shop = ShopFactory(slug="la-cave", stripe_account_id="acct_123", stripe_requirements=RAW)
    owner_of(shop, email="owner@example.com")
    client.submit("/connexion", {"email": "owner@example.com", "password": PASSWORD})
    html = client.get("/vendeur/la-cave/paiements").get_data(as_text=True)
    listed = html.split('data-testid="stripe-requirements">', 1)[1].split("</ul>", 1)[0]
    assert "Date de naissance (représentant légal)" in listed
    assert "Compte bancaire (IBAN) qui recevra vos virements" in listed
    for raw in RAW:
        assert raw not in html, raw
