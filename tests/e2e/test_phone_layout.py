"""Every main page fits a phone's width (390 px, and a small 320 px one): nothing scrolls sideways, for a
shopper with a full cart and for a shop owner. The cart asks for a relay point only when the shopper
chooses a relay point."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from app.demo import DEMO_PASSWORD, SHOPPER_EMAIL
from tests.e2e.helpers import Person, log_in
from tests.e2e.test_cart import add_from_search
from tests.e2e.test_product_editing import OWNER_EMAIL, SHOP_SLUG, load_demo_town
from tests.plugins.browser import LiveServer, screenshot

pytestmark = pytest.mark.e2e

SHOPPER = Person(SHOPPER_EMAIL, "Camille", "Martin", DEMO_PASSWORD)
WIDTHS = (390, 320)

# The elements sticking out on the right, to say what overflows when something does.
OVERFLOWING = """(width) => [...document.querySelectorAll("body *")]
  .map((element) => [element, Math.round(element.getBoundingClientRect().right)])
  .filter(([element, right]) => right > width)
  .slice(0, 5)
  .map(([element, right]) => `${element.tagName.toLowerCase()}.${element.className} → ${right}px`)"""


def assert_fits(page: Any, name: str) -> None:
    """The page is no wider than the screen at each of WIDTHS (then back to the phone's 390 px)."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 844})
        scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
        assert scroll_width <= width, (
            f"{name} is {scroll_width}px wide on a {width}px screen: {page.evaluate(OVERFLOWING, width)}"
        )
    page.set_viewport_size({"width": 390, "height": 844})


def visit(page: Any, path: str, name: str) -> None:
    page.goto(path)
    expect(page).to_have_url(re.compile(re.escape(path) + "$"))  # the page itself, not the login page
    screenshot(page, f"layout-{name}")
    assert_fits(page, name)


def choose(page: Any, product: str, method: str) -> None:
    part = page.locator(".cart-part").filter(has_text=product)
    part.get_by_label(re.compile(method)).check()
    if method == "Retrait en boutique":
        part.get_by_label("Créneau de retrait en boutique").select_option(index=1)
    part.get_by_role("button", name="Choisir").click()


def test_every_main_page_fits_a_phone_for_a_shopper_with_a_full_cart(
    phone_page: Any, live_server: LiveServer
) -> None:
    load_demo_town(live_server)
    page = phone_page
    page.goto("/")
    log_in(page, SHOPPER)
    add_from_search(page, live_server, "baguette", "2")
    add_from_search(page, live_server, "muscadet")
    expect(page.locator(".cart-link__count")).to_have_text("3")

    visit(page, "/", "home")
    visit(page, "/recherche?q=pain", "search")
    page.locator(".product-card a").first.click()
    assert_fits(page, "product")
    visit(page, f"/boutiques/{SHOP_SLUG}", "storefront")
    visit(page, "/boutiques", "directory")
    visit(page, "/panier", "cart")
    choose(page, "Baguette tradition", "Retrait en boutique")
    choose(page, "Muscadet", "Envoi à domicile")
    page.get_by_role("link", name="Commander").click()
    expect(page.get_by_role("heading", level=1, name="Votre commande")).to_be_visible()
    screenshot(page, "layout-checkout")
    assert_fits(page, "checkout")
    page.get_by_label("Téléphone").fill("06 12 34 56 78")
    page.get_by_label("Adresse", exact=True).fill("8 quai des Tanneurs")
    page.get_by_label("Code postal").fill("37000")
    page.get_by_label("Ville").fill("Bellerive-sur-Loire")
    page.get_by_label(re.compile("J’ai lu et j’accepte")).check()
    page.get_by_role("button", name="Continuer vers le paiement").click()
    expect(page).to_have_url(re.compile(r"/commandes/M-\d{4}-\d{6}/paiement$"))
    screenshot(page, "layout-payment")
    assert_fits(page, "payment")
    visit(page, "/compte", "account")
    visit(page, "/compte/commandes", "order-history")

    # The account menu opens inside the screen too.
    page.get_by_role("banner").locator("details.account-menu summary").click()
    menu = page.get_by_role("banner").locator("details.account-menu ul")
    expect(menu).to_be_visible()
    box = menu.bounding_box()
    assert box is not None
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= 390
    screenshot(page, "layout-account-menu")


def test_every_back_office_page_fits_a_phone_for_a_shop_owner(
    phone_page: Any, live_server: LiveServer
) -> None:
    load_demo_town(live_server)
    page = phone_page
    page.goto("/")
    log_in(page, Person(OWNER_EMAIL, owner_name(live_server), "", DEMO_PASSWORD))
    add_from_search(page, live_server, "muscadet")

    visit(page, "/", "owner-home")
    for path, name in (
        (f"/vendeur/{SHOP_SLUG}/", "backoffice-dashboard"),
        (f"/vendeur/{SHOP_SLUG}/produits", "backoffice-products"),
        (f"/vendeur/{SHOP_SLUG}/commandes", "backoffice-orders"),
        (f"/vendeur/{SHOP_SLUG}/finances", "backoffice-finances"),
        (f"/vendeur/{SHOP_SLUG}/avis", "backoffice-reviews"),
        (f"/vendeur/{SHOP_SLUG}/equipe", "backoffice-team"),
        (f"/vendeur/{SHOP_SLUG}/produits/nouveau", "backoffice-new-product"),
        (f"/vendeur/{SHOP_SLUG}/reglages/hours", "backoffice-hours"),
        (f"/vendeur/{SHOP_SLUG}/reglages/delivery", "backoffice-delivery"),
        (f"/vendeur/{SHOP_SLUG}/paiements", "backoffice-payments"),
    ):
        visit(page, path, name)


def owner_name(live_server: LiveServer) -> str:
    from app.accounts import services as accounts

    with live_server.app.app_context():
        user = accounts.find_by_email(OWNER_EMAIL)
        assert user is not None
        return user.first_name


def test_the_cart_asks_for_a_relay_point_only_when_one_is_chosen(page: Any, live_server: LiveServer) -> None:
    load_demo_town(live_server)
    add_from_search(page, live_server, "mimolette")  # the cheese shop of the halles delivers to relay points
    page.goto("/panier")
    part = page.locator(".cart-part").first
    relay = part.get_by_label("Point relais", exact=True)
    slot = part.get_by_label("Créneau de retrait en boutique")
    expect(relay).to_be_hidden()
    expect(slot).to_be_hidden()
    part.get_by_role("radio", name=re.compile("^Point relais")).check()
    expect(relay).to_be_visible()
    expect(slot).to_be_hidden()
    screenshot(page, "layout-cart-relay")
    part.get_by_role("radio", name=re.compile("^Retrait en boutique")).check()
    expect(relay).to_be_hidden()
    expect(slot).to_be_visible()
    part.get_by_role("radio", name=re.compile("^Point relais")).check()
    relay.select_option(index=1)
    chosen = relay.locator("option:checked").inner_text()
    part.get_by_role("button", name="Choisir").click()
    expect(relay).to_be_visible()
    expect(relay.locator("option:checked")).to_have_text(chosen)
    expect(page.get_by_role("link", name="Commander")).to_be_visible()
    part.get_by_role("radio", name=re.compile("^Livraison locale")).check()
    expect(relay).to_be_hidden()
