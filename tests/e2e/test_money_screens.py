"""The money screens on a phone: the manager's goodwill refund from the orders console, the shop's partial
refund and its evidence for a bank dispute, the manager sending that evidence. Every screen fits 390 px."""

from __future__ import annotations

import io
import re
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pyotp
import pytest
import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import expect

from app.accounts import services as accounts
from app.cart import services as cart
from app.cart import slots
from app.cart.models import DeliveryMethod
from app.catalog.models import Product, Variant
from app.database import utcnow
from app.demo import DEMO_PASSWORD, SHOPPER_EMAIL
from app.extensions import db
from app.orders import services as orders
from app.orders.models import Order, VendorOrder
from payouts.models import Dispute
from tests.e2e.helpers import Person, log_in
from tests.e2e.test_product_editing import OWNER_EMAIL, SHOP_SLUG, load_demo_town
from tests.factories import PASSWORD, UserFactory
from tests.plugins.browser import LiveServer, _new_page, screenshot

pytestmark = pytest.mark.e2e

MANAGER = Person("gestion-litiges@example.com", "Hélène", "Rousseau", PASSWORD)
PHONE_WIDTH = 390


class Steps:
    """Numbered screenshots across the manager's and the shop's phones, each checked to fit the screen."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, page: Any, name: str) -> None:
        self.count += 1
        screenshot(page, f"money-{self.count:02d}-{name}")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE_WIDTH, f"{name} is {width}px wide on a {PHONE_WIDTH}px phone"


def paid_order(live_server: LiveServer) -> tuple[str, str, int, int]:
    """The demo shopper's order of baguettes (bakery, click & collect) and a muscadet (home delivery), paid
    on the emulator: its number, charge, the bakery's part and the cellar's part."""
    with live_server.app.test_request_context():  # the mail sent on payment renders the site's templates
        shopper = accounts.find_by_email(SHOPPER_EMAIL)
        assert shopper is not None
        basket = cart.open_cart(shopper, None)
        for item in list(basket.items):
            cart.remove(basket, item.id)
        for title, quantity in (("Baguette tradition", 2), ("Muscadet", 1)):
            variant = db.session.scalars(
                sa.select(Variant).join(Product).where(Product.title.startswith(title)).limit(1)
            ).one()
            cart.add(basket, variant.id, quantity)
        cart.set_postcode(basket, "37000")
        db.session.flush()
        for part in cart.summary(basket).parts:
            if part.shop.slug == SHOP_SLUG:
                first = slots.pickup_slots(part.shop, utcnow())[0]
                cart.choose_delivery(
                    basket, part.shop.id, DeliveryMethod.CLICK_COLLECT, pickup_slot=first.start
                )
            else:
                cart.choose_delivery(basket, part.shop.id, DeliveryMethod.HOME_DELIVERY)
        db.session.commit()
        contact = orders.Contact(
            email=SHOPPER_EMAIL,
            full_name="Camille Martin",
            phone="0612345678",
            street="8 quai des Tanneurs",
            postcode="37000",
            city="Bellerive-sur-Loire",
        )
        order = orders.place_order(shopper, basket, contact, uuid.uuid4().hex)
        db.session.commit()
        outcome = orders.pay(shopper, order.number, "pm_card_visa", f"{live_server.url}/retour", "first")
        db.session.commit()
        paid = db.session.get(Order, outcome.order.id)
        assert paid is not None
        assert paid.status.value == "paid"
        assert paid.charge_id
        bakery = next(part for part in paid.vendor_orders if part.shop.slug == SHOP_SLUG)
        cellar = next(part for part in paid.vendor_orders if part.shop.slug != SHOP_SLUG)
        return paid.number, paid.charge_id, bakery.id, cellar.id


def dispute(live_server: LiveServer, charge: str) -> int:
    """The card network disputes the charge; the emulator's events reach the app as Stripe's would."""
    live_server.stripe.control("POST", f"charges/{charge}/dispute")
    webhooks = live_server.stripe.webhooks
    for kind in ("charge.dispute.created", "charge.dispute.funds_withdrawn"):

        def this_one(event: dict[str, Any], kind: str = kind) -> bool:
            return bool(event["type"] == kind and event["data"]["object"]["charge"] == charge)

        delivery = webhooks.wait_for(this_one)
        request = urllib.request.Request(  # noqa: S310 - the live server on 127.0.0.1
            f"{live_server.url}/webhooks/stripe",
            data=delivery.payload,
            method="POST",
            headers={
                "Stripe-Signature": delivery.headers["Stripe-Signature"],
                "Content-Type": "application/json",
            },
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 200
    with live_server.app.app_context():
        return db.session.scalars(sa.select(Dispute.id).where(Dispute.charge_id == charge)).one()


def manager_log_in(page: Any, live_server: LiveServer, person: Person = MANAGER) -> None:
    """A manager of this test's own logs in with a second factor. Not the demo town's manager: another
    browser test enrols her second factor at her first login, and the live server's database is shared
    (a test module that logs in at the same time passes its own ``person``: each code works once)."""
    with live_server.app.app_context():
        manager = accounts.find_by_email(person.email)
        if manager is None:
            manager = UserFactory(
                email=person.email, first_name=person.first_name, manager=True, two_factor=True
            )
        assert manager.totp_secret
        totp = pyotp.TOTP(manager.totp_secret)
    page.goto("/connexion")
    main = page.get_by_role("main")
    main.get_by_label("Adresse e-mail", exact=True).fill(person.email)
    main.get_by_label("Mot de passe", exact=True).fill(person.password)
    main.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(re.compile(r"/connexion/verification"))
    main.get_by_label("Code de vérification").fill(totp.now())
    main.get_by_role("button", name="Vérifier").click()
    page.wait_for_load_state()
    if main.get_by_text("Code incorrect.").count():
        # This window's code was spent by an earlier login (each code works once): the next one.
        time.sleep(totp.interval - time.time() % totp.interval + 1)
        main.get_by_label("Code de vérification").fill(totp.now())
        main.get_by_role("button", name="Vérifier").click()
    expect(page.get_by_role("status")).to_contain_text("vous êtes connecté")


def png(path: Path) -> Path:
    output = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 120, 40)).save(output, "PNG")
    path.write_bytes(output.getvalue())
    return path


def test_refunds_and_a_dispute_on_a_phone(
    phone_page: Any, chromium: Any, live_server: LiveServer, tmp_path: Path
) -> None:
    load_demo_town(live_server)
    number, charge, bakery_id, cellar_id = paid_order(live_server)
    step = Steps()

    # The owner of the bakery accepts its part first (the shop refunds accepted parts only).
    owner_page = phone_page
    with live_server.app.app_context():
        owner = accounts.find_by_email(OWNER_EMAIL)
        assert owner is not None
        owner_name = owner.first_name
    owner_page.goto("/")
    log_in(owner_page, Person(OWNER_EMAIL, owner_name, "", DEMO_PASSWORD))
    detail = f"/vendeur/{SHOP_SLUG}/commandes/{bakery_id}"
    owner_page.goto(detail)
    owner_page.get_by_role("button", name="Accepter la commande").click()
    expect(owner_page.get_by_test_id("part-status")).to_have_text("acceptée, en préparation")

    with _new_page(chromium, live_server, "phone") as page:
        # The manager finds the order by its number and makes a goodwill gesture on the cellar's part.
        manager_log_in(page, live_server)
        page.goto("/gestion/commandes")
        main = page.get_by_role("main")
        main.get_by_label("Numéro de commande ou e-mail du client").fill(number)
        main.get_by_role("button", name="Chercher").click()
        expect(main.get_by_test_id("found-orders")).to_contain_text(number)
        step(page, "manager-search")
        main.get_by_role("link", name=number).click()
        part = main.get_by_test_id(f"part-{cellar_id}")
        part.locator("summary").filter(has_text="Geste commercial").click()
        part.get_by_label("Montant à rembourser (€)").fill("9999")
        part.get_by_label("Motif").fill("Bouteille arrivée tiède")
        part.get_by_role("button", name="Rembourser").click()
        part = main.get_by_test_id(f"part-{cellar_id}")
        expect(part.locator(".field__errors")).to_be_visible()
        step(page, "manager-goodwill-too-much")
        part.get_by_label("Montant à rembourser (€)").fill("2,00")
        part.get_by_role("button", name="Rembourser").click()
        expect(page.get_by_role("status")).to_contain_text("Geste commercial fait")
        expect(main.get_by_test_id(f"part-{cellar_id}").get_by_test_id("refund-reason")).to_have_count(1)
        step(page, "manager-goodwill-done")

        # The bakery refunds part of its order by amount.
        owner_page.goto(detail)
        main = owner_page.get_by_role("main")
        main.locator("summary").filter(has_text="Rembourser une partie").click()
        form = main.get_by_test_id("refund-form")
        form.get_by_label("Montant à rembourser (€)").fill("0,50")
        form.get_by_label("Motif").fill("Une baguette trop cuite")
        step(owner_page, "shop-partial-refund")
        form.get_by_role("button", name="Rembourser").click()
        expect(owner_page.get_by_role("status")).to_contain_text("Remboursement fait")
        step(owner_page, "shop-refunded")

        # The bank disputes the payment: the bakery gives its evidence and a photo.
        dispute_id = dispute(live_server, charge)
        owner_page.goto(f"/vendeur/{SHOP_SLUG}/litiges")
        step(owner_page, "shop-disputes")
        owner_page.goto(f"/vendeur/{SHOP_SLUG}/litiges/{dispute_id}")
        main = owner_page.get_by_role("main")
        main.get_by_label(re.compile("^Ce que la boutique peut dire")).fill(
            "Retirée au comptoir par la cliente, qui a montré son code de retrait."
        )
        step(owner_page, "shop-dispute")
        main.get_by_role("button", name="Enregistrer").click()
        expect(owner_page.get_by_role("status")).to_be_visible()
        main.get_by_label("Fichier", exact=True).set_input_files(str(png(tmp_path / "comptoir.png")))
        main.get_by_role("button", name="Ajouter le fichier").click()
        expect(main.get_by_test_id("files")).to_contain_text("comptoir.png")
        step(owner_page, "shop-dispute-evidence")

        # The manager sends the evidence to the bank.
        page.goto(f"/gestion/litiges/{dispute_id}")
        main = page.get_by_role("main")
        expect(main.get_by_test_id("files")).to_contain_text("comptoir.png")
        expect(main).to_contain_text("Retirée au comptoir")
        step(page, "manager-dispute")
        main.get_by_role("button", name="Envoyer les preuves").click()
        expect(main.get_by_test_id("status")).not_to_have_text("Réponse attendue")
        step(page, "manager-dispute-sent")

    with live_server.app.app_context():
        part = db.session.get(VendorOrder, bakery_id)
        assert part is not None
        assert part.refunded_cents == 50
