"""A shopkeeper opens a shop on their phone, the town's manager approves it, it goes online, and the
shopkeeper opens the payment account that will receive the sales (Stripe's onboarding, emulated).

Everything goes through the browser, as people would do it; the only setup is ``flask demo load``
(the demo town: categories, relay points, shops and the manager's account).
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pyotp
import pytest
from PIL import Image, ImageDraw
from playwright.sync_api import expect

from app.demo import DEMO_PASSWORD, MANAGER_EMAIL
from tests.e2e.helpers import Person, Shots, confirm_from_mailbox, log_in, log_out, sign_up
from tests.plugins.browser import LiveServer

pytestmark = pytest.mark.e2e

MANAGER = Person(MANAGER_EMAIL, "Hélène", "Rousseau", DEMO_PASSWORD)
SHOP_NAME = "L’Atelier des Fleurs"
SIRET = "97228186620119"
VAT_NUMBER = "FR29972281866"
TRADE_REGISTER = "RCS Tours 972 281 866"
LEGAL_NAME = "Atelier des Fleurs SARL"
RELAY_POINT = "Épicerie du Port"
STORY = "Bouquets de saison composés chaque matin avec les fleurs des producteurs de la vallée de la Loire."
RETURN_POLICY = (
    "Les fleurs coupées ne sont ni reprises ni échangées. Les vases et pots se retournent intacts."
)
HOURS = {  # weekday: (morning, afternoon)
    "Mardi": (("09:30", "12:30"), ("14:00", "19:00")),
    "Mercredi": (("09:30", "12:30"), ("14:00", "19:00")),
    "Samedi": (("09:00", "19:00"), None),
}


def load_demo_town(live_server: LiveServer) -> None:
    result = live_server.app.test_cli_runner().invoke(args=["demo", "load", "--no-photos"])
    assert result.exit_code == 0, result.output


def make_logo(path: Path) -> Path:
    """A square PNG logo: a flower-ish disc on a cream background."""
    image = Image.new("RGB", (256, 256), (250, 244, 230))
    draw = ImageDraw.Draw(image)
    for radius, colour in ((110, (214, 92, 124)), (45, (245, 200, 66))):
        draw.ellipse((128 - radius, 128 - radius, 128 + radius, 128 + radius), fill=colour)
    image.save(path, format="PNG")
    return path


def save_and_continue(page: Any, next_heading: str) -> None:
    """Send a wizard step; the next step's form comes up."""
    page.get_by_role("main").get_by_role("button", name="Enregistrer et continuer").click()
    expect(page.get_by_role("main").get_by_role("heading", level=2, name=next_heading)).to_be_visible()


