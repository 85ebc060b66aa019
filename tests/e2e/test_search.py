"""A shopper searches the demo town's catalogue from a phone: autocomplete, results, a facet, a typo."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import Shots
from tests.e2e.test_product_editing import load_demo_town
from tests.plugins.browser import LiveServer

pytestmark = pytest.mark.e2e


def test_a_shopper_finds_a_cheese_then_narrows_a_book_search(
    phone_page: Any, live_server: LiveServer
) -> None:
    load_demo_town(live_server)
    page = phone_page
    shots = Shots(page, "search-")
    page.goto(f"{live_server.url}/")

    box = page.get_by_role("combobox", name="Rechercher un produit ou une boutique")
    box.fill("crott")
    suggestion = page.get_by_role("option", name="Crottin de Chavignol")
    expect(suggestion).to_be_visible()
    shots("autocomplete")
    suggestion.click()
    expect(page).to_have_url(re.compile(r"/recherche\?q=Crottin"))
    expect(page.locator(".product-card__title mark").first).to_have_text("Crottin")
    shots("results")

    box = page.get_by_role("combobox", name="Rechercher un produit ou une boutique")
    box.fill("livre jeunesse 3-6 ans")
    box.press("Enter")
    expect(page.get_by_role("heading", name="Résultats pour « livre jeunesse 3-6 ans »")).to_be_visible()
    expect(page.get_by_text("dans 2 boutiques").first).to_be_visible()
    filters = page.locator("details.filters")
    expect(filters).not_to_have_attribute("open", "")  # folded away on a phone
    filters.locator("summary").click()
    shops = page.locator(".facet").filter(has=page.get_by_role("heading", name="Boutique", exact=True))
    shop = shops.get_by_role("link").first
    count = shop.locator(".muted").inner_text().strip()
    shop_name = shop.inner_text().strip().removesuffix(count).strip()
    shop.click()
    expect(page.get_by_role("status")).to_have_text(re.compile(rf"^{count} produits?$"))
    page.locator("details.filters summary").click()
    expect(shops.get_by_role("link", name=f"× {shop_name}")).to_be_visible()
    shots("facet")

    box = page.get_by_role("combobox", name="Rechercher un produit ou une boutique")
    box.fill("chavignolle fermierrr")
    box.press("Enter")
    expect(page.get_by_role("heading", name="Aucun produit ne correspond.")).to_be_visible()
    page.locator(".did-you-mean a").click()
    expect(page.locator(".product-card__title").first).to_contain_text("Chavignol")
    shots("did-you-mean")
