"""A shopper fills a cart from two shops on a phone and chooses how each part reaches them (with a
pickup slot for click & collect)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import Shots
from tests.e2e.test_product_editing import load_demo_town
from tests.plugins.browser import LiveServer

pytestmark = pytest.mark.e2e


def add_from_search(page: Any, live_server: LiveServer, text: str, quantity: str = "1") -> None:
    page.goto(f"{live_server.url}/recherche?q={text}")
    page.locator(".product-card a").first.click()
    page.get_by_label("Quantité").fill(quantity)
    page.get_by_role("button", name="Ajouter au panier").click()
    expect(page.locator(".flash--success")).to_contain_text("est dans votre panier")


def test_a_cart_from_two_shops_with_a_delivery_choice_each(phone_page: Any, live_server: LiveServer) -> None:
    load_demo_town(live_server)
    page = phone_page
    shots = Shots(page, "cart-")
    add_from_search(page, live_server, "baguette", "2")
    add_from_search(page, live_server, "muscadet")
    expect(page.locator(".cart-link__count")).to_have_text("3")

    page.locator(".cart-link").click()
    parts = page.locator(".cart-part")
    expect(parts).to_have_count(2)
    shots("two-shops")

    bakery = parts.filter(has_text="Baguette tradition")
    bakery.get_by_label(re.compile("Retrait en boutique")).check()
    slot = bakery.get_by_label("Créneau de retrait en boutique")
    slot.select_option(index=1)  # the first slot (the first option only asks to choose)
    chosen = slot.locator("option:checked").inner_text()
    bakery.get_by_role("button", name="Choisir").click()
    expect(bakery.get_by_test_id("pickup-slot")).to_contain_text(chosen)
    cellar = page.locator(".cart-part").filter(has_text="Muscadet")
    cellar.get_by_label(re.compile("Envoi à domicile")).check()
    cellar.get_by_role("button", name="Choisir").click()

    expect(page.get_by_role("link", name="Commander")).to_be_visible()
    total = page.get_by_test_id("cart-total").inner_text()
    assert re.match(r"^\d+,\d\d\s€$", total.replace("\u202f", " ").replace("\xa0", " "))
    shots("delivery-chosen")