def test_a_shop_opens_is_approved_and_sets_up_payouts(
    phone_page: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    page = phone_page
    load_demo_town(live_server)
    token = uuid.uuid4().hex[:8]
    merchant = Person(f"fleuriste-{token}@example.com", "Inès", "Moreau")
    slug = f"atelier-des-fleurs-{token}"
    shots = Shots(page, prefix="shop-")

    # 1. The shopkeeper creates an account, confirms the address and logs in.
    sign_up(page, merchant, shots)
    confirm_from_mailbox(page, merchant, shots)
    log_in(page, merchant)

    # 2. The merchant area invites to open a shop; the wizard takes it step by step.
    page.goto("/vendeur/")
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", level=1, name="Ouvrez votre boutique en ligne")).to_be_visible()
    main.get_by_label("Nom de la boutique").fill(SHOP_NAME)
    shots("no-shop")
    main.get_by_role("button", name="Commencer").click()

    expect(main.get_by_role("heading", level=1, name="Votre boutique")).to_be_visible()
    expect(main.get_by_label("Nom de la boutique")).to_have_value(SHOP_NAME)
    # A web address is suggested from the name; the test picks its own, unique one.
    expect(main.get_by_label("Adresse de la boutique sur le site")).to_have_value(
        re.compile(r"^l-?atelier-des-fleurs$")
    )
    main.get_by_label("Adresse de la boutique sur le site").fill(slug)
    main.get_by_label("Catégorie").select_option(label="— Fleurs et plantes")
    main.get_by_label("Votre histoire").fill(STORY)
    shots("identity")
    main.get_by_role("button", name="Créer la boutique et continuer").click()
    expect(page.get_by_role("status")).to_contain_text("Boutique créée.")
    expect(main.get_by_role("heading", level=2, name="Photos")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/vendeur/{slug}/reglages/photos$"))

    main.get_by_label("Logo", exact=True).set_input_files(make_logo(tmp_path / "logo.png"))
    shots("photos")
    save_and_continue(page, "Adresse et contact")

    main.get_by_label("Adresse", exact=True).fill("38 quai du Port")
    main.get_by_label("Code postal").fill("37000")
    main.get_by_label("Ville").fill("Bellerive-sur-Loire")
    main.get_by_label("Téléphone").fill("02 47 12 34 56")
    main.get_by_label("E-mail de contact").fill(f"bonjour-{token}@atelier-des-fleurs.example")
    shots("address")
    # No latitude nor longitude: the town's street list places the shop.
    save_and_continue(page, "Horaires")

    for day, slots in HOURS.items():
        for index, slot in enumerate(slots, start=1):
            if slot is not None:
                main.get_by_label(f"{day} — ouverture {index}", exact=True).fill(slot[0])
                main.get_by_label(f"{day} — fermeture {index}", exact=True).fill(slot[1])
    shots("hours")
    save_and_continue(page, "Livraison et retrait")

    main.get_by_label("Retrait en boutique (click & collect)").check()
    expect(main.get_by_label("Délai de préparation (minutes)")).to_have_value("120")
    main.get_by_label("Envoi en point relais").check()
    main.get_by_role("checkbox", name=re.compile(rf"^{RELAY_POINT}\b")).check()
    shots("delivery")
    save_and_continue(page, "Retours")

    main.get_by_label("Délai de retour (jours)").fill("30")
    main.get_by_label("Conditions de retour").fill(RETURN_POLICY)
    shots("returns")
    save_and_continue(page, "Mentions légales")

    main.get_by_label("Raison sociale").fill(LEGAL_NAME)
    main.get_by_label("Numéro SIRET").fill(SIRET)
    main.get_by_label("Régime de TVA").select_option(label="Réel normal")
    main.get_by_label("Numéro de TVA intracommunautaire").fill(VAT_NUMBER)
    main.get_by_label("Immatriculation RCS ou RM").fill(TRADE_REGISTER)
    shots("legal")
    save_and_continue(page, "Envoyer pour validation")

    main.get_by_role("radio", name=re.compile("Découverte")).check()  # the free plan: no card to give
    main.get_by_label("J’accepte les conditions de vente de la place de marché", exact=False).check()
    shots("submit")
    main.get_by_role("button", name="Envoyer ma boutique").click()
    expect(page.get_by_role("status")).to_contain_text(
        "C’est envoyé ! La gestion de la place de marché vérifie votre boutique."
    )
    expect(main.get_by_role("heading", level=1, name=SHOP_NAME)).to_contain_text("En attente de validation")
    shots("sent")

    # 3. The town's manager logs in, must first enrol a second factor, then approves the shop.
    log_out(page)
    log_in(page, MANAGER)
    expect(page).to_have_url(re.compile(r"/compte/securite/activer$"))
    expect(main.get_by_role("heading", level=1, name="Activer la double authentification")).to_be_visible()
    secret = main.get_by_test_id("totp-secret").inner_text().strip()
    main.get_by_label("Code affiché par l’application").fill(pyotp.TOTP(secret).now())
    shots("manager-2fa")
    main.get_by_role("button", name="Activer").click()
    expect(page.get_by_role("status")).to_contain_text("La double authentification est activée.")
    expect(main.get_by_test_id("recovery-codes").get_by_role("listitem")).not_to_have_count(0)
    shots("manager-recovery-codes")
    main.get_by_role("link", name="C’est noté").click()
    expect(page).to_have_url(re.compile(r"/compte/securite$"))

    page.goto("/gestion/")
    page.get_by_role("navigation", name="Gestion").get_by_role("link", name="À valider").click()
    expect(main.get_by_role("heading", level=1, name="Boutiques à valider")).to_be_visible()
    shots("manager-queue")
    main.get_by_role("link", name=SHOP_NAME).click()

    expect(main.get_by_role("heading", level=1, name=SHOP_NAME)).to_contain_text("En attente de validation")
    legal = main.locator("section").filter(has=page.get_by_role("heading", level=2, name="Mentions légales"))
    for detail in (LEGAL_NAME, SIRET, VAT_NUMBER, TRADE_REGISTER):
        expect(legal).to_contain_text(detail)
    expect(main).to_contain_text(f"/boutiques/{slug}")
    shots("manager-review")
    main.get_by_role("button", name="Approuver").click()
    expect(page.get_by_role("status")).to_contain_text("Décision enregistrée")
    expect(main.get_by_role("heading", level=1, name="Boutiques à valider")).to_be_visible()
    expect(main.get_by_role("link", name=SHOP_NAME)).to_have_count(0)
    shots("manager-approved")

    # 4. Anyone can now see the shop, its legal mentions and opening hours, and find it in the directory.
    log_out(page)
    page.goto(f"/boutiques/{slug}")
    expect(main.get_by_role("heading", level=1, name=SHOP_NAME)).to_be_visible()
    expect(main).not_to_contain_text("Aperçu")
    expect(main.get_by_role("img", name=f"Logo de {SHOP_NAME}")).to_be_visible()
    mentions = main.locator("section.legal-mentions")
    expect(mentions).to_contain_text(SIRET)
    expect(mentions).to_contain_text(LEGAL_NAME)
    hours_table = main.locator("table.hours-table")
    expect(hours_table.get_by_role("row", name=re.compile(r"^Mardi"))).to_contain_text(
        "09:30–12:30, 14:00–19:00"
    )
    expect(hours_table.get_by_role("row", name=re.compile(r"^Samedi"))).to_contain_text("09:00–19:00")
    expect(hours_table.get_by_role("row", name=re.compile(r"^Lundi"))).to_contain_text("fermé")
    expect(main).to_contain_text(RELAY_POINT)
    shots("storefront")

    page.goto("/boutiques")
    card = main.locator("li.shop-card").filter(has=page.locator(f'a[href^="/boutiques/{slug}"]'))
    expect(card).to_have_count(1)
    expect(card.get_by_role("heading", name=SHOP_NAME)).to_be_visible()
    card.scroll_into_view_if_needed()
    shots("directory")

    # 5. The shopkeeper opens the payment account: Stripe's hosted onboarding, and back.
    log_in(page, merchant)
    page.goto("/vendeur/")
    expect(main.get_by_role("heading", level=1, name=SHOP_NAME)).to_contain_text("Ouverte")
    page.get_by_role("navigation", name="Espace commerçant").get_by_role("link", name="Paiements").click()
    expect(main.get_by_role("heading", level=2, name="Recevoir vos paiements")).to_be_visible()
    expect(main).to_contain_text("Vous n’avez pas encore de compte de paiement.")
    shots("payouts")
    main.get_by_role("button", name="Ouvrir mon compte de paiement").click()
    # The browser follows the form's redirect to Stripe's hosted onboarding (the CSP allows it).
    expect(page).to_have_url(re.compile("^" + re.escape(live_server.stripe.url) + "/"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Set up payouts for {SHOP_NAME}")
    shots("stripe-onboarding")
    page.get_by_role("button", name="Complete onboarding").click()

    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/vendeur/{slug}/paiements$"))
    expect(page.get_by_role("status")).to_contain_text("Votre compte de paiement est prêt")
    expect(main.get_by_role("button", name="Ouvrir mon compte de paiement")).to_have_count(0)
    expect(main.get_by_role("button", name="Tableau de bord Stripe")).to_be_visible()
    shots("payouts-ready")
