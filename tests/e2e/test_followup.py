"""The manager follows up the demo town's shops from a phone: a reminder to a shop without a payment
account, mailed once, then shown as sent."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from app import mail
from tests.e2e.test_manager_console import fits
from tests.e2e.test_money_screens import manager_log_in
from tests.e2e.test_product_editing import load_demo_town
from tests.plugins.browser import LiveServer

pytestmark = pytest.mark.e2e


def reminders(live_server: LiveServer) -> list[str]:
    with live_server.app.app_context():
        return [message.to for message in mail.outbox_messages() if "paiement" in message.subject.lower()]


def test_the_manager_reminds_a_shop_without_a_payment_account(
    phone_page: Any, live_server: LiveServer
) -> None:
    load_demo_town(live_server)
    page = phone_page
    manager_log_in(page, live_server)
    before = reminders(live_server)

    page.goto("/gestion/suivi/paiements")
    main = page.get_by_role("main")
    rows = main.get_by_test_id("followup-row")
    expect(rows.first).to_be_visible()
    fits(page, "followup")
    first = rows.first
    shop = first.get_by_role("link").first.inner_text()
    first.get_by_role("button", name="Envoyer une relance").click()
    expect(page.get_by_role("status")).to_contain_text(f"Relance envoyée à {shop}.")
    expect(main.get_by_test_id("followup-row").filter(has_text=shop)).to_contain_text("Relancée le")
    fits(page, "reminded")
    sent = reminders(live_server)
    assert len(sent) == len(before) + 1

    # A second click the same day mails nobody.
    main.get_by_test_id("followup-row").filter(has_text=shop).get_by_role(
        "button", name="Envoyer une relance"
    ).click()
    expect(page.get_by_role("status")).to_contain_text("Déjà relancée aujourd’hui")
    assert len(reminders(live_server)) == len(sent)
