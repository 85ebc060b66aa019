"""A person signs up, confirms their address from the mailbox, logs in and switches the language."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.plugins.browser import screenshot

pytestmark = pytest.mark.e2e

PASSWORD = "un-mot-de-passe-solide"
FIRST_NAME = "Camille"
LAST_NAME = "Durand"


def open_account_menu(page: Any) -> Any:
    """Open the header's account menu (a <details>, on every viewport) and return it."""
    menu = page.get_by_role("banner").locator("details.account-menu")
    if menu.get_attribute("open") is None:
        menu.locator("summary").click()
    expect(menu).to_have_attribute("open", "")
    return menu


def test_sign_up_confirm_log_in_and_switch_language(page: Any) -> None:
    email = f"e2e-{page.viewport_name}@example.com"

    # 1. From the home page, the account menu leads to the sign-up form.
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    screenshot(page, "01-home")
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
    screenshot(page, "02-signup-errors")

    main.get_by_label("Prénom", exact=True).fill(FIRST_NAME)
    main.get_by_label("Nom", exact=True).fill(LAST_NAME)
    main.get_by_label("Adresse e-mail", exact=True).fill(email)
    main.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    main.get_by_label("J’accepte les conditions", exact=False).check()
    screenshot(page, "03-signup-filled")
    main.get_by_role("button", name="Créer mon compte").click()

    expect(page.get_by_role("heading", level=1, name="Vérifiez vos e-mails")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(f"Nous avons envoyé un lien de confirmation à {email}.")
    screenshot(page, "04-check-inbox")

    # 2. The confirmation message, in the development mailbox.
    page.goto("/dev/mailbox")
    message = page.get_by_role("main").get_by_role("listitem").filter(has_text=email)
    expect(message).to_have_count(1)
    screenshot(page, "05-mailbox")
    message.get_by_role("link", name="Confirmez votre adresse e-mail").click()
    expect(page.get_by_role("heading", level=1, name="Confirmez votre adresse e-mail")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(f"Bonjour {FIRST_NAME},")
    screenshot(page, "06-message")
    page.get_by_role("main").get_by_role("link", name=re.compile(r"\Wconfirmer\W")).click()

    expect(page).to_have_url(re.compile(r"/connexion$"))
    expect(page.get_by_role("status")).to_contain_text("Votre adresse e-mail est confirmée")
    screenshot(page, "07-confirmed")

    # 3. Log in.
    main = page.get_by_role("main")
    main.get_by_label("Adresse e-mail", exact=True).fill(email)
    main.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    main.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("status")).to_contain_text(f"Bonjour {FIRST_NAME}, vous êtes connecté.")
    menu = open_account_menu(page)
    expect(menu.locator("summary")).to_have_text(FIRST_NAME)
    expect(menu.get_by_role("link", name="Mon compte")).to_be_visible()
    expect(menu.get_by_role("button", name="Se déconnecter")).to_be_visible()
    screenshot(page, "08-logged-in")

    # 4. Switch to English, then back to French, with the header links.
    page.get_by_test_id("lang-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("contentinfo")).to_contain_text("Your town’s shops, online.")
    expect(page.get_by_role("button", name="Search")).to_be_visible()
    menu = open_account_menu(page)
    expect(menu.get_by_role("link", name="My account")).to_be_visible()
    expect(menu.get_by_role("button", name="Log out")).to_be_visible()
    screenshot(page, "09-english")

    page.get_by_test_id("lang-fr").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("contentinfo")).to_contain_text("Les commerces de la ville, en ligne.")
    expect(page.get_by_role("button", name="Rechercher")).to_be_visible()
    menu = open_account_menu(page)
    expect(menu.get_by_role("link", name="Mon compte")).to_be_visible()
    expect(menu.get_by_role("button", name="Se déconnecter")).to_be_visible()
    screenshot(page, "10-french-again")
