"""On a phone, a visitor saves a product and follows a shop before having logged in, logs in, and finds
both on the favourites page. The pages carrying schema.org data raise no Content-Security-Policy report."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from app.extensions import db
from tests.e2e.helpers import Person, Shots, log_in
from tests.factories import PASSWORD, ProductFactory, ShopFactory, UserFactory
from tests.plugins.browser import LiveServer

pytestmark = pytest.mark.e2e


def test_a_guest_saves_and_follows_then_finds_them_after_logging_in(
    phone_page: Any, live_server: LiveServer
) -> None:
    with live_server.app.app_context():
        shop = ShopFactory(name="Miellerie des Coteaux", slug="miellerie-des-coteaux")
        product = ProductFactory(shop=shop, title="Miel de châtaignier")
        user = UserFactory(email="lea.favoris@example.com", first_name="Léa", last_name="Martin")
        person = Person(user.email, user.first_name, user.last_name, PASSWORD)
        product_url, shop_url = f"/produits/{product.id}", f"/boutiques/{shop.slug}"
        db.session.remove()
    page = phone_page
    shots = Shots(page, "favourites-")
    reports: list[str] = []
    page.on("console", lambda message: reports.append(message.text))
    # Any policy violation is also told to the page; say it on the console too.
    page.add_init_script(
        "document.addEventListener('securitypolicyviolation',"
        " (event) => console.error('CSP violation: ' + event.violatedDirective));"
    )

    page.goto(product_url)
    page.get_by_role("main").get_by_role("button", name="Ajouter à mes favoris").first.click()
    expect(page.locator(".flash--success")).to_contain_text("Miel de châtaignier")
    expect(page.locator('script[type="application/ld+json"]')).to_have_count(1)
    expect(page.get_by_role("main").get_by_role("button", name="Dans mes favoris").first).to_have_attribute(
        "aria-pressed", "true"
    )
    shots("saved")

    page.goto(shop_url)
    page.get_by_role("main").get_by_role("button", name="Suivre").click()
    expect(page.locator(".flash--success")).to_contain_text("Vous suivez Miellerie des Coteaux")
    expect(page.locator('script[type="application/ld+json"]')).to_have_count(1)
    shots("followed")

    page.goto("/connexion")
    log_in(page, person)
    page.get_by_test_id("favourites-link").click()
    expect(page).to_have_url(re.compile(r"/favoris$"))
    main = page.get_by_role("main")
    expect(main.get_by_test_id("saved-products")).to_contain_text("Miel de châtaignier")
    expect(main.get_by_test_id("followed-shops")).to_contain_text("Miellerie des Coteaux")
    shots("favourites-page")

    # From a followed shop to one of its products.
    main.get_by_test_id("followed-shops").get_by_role("link", name="Miellerie des Coteaux").first.click()
    expect(page).to_have_url(re.compile(re.escape(shop_url) + "$"))
    page.get_by_role("main").get_by_role("link", name="Miel de châtaignier").first.click()
    expect(page).to_have_url(re.compile(re.escape(product_url) + "$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Miel de châtaignier")

    # The JSON-LD blocks are data, not script: the policy has nothing to refuse.
    assert not [text for text in reports if re.search("Content Security Policy|CSP violation", text)], reports
