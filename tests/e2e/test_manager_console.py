"""The manager on the phone with a shopper: finds the order in the console, sends its confirmation again."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from app import mail
from app.demo import SHOPPER_EMAIL
from tests.e2e.test_money_screens import manager_log_in, paid_order
from tests.e2e.test_product_editing import load_demo_town
from tests.plugins.browser import LiveServer, screenshot

pytestmark = pytest.mark.e2e

PHONE_WIDTH = 390


def fits(page: Any, name: str) -> None:
    screenshot(page, f"console-{name}")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE_WIDTH, f"{name} is {width}px wide on a {PHONE_WIDTH}px phone"


def confirmations(live_server: LiveServer, number: str) -> int:
    with live_server.app.app_context():
        return sum(
            1
            for message in mail.outbox_messages()
            if message.to == SHOPPER_EMAIL and message.subject == f"Commande {number} confirmée"
        )


def test_the_manager_finds_an_order_and_resends_its_confirmation(
    phone_page: Any, live_server: LiveServer
) -> None:
    load_demo_town(live_server)
    number = paid_order(live_server)[0]
    page = phone_page
    manager_log_in(page, live_server)
    before = confirmations(live_server, number)

    page.goto("/gestion/commandes")
    main = page.get_by_role("main")
    main.get_by_label("Numéro de commande ou e-mail du client").fill(number)
    main.get_by_label("État").select_option(label="payée, à accepter")
    main.get_by_role("button", name="Chercher").click()
    expect(main.get_by_test_id("found-orders").get_by_role("listitem")).to_have_count(1)
    expect(main.get_by_test_id("found-orders")).to_contain_text(number)
    fits(page, "found")

    main.get_by_role("link", name=number).click()
    emails = main.get_by_test_id("emails")
    confirmation = emails.get_by_role("listitem").filter(has_text="Confirmation de commande")
    expect(confirmation).to_have_count(1)
    fits(page, "order")
    confirmation.get_by_role("button", name="Renvoyer au client").click()
    expect(page.get_by_role("status")).to_contain_text(f"E-mail renvoyé à {SHOPPER_EMAIL}.")
    expect(emails.get_by_role("listitem").filter(has_text="Confirmation de commande")).to_have_count(2)
    expect(main.get_by_test_id("audit")).to_contain_text("E-mail renvoyé au client")
    fits(page, "resent")
    assert confirmations(live_server, number) == before + 1
