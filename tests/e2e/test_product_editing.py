"""A baker of the demo town adds a product on their phone: two variants, a photo, online, and the
product's public page shows its price, its variant picker and its photo.

Everything goes through the browser; the only setup is ``flask demo load --no-photos``.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from app.catalog.models import Product, ProductStatus, Variant
from app.demo import DEMO_PASSWORD
from app.extensions import db
from tests.e2e.helpers import Shots
from tests.plugins.browser import LiveServer
from vendors.models import Shop

pytestmark = pytest.mark.e2e

OWNER_EMAIL = "contact@fournil-saint-martin.example"
SHOP_SLUG = "fournil-saint-martin"
CATEGORY = "— Boulangerie et pâtisserie"
PHOTO_ALT = "Deux pains au levain dorés sur une planche en bois"


def load_demo_town(live_server: LiveServer) -> None:
    result = live_server.app.test_cli_runner().invoke(args=["demo", "load", "--no-photos"])
    assert result.exit_code == 0, result.output


def make_photo(path: Path) -> Path:
    """A loaf on a board: enough of a picture for the upload checks (at least 200 × 200)."""
    image = Image.new("RGB", (800, 600), (236, 224, 200))
    draw = ImageDraw.Draw(image)
    draw.rectangle((60, 420, 740, 520), fill=(150, 100, 60))
    draw.ellipse((140, 200, 660, 460), fill=(196, 134, 64))
    for x in (260, 400, 540):
        draw.line((x - 40, 260, x + 40, 380), fill=(120, 70, 30), width=10)
    image.save(path, format="PNG")
    return path


def log_in(page: Any, email: str, password: str) -> None:
    page.goto("/connexion")
    main = page.get_by_role("main")
    main.get_by_label("Adresse e-mail", exact=True).fill(email)
    main.get_by_label("Mot de passe", exact=True).fill(password)
    main.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("status")).to_contain_text("vous êtes connecté.")


def fill_variant(page: Any, number: int, options: str, sku: str, price: str, stock: str) -> None:
    row = page.get_by_role("main").get_by_role("group", name=f"Déclinaison {number}")
    row.get_by_label("Options", exact=True).fill(options)
    row.get_by_label("SKU (référence)", exact=True).fill(sku)
    row.get_by_label("Prix TTC (€)", exact=True).fill(price)
    row.get_by_label("Stock", exact=True).fill(stock)


def test_a_shop_adds_a_product_with_variants_and_a_photo_and_puts_it_online(
    phone_page: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    page = phone_page
    load_demo_town(live_server)
    token = uuid.uuid4().hex[:6].upper()
    title = f"Pain au levain {token}"
    shots = Shots(page, prefix="product-")
    main = page.get_by_role("main")

    # 1. The baker logs in and opens Produits → Nouveau produit.
    log_in(page, OWNER_EMAIL, DEMO_PASSWORD)
    page.goto(f"/vendeur/{SHOP_SLUG}/")
    page.get_by_role("navigation", name="Espace commerçant").get_by_role("link", name="Produits").click()
    expect(page).to_have_url(re.compile(rf"/vendeur/{SHOP_SLUG}/produits$"))
    expect(main.get_by_role("heading", level=2, name="Produits")).to_be_visible()
    shots("list")
    main.get_by_role("link", name="Nouveau produit").click()
    expect(main.get_by_role("heading", level=2, name="Nouveau produit")).to_be_visible()

    # 2. The product, its first variant, then a second one with "Ajouter une déclinaison".
    main.get_by_label("Nom du produit", exact=True).fill(title)
    main.get_by_label("Catégorie", exact=True).select_option(label=CATEGORY)
    # A shop under the VAT franchise is offered 0 % only.
    expect(main.get_by_label("TVA", exact=True).locator("option")).to_have_count(1)
    main.get_by_label("Description", exact=True).fill(
        "Pain au **levain naturel**, farine T80 de meuniers tourangeaux, cuit au four à bois."
    )
    main.get_by_label("Caractéristiques", exact=True).fill("labels : fait-maison, bio")
    fill_variant(page, 1, "poids : 500 g", f"LEV-{token}-500", "4,20", "12")
    expect(main.get_by_role("group", name="Déclinaison 2")).to_have_count(0)
    shots("new-one-variant")
    main.get_by_role("button", name="Ajouter une déclinaison").click()
    expect(main.get_by_role("group", name="Déclinaison 2")).to_be_visible()
    # What was typed is still there.
    expect(main.get_by_label("Nom du produit", exact=True)).to_have_value(title)
    expect(
        main.get_by_role("group", name="Déclinaison 1").get_by_label("Prix TTC (€)", exact=True)
    ).to_have_value("4,20")
    fill_variant(page, 2, "poids : 1 kg", f"LEV-{token}-1000", "7,80", "6")
    shots("new-two-variants")
    main.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Produit enregistré.")
    expect(main.get_by_role("heading", level=2, name=title)).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/vendeur/{SHOP_SLUG}/produits/\d+$"))
    expect(main.get_by_label("Visibilité", exact=True)).to_have_value("draft")
    shots("saved")

    # 3. A photo, with what it shows for people who cannot see it.
    main.get_by_label("Photo", exact=True).set_input_files(make_photo(tmp_path / "levain.png"))
    main.get_by_label("Description de la photo", exact=True).fill(PHOTO_ALT)
    shots("photo-chosen")
    main.get_by_role("button", name="Ajouter la photo").click()
    expect(page.get_by_role("status")).to_contain_text("Photo ajoutée.")
    photos = main.locator("#photos")
    expect(photos.get_by_role("img", name=PHOTO_ALT)).to_be_visible()
    photos.scroll_into_view_if_needed()
    shots("photo-added")

    # 4. Online.
    main.get_by_label("Visibilité", exact=True).select_option(label="En ligne")
    main.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("Produit enregistré.")
    expect(main.get_by_label("Visibilité", exact=True)).to_have_value("active")
    shots("online")

    # 5. Its public page: the price, the variant picker and the photo.
    main.get_by_role("link", name="Voir la page du produit").click()
    expect(page).to_have_url(re.compile(r"/produits/\d+$"))
    expect(main.get_by_role("heading", level=1, name=title)).to_be_visible()
    price = main.get_by_test_id("price")
    expect(price).to_contain_text(re.compile(r"4,20\s€"))
    expect(price).to_contain_text("TVA non applicable")
    photo = main.get_by_role("img", name=PHOTO_ALT)
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.complete && img.naturalWidth > 0"), "the photo loads"
    picker = main.get_by_role("group", name="Choisissez")
    expect(picker.get_by_role("radio")).to_have_count(2)
    expect(picker.get_by_role("radio", name=re.compile("500 g"))).to_be_checked()
    # With JavaScript, the "Voir ce choix" button of the no-JS picker is hidden.
    expect(main.get_by_role("button", name="Voir ce choix")).to_be_hidden()
    # Bread is perishable (its category says so): the page says, before purchase, that it cannot be
    # withdrawn (Code de la consommation L221-28).
    expect(main.get_by_test_id("withdrawal-exclusion")).to_contain_text("Pas de droit de rétractation")
    shots("public-page")

    picker.get_by_role("radio", name=re.compile("1 kg")).check()
    expect(price).to_contain_text(re.compile(r"7,80\s€"))
    expect(page).to_have_url(re.compile(r"/produits/\d+\?variante=\d+$"))
    shots("public-page-1kg")
    # The address now names the variant: reloading (or sharing the link) shows the same choice.
    page.reload()
    expect(price).to_contain_text(re.compile(r"7,80\s€"))
    expect(picker.get_by_role("radio", name=re.compile("1 kg"))).to_be_checked()

    # 6. And the shop's storefront lists it.
    page.goto(f"/boutiques/{SHOP_SLUG}")
    card = main.locator("li.product-card").filter(has_text=title)
    expect(card).to_have_count(1)
    expect(card).to_contain_text(re.compile(r"de 4,20\s€ à 7,80\s€"))
    card.scroll_into_view_if_needed()
    shots("storefront")


def test_choosing_a_variant_with_javascript_updates_price_crossed_out_price_and_stock(
    phone_page: Any, live_server: LiveServer
) -> None:
    """The picker's other half: a discounted variant in stock, and a sold-out one at full price.

    The product is written straight into the served app's database (the form is the test above)."""
    page = phone_page
    load_demo_town(live_server)
    token = uuid.uuid4().hex[:6].upper()
    with live_server.app.app_context():
        shop = db.session.scalar(sa.select(Shop).where(Shop.slug == SHOP_SLUG))
        assert shop is not None
        product = Product(shop_id=shop.id, category_id=shop.category_id, title=f"Fougasse {token}", vat_bps=0)
        product.status = ProductStatus.ACTIVE
        product.variants = [
            Variant(
                shop_id=shop.id,
                sku=f"FOUG-{token}-O",
                options={"garniture": "olives"},
                price_cents=450,
                compare_at_cents=520,
                stock=8,
                position=0,
            ),
            Variant(
                shop_id=shop.id,
                sku=f"FOUG-{token}-L",
                options={"garniture": "lardons"},
                price_cents=480,
                stock=0,
                position=1,
            ),
        ]
        db.session.add(product)
        db.session.commit()
        product_id = product.id
    shots = Shots(page, prefix="product-picker-")
    main = page.get_by_role("main")

    page.goto(f"/produits/{product_id}")
    price = main.get_by_test_id("price")
    expect(price.locator("del")).to_contain_text(re.compile(r"5,20\s€"))
    expect(price.locator("strong")).to_contain_text(re.compile(r"4,50\s€"))
    expect(main.locator(".product__stock")).to_contain_text("En stock")
    shots("olives")

    main.get_by_role("radio", name=re.compile("lardons")).check()
    expect(price.locator("strong")).to_contain_text(re.compile(r"4,80\s€"))
    shots("lardons")
    # What the page says without JavaScript (?variante=<id>), it must say with it.
    expect(price.locator("del")).to_have_count(0)
    expect(main.locator(".product__stock")).to_contain_text("Épuisé")
