"""A person signs up, confirms their address from the mailbox, logs in and switches the language."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    Person,
    Shots,
    confirm_from_mailbox,
    fill_sign_up_form,
    log_in,
    open_account_menu,
    send_sign_up_form,
)

pytestmark = pytest.mark.e2e

FIRST_NAME = "Camille"
LAST_NAME = "Durand"


def test_sign_up_confirm_log_in_and_switch_language(page: Any) -> None:
    person = Person(f"e2e-{page.viewport_name}@example.com", FIRST_NAME, LAST_NAME)
    shots = Shots(page)

    # 1. From the home page, the account menu leads to the sign-up form.
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    shots("home")
    open_account_menu(page).get_by_role("link", name="Créer un compte").click()
    expect(page).to_have_url(re.compile(r"/inscription$"))
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", level=1, name="Créer un compte")).to_be_visible()

    # Submitting it empty shows each error next to its field, tied to the input.
    main.get_by_role("button", name="Créer mon compte").click()
    expect(main.get_by_role("alert")).to_contain_text("Corrigez les champs signalés ci-dessous.")
    expected_errors = {
        "Prénom": "Indiquez votre prénom.",
        "Nom": "Indiquez votre nom.",
        "Adresse e-mail": "Indiquez votre adresse e-mail.",
        "Mot de passe": "Choisissez un mot de passe.",
        "J’accepte les conditions d’utilisation et la politique de confidentialité": (
            "Vous devez accepter les conditions pour créer un compte."
        ),
    }
    for label, error in expected_errors.items():
        field = main.get_by_label(label, exact=True)
        expect(field).to_have_attribute("aria-invalid", "true")
        expect(field).to_have_accessible_description(re.compile(re.escape(error)))
        expect(main.get_by_text(error, exact=True)).to_be_visible()
    shots("signup-errors")

    fill_sign_up_form(page, person)
    shots("signup-filled")
    send_sign_up_form(page, person, shots)

    # 2. The confirmation message, in the development mailbox.
    confirm_from_mailbox(page, person, shots)

    # 3. Log in.
    log_in(page, person)
    menu = open_account_menu(page)
    expect(menu.locator("summary")).to_have_text(FIRST_NAME)
    expect(menu.get_by_role("link", name="Mon compte")).to_be_visible()
    expect(menu.get_by_role("button", name="Se déconnecter")).to_be_visible()
    shots("logged-in")

    # 4. Switch to English, then back to French, with the header links.
    page.get_by_test_id("lang-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("contentinfo")).to_contain_text("Your town’s shops, online.")
    expect(page.get_by_role("button", name="Search")).to_be_visible()
    menu = open_account_menu(page)
    expect(menu.get_by_role("link", name="My account")).to_be_visible()
    expect(menu.get_by_role("button", name="Log out")).to_be_visible()
    shots("english")

    page.get_by_test_id("lang-fr").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("contentinfo")).to_contain_text("Les commerces de la ville, en ligne.")
    expect(page.get_by_role("button", name="Rechercher")).to_be_visible()
    menu = open_account_menu(page)
    expect(menu.get_by_role("link", name="Mon compte")).to_be_visible()
    expect(menu.get_by_role("button", name="Se déconnecter")).to_be_visible()
    shots("french-again")
