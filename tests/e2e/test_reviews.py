"""On a phone, the demo shopper follows the review e-mail's link from the dev mailbox, without logging
in, and reviews a book with a photo; the product page shows it with the verified-purchase badge; the
bookshop answers from its back office and the answer shows under the review; the bakery's storefront
shows its rating and its reply to a demo review.

The only setup is ``flask demo load --no-photos`` (its last order for Camille has no review yet) and the
hourly request job, run once here as ``flask cron`` would.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from app.demo import DEMO_PASSWORD, SHOPPER_EMAIL
from app.reviews import tasks
from tests.e2e.helpers import Shots
from tests.e2e.test_product_editing import load_demo_town, log_in
from tests.plugins.browser import LiveServer

pytestmark = pytest.mark.e2e

BOOKSHOP = "librairie-la-boussole"
BOOK = "Le jardin de Bellerive"


def make_photo(path: Path) -> Path:
    """A book lying open on a table: enough of a picture for the upload checks."""
    image = Image.new("RGB", (900, 700), (214, 222, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((120, 160, 780, 600), fill=(250, 246, 236), outline=(90, 70, 50), width=8)
    draw.line((450, 160, 450, 600), fill=(90, 70, 50), width=6)
    for y in range(220, 560, 40):
        draw.line((170, y, 410, y), fill=(150, 150, 150), width=4)
        draw.line((490, y, 730, y), fill=(150, 150, 150), width=4)
    image.save(path, format="JPEG", quality=90)
    return path


def send_review_requests(live_server: LiveServer) -> None:
    """The request job, as ``flask cron`` runs it hourly; links point at the live server."""
    with live_server.app.test_request_context(base_url=live_server.url):
        tasks.send_requests()


def test_a_shopper_reviews_a_book_from_the_email_link_with_a_photo(
    phone_page: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    load_demo_town(live_server)
    send_review_requests(live_server)
    page = phone_page
    shots = Shots(page, "reviews-")

    # The dev mailbox has the invitation; its link opens the review page, no login needed.
    page.goto("/dev/mailbox")
    message = page.get_by_role("main").get_by_role("listitem").filter(has_text=SHOPPER_EMAIL)
    message.get_by_role("link", name="Votre avis sur Librairie La Boussole ?").first.click()
    expect(page.get_by_role("main")).to_contain_text("Bonjour Camille,")
    shots("mail")
    page.get_by_role("main").locator("a[href*='/avis/commande/']").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Votre avis sur votre commande chez Librairie La Boussole"
    )
    expect(page.get_by_test_id("review-item")).to_have_count(3)
    shots("order")

    # A five-star review of the book, with a photo.
    page.get_by_test_id("review-item").filter(has_text=BOOK).get_by_role(
        "link", name="Donner mon avis"
    ).click()
    main = page.get_by_role("main")
    main.get_by_role("button", name="Publier mon avis").click()
    expect(main.locator(".form-errors")).to_contain_text("Corrigez les champs signalés")
    expect(main).to_contain_text("Choisissez une note de 1 à 5 étoiles.")
    shots("form-errors")
    main.get_by_label("5 étoiles — excellent").check()
    main.get_by_label("Titre", exact=True).fill("Un beau livre sur notre ville")
    main.get_by_label("Votre avis", exact=True).fill(
        "Les photos du jardin au fil des saisons sont superbes et le texte est plein d’anecdotes. "
        "Un joli cadeau pour ceux qui aiment Bellerive."
    )
    main.get_by_label("Photos (facultatif)").set_input_files(make_photo(tmp_path / "livre.jpg"))
    shots("form-filled")
    main.get_by_role("button", name="Publier mon avis").click()
    expect(page.get_by_role("status")).to_contain_text("Merci ! Votre avis est en ligne.")
    expect(page.get_by_test_id("review-item").filter(has_text=BOOK)).to_contain_text("en ligne")
    shots("sent")

    # The product page: the rating, the review with its badge, its author and its photo.
    page.goto(f"{live_server.url}/recherche?q={BOOK.replace(' ', '+')}")
    page.get_by_role("link", name=re.compile(BOOK)).first.click()
    expect(page.get_by_test_id("rating-line")).to_contain_text("(1 avis)")
    review = page.get_by_test_id("review").filter(has_text="Un beau livre sur notre ville")
    expect(review.get_by_test_id("review-author")).to_have_text("Camille M.")
    expect(review.get_by_test_id("verified")).to_contain_text("Achat vérifié")
    photo = review.get_by_role("img", name=re.compile("Photo 1 de l’avis de Camille M."))
    review.scroll_into_view_if_needed()
    expect(photo).to_be_visible()
    page.wait_for_function("(img) => img.complete && img.naturalWidth > 0", arg=photo.element_handle())
    shots("product-page")

    # The bookshop answers from its back office (the Avis tab), on its phone too.
    log_in(page, f"contact@{BOOKSHOP}.example", DEMO_PASSWORD)
    page.goto(f"{live_server.url}/vendeur/{BOOKSHOP}/")
    page.get_by_role("navigation", name="Espace commerçant").get_by_role("link", name="Avis").click()
    card = page.get_by_test_id("review").filter(has_text="Un beau livre sur notre ville")
    expect(card).not_to_contain_text(SHOPPER_EMAIL)
    shots("shop-reviews")
    card.get_by_label("Votre réponse publique").fill("Merci Camille ! L’auteure vient dédicacer en mars.")
    card.get_by_role("button", name="Publier la réponse").click()
    expect(page.get_by_role("status")).to_contain_text("Réponse publiée sous l’avis.")
    page.goto(f"{live_server.url}/recherche?q={BOOK.replace(' ', '+')}")
    page.get_by_role("link", name=re.compile(BOOK)).first.click()
    reply = page.get_by_test_id("shop-reply")
    expect(reply).to_contain_text("Réponse de Librairie La Boussole")
    expect(reply).to_contain_text("L’auteure vient dédicacer en mars.")
    reply.scroll_into_view_if_needed()
    shots("product-reply")

    # A storefront: the bakery's rating, distribution and its reply to a demo review.
    page.goto(f"{live_server.url}/boutiques/fournil-saint-martin")
    expect(page.get_by_test_id("rating-line")).to_contain_text("(1 avis)")
    section = page.locator("#avis")
    expect(section).to_contain_text("Avis sur la boutique")
    expect(section.get_by_test_id("shop-reply")).to_contain_text("Merci pour ce mot")
    section.scroll_into_view_if_needed()
    shots("storefront")

    # How reviews are collected and checked, linked next to every rating.
    section.get_by_role("link", name="Comment les avis sont vérifiés").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Comment les avis sont collectés, vérifiés et modérés"
    )
    shots("how-it-works")
