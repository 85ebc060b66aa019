"""On a phone, a shopper buys from two shops in one payment (click & collect at one, home delivery at the
other); the bakery accepts and prepares its part; the shopper gets the pickup code and its QR code."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.demo import DEMO_PASSWORD, SHOPPER_EMAIL
from app.extensions import db
from app.orders.models import Order, VendorOrder
from tests.e2e.helpers import Person, Shots, log_in, log_out
from tests.e2e.test_cart import add_from_search
from tests.e2e.test_product_editing import load_demo_town
from tests.plugins.browser import LiveServer

pytestmark = pytest.mark.e2e

SHOPPER = Person(SHOPPER_EMAIL, "Camille", "Martin", DEMO_PASSWORD)


def plain(text: str) -> str:
    return text.replace("\u202f", " ").replace("\xa0", " ")


def bakery_owner(live_server: LiveServer, number: str) -> tuple[Person, str, int]:
    """The owner and slug of the shop of the order's click & collect part, and that part's id."""
    with live_server.app.app_context():
        part = db.session.scalars(
            sa.select(VendorOrder)
            .join(Order)
            .where(Order.number == number, VendorOrder.delivery_method == "click_collect")
        ).one()
        owner = next(member.user for member in part.shop.members if member.is_owner)
        return Person(owner.email, owner.first_name, owner.last_name, DEMO_PASSWORD), part.shop.slug, part.id


def test_a_shopper_pays_two_shops_at_once_and_collects_at_one(
    phone_page: Any, live_server: LiveServer
) -> None:
    load_demo_town(live_server)
    page = phone_page
    shots = Shots(page, "checkout-")
    page.goto(live_server.url)
    log_in(page, SHOPPER)
    add_from_search(page, live_server, "baguette", "2")
    add_from_search(page, live_server, "muscadet")
    page.locator(".cart-link").click()

    bakery = page.locator(".cart-part").filter(has_text="Baguette tradition")
    bakery.get_by_label(re.compile("Retrait en boutique")).check()
    bakery.get_by_label("Créneau de retrait en boutique").select_option(index=1)
    bakery.get_by_role("button", name="Choisir").click()
    cellar = page.locator(".cart-part").filter(has_text="Muscadet")
    cellar.get_by_label(re.compile("Envoi à domicile")).check()
    cellar.get_by_role("button", name="Choisir").click()
    total = plain(page.get_by_test_id("cart-total").inner_text())
    page.get_by_role("link", name="Commander").click()

    # Contact, address, the withdrawal information and the terms, before any payment.
    expect(page.locator("#withdrawal-information")).to_contain_text("14 jours")
    assert plain(page.get_by_test_id("checkout-total").inner_text()) == total
    page.get_by_label("Téléphone").fill("06 12 34 56 78")
    page.get_by_label("Adresse", exact=True).fill("8 quai des Tanneurs")
    page.get_by_label("Code postal").fill("37000")
    page.get_by_label("Ville").fill("Bellerive-sur-Loire")
    page.get_by_role("button", name="Continuer vers le paiement").click()
    expect(page.locator(".field__errors")).to_contain_text("Acceptez les conditions de vente")
    shots("terms-missing")
    page.get_by_label(re.compile("J’ai lu et j’accepte")).check()
    page.get_by_role("button", name="Continuer vers le paiement").click()

    # One payment: a declined card first, then the accepted one.
    expect(page).to_have_url(re.compile(r"/commandes/M-\d{4}-\d{6}/paiement$"))
    number = re.search(r"M-\d{4}-\d{6}", page.url).group(0)  # type: ignore[union-attr]
    expect(page.get_by_test_id("amount-due")).to_contain_text(total.split()[0])
    page.get_by_label(re.compile("Carte refusée")).check()
    page.get_by_role("button", name=re.compile("^Payer")).click()
    expect(page.get_by_test_id("payment-error")).to_contain_text("Paiement refusé")
    shots("declined")
    page.get_by_label(re.compile("Carte acceptée")).check()
    page.get_by_role("button", name=re.compile("^Payer")).click()
    expect(page.get_by_test_id("thanks")).to_contain_text("Merci, votre commande est payée")
    expect(page.get_by_test_id("part-status")).to_have_text(["payée, à accepter", "payée, à accepter"])
    expect(page.get_by_test_id("pickup-slot")).to_contain_text("Créneau")
    shots("paid")
    log_out(page)

    # The bakery sees the new order behind its badge, accepts it and gets it ready.
    owner, slug, part_id = bakery_owner(live_server, number)
    log_in(page, owner)
    page.goto(f"{live_server.url}/vendeur/{slug}/commandes")
    expect(page.get_by_test_id("orders-badge")).to_have_text("1")
    page.get_by_role("link", name=number).click()
    shots("shop-new-order")
    page.get_by_role("button", name="Accepter la commande").click()
    expect(page.get_by_test_id("part-status")).to_have_text("acceptée, en préparation")
    page.get_by_role("button", name=re.compile("Prête à retirer")).click()
    expect(page.get_by_test_id("part-status")).to_have_text("prête à retirer")
    shots("shop-ready")
    log_out(page)

    # The shopper has the pickup code and its QR code; at the counter the shop checks it.
    log_in(page, SHOPPER)
    page.goto(f"{live_server.url}/commandes/{number}")
    code = page.get_by_test_id("pickup-code").inner_text()
    assert re.fullmatch(r"\d{6}", code)
    qr = page.get_by_role("img", name=re.compile("QR code du retrait"))
    expect(qr).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth", qr.element_handle()) > 0
    shots("pickup-code")
    log_out(page)

    log_in(page, owner)
    page.goto(f"{live_server.url}/vendeur/{slug}/commandes/{part_id}")
    page.get_by_label("Code de retrait du client").fill("000000" if code != "000000" else "111111")
    page.get_by_role("button", name=re.compile("Vérifier le code")).click()
    expect(page.locator(".flash--error")).to_contain_text("ne correspond pas")
    page.get_by_label("Code de retrait du client").fill(code)
    page.get_by_role("button", name=re.compile("Vérifier le code")).click()
    expect(page.get_by_test_id("part-status")).to_have_text("retirée")
    shots("collected")
