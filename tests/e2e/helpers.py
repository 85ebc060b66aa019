"""Steps shared by the browser tests: signing up, confirming from the dev mailbox, logging in and out.

Each step checks what a person would see before moving on. Steps that pass through screens worth
looking at take an optional ``shots`` (a :class:`Shots`), which numbers the screenshots in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from playwright.sync_api import expect

from tests.plugins.browser import screenshot

PASSWORD = "un-mot-de-passe-solide"


@dataclass(frozen=True)
class Person:
    email: str
    first_name: str
    last_name: str
    password: str = PASSWORD


class Shots:
    """Numbered screenshots of one test: ``shots("home")`` writes ``<prefix>01-home-<viewport>.png``."""

    def __init__(self, page: Any, prefix: str = "") -> None:
        self.page = page
        self.prefix = prefix
        self.count = 0

    def __call__(self, name: str) -> None:
        self.count += 1
        screenshot(self.page, f"{self.prefix}{self.count:02d}-{name}")


def _shoot(shots: Shots | None, name: str) -> None:
    if shots is not None:
        shots(name)


def open_account_menu(page: Any) -> Any:
    """Open the header's account menu (a <details>, on every viewport) and return it."""
    menu = page.get_by_role("banner").locator("details.account-menu")
    if menu.get_attribute("open") is None:
        menu.locator("summary").click()
    expect(menu).to_have_attribute("open", "")
    return menu


def fill_sign_up_form(page: Any, person: Person) -> None:
    """On the sign-up page: fill every field and accept the terms (without sending)."""
    main = page.get_by_role("main")
    main.get_by_label("Prénom", exact=True).fill(person.first_name)
    main.get_by_label("Nom", exact=True).fill(person.last_name)
    main.get_by_label("Adresse e-mail", exact=True).fill(person.email)
    main.get_by_label("Mot de passe", exact=True).fill(person.password)
    main.get_by_label("J’accepte les conditions", exact=False).check()


def send_sign_up_form(page: Any, person: Person, shots: Shots | None = None) -> None:
    """Send the filled sign-up form: the page asks to check the inbox."""
    page.get_by_role("main").get_by_role("button", name="Créer mon compte").click()
    expect(page.get_by_role("heading", level=1, name="Vérifiez vos e-mails")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(
        f"Nous avons envoyé un lien de confirmation à {person.email}."
    )
    _shoot(shots, "check-inbox")


def sign_up(page: Any, person: Person, shots: Shots | None = None) -> None:
    """From the home page's account menu, create an account."""
    page.goto("/")
    open_account_menu(page).get_by_role("link", name="Créer un compte").click()
    expect(page).to_have_url(re.compile(r"/inscription$"))
    fill_sign_up_form(page, person)
    _shoot(shots, "signup-filled")
    send_sign_up_form(page, person, shots)


def confirm_from_mailbox(page: Any, person: Person, shots: Shots | None = None) -> None:
    """Open the confirmation message in the dev mailbox and follow its link: back to the login page."""
    page.goto("/dev/mailbox")
    message = page.get_by_role("main").get_by_role("listitem").filter(has_text=person.email)
    expect(message).to_have_count(1)
    _shoot(shots, "mailbox")
    message.get_by_role("link", name="Confirmez votre adresse e-mail").click()
    expect(page.get_by_role("heading", level=1, name="Confirmez votre adresse e-mail")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(f"Bonjour {person.first_name},")
    _shoot(shots, "message")
    page.get_by_role("main").get_by_role("link", name=re.compile(r"\Wconfirmer\W")).click()
    expect(page).to_have_url(re.compile(r"/connexion$"))
    expect(page.get_by_role("status")).to_contain_text("Votre adresse e-mail est confirmée")
    _shoot(shots, "confirmed")


def log_in(page: Any, person: Person, shots: Shots | None = None) -> None:
    """Log in with e-mail and password (from the header's menu unless already on the login page)."""
    if not re.search(r"/connexion(\?|$)", page.url):
        open_account_menu(page).get_by_role("link", name="Se connecter").click()
        expect(page).to_have_url(re.compile(r"/connexion(\?|$)"))
    main = page.get_by_role("main")
    main.get_by_label("Adresse e-mail", exact=True).fill(person.email)
    main.get_by_label("Mot de passe", exact=True).fill(person.password)
    main.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("status")).to_contain_text(f"Bonjour {person.first_name}, vous êtes connecté.")
    _shoot(shots, "logged-in")


def log_out(page: Any) -> None:
    """Log out from the header's menu."""
    open_account_menu(page).get_by_role("button", name="Se déconnecter").click()
    expect(page.get_by_role("status")).to_contain_text("Vous êtes déconnecté.")
    expect(page.get_by_role("banner").locator("details.account-menu summary")).to_have_text("Compte")
