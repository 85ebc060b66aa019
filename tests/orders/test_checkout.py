"""Checkout and payment across two shops, against the Stripe emulator through the stripe library."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
import stripe
import time_machine
from flask import Flask

from app.catalog.models import StockMovement, StockReason
from app.extensions import db
from app.orders import tasks
from app.orders.models import Order, OrderStatus, VendorOrderStatus
from payouts import gateway
from tests.orders.support import (
    Town,
    checkout,
    fill_cart,
    login,
    make_town,
    only_order,
    pay,
    stock,
)
from tests.plugins.application import Client, Mailbox
from tests.plugins.stripe import StripeEmulator


@pytest.fixture
def town(app_ctx: Flask) -> Town:
    made = make_town()
    fill_cart(made, (made.bread, 2), (made.novel, 1))
    return made


def intent(order: Order) -> stripe.PaymentIntent:
    assert order.payment_intent_id
    return gateway.client().v1.payment_intents.retrieve(order.payment_intent_id)


def charges_of(order: Order) -> list[str]:
    found = gateway.client().v1.charges.list(params={"payment_intent": order.payment_intent_id})
    return [charge.id for charge in found.data]


def test_one_payment_for_two_shops_marks_every_part_paid(
    client: Client, town: Town, stripe_api: StripeEmulator, mailbox: Mailbox
) -> None:
    login(client, "camille@example.com")
    response, _ = checkout(client)
    order = only_order(town.shopper_id)
    assert response.headers["Location"] == f"/commandes/{order.number}/paiement"
    assert re.fullmatch(r"M-\d{4}-\d{6}", order.number)
    # 2 × 4,50 + 4,90 local delivery, 24,00 + 5,90 carrier
    assert (order.total_cents, [p.total_cents for p in order.vendor_orders]) == (4380, [1390, 2990])
    assert (stock(town.bread), stock(town.novel)) == (8, 2), "reserved when placing"

    answer = pay(client, order.number)
    assert answer.headers["Location"] == f"/commandes/{order.number}?merci=1"
    order = only_order(town.shopper_id)
    assert order.status == OrderStatus.PAID
    assert {part.status for part in order.vendor_orders} == {VendorOrderStatus.PAID}
    paid = intent(order)
    assert (paid.status, paid.amount, paid.currency, paid.transfer_group) == (
        "succeeded",
        4380,
        "eur",
        order.number,
    )
    assert order.charge_id == paid.latest_charge
    assert (stock(town.bread), stock(town.novel)) == (8, 2), "paying does not take the stock twice"

    page = client.get(f"/commandes/{order.number}?merci=1").get_data(as_text=True)
    assert "Merci, votre commande est payée" in page
    confirmation = mailbox.last_to("camille@example.com")
    assert confirmation.subject == f"Commande {order.number} confirmée"
    assert "La Loire à vélo" in confirmation.text
    assert "Pain au levain" in confirmation.text
    assert mailbox.last_to("boulanger@example.com").subject == f"Nouvelle commande {order.number}"
    assert "Pain au levain" in mailbox.last_to("boulanger@example.com").text
    assert "Pain au levain" not in mailbox.last_to("libraire@example.com").text, "each shop sees its part"


def test_a_double_click_or_replay_makes_one_order_and_one_charge(
    client: Client, town: Town, stripe_api: StripeEmulator
) -> None:
    login(client, "camille@example.com")
    _, token = checkout(client)
    # The same form posted again (a double click, a browser resending): the same order, nothing more.
    again = client.submit(
        "/commande", {"checkout_token": token, "email": "camille@example.com"}, form_url="/panier"
    )
    order = only_order(town.shopper_id)
    assert again.status_code in (200, 302)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1
    assert stock(town.bread) == 8

    first = pay(client, order.number, attempt="same-click")
    second = pay(client, order.number, attempt="same-click")
    assert first.headers["Location"] == f"/commandes/{order.number}?merci=1"
    assert second.headers["Location"] == first.headers["Location"], "answered as the first post"
    assert len(charges_of(only_order(town.shopper_id))) == 1
    third = pay(client, order.number, attempt="later-click")  # a new attempt on a paid order pays nothing
    assert third.headers["Location"] == f"/commandes/{order.number}?merci=1"
    assert len(charges_of(only_order(town.shopper_id))) == 1


def test_a_checkout_form_without_its_token_places_nothing(
    client: Client, town: Town, stripe_api: StripeEmulator
) -> None:
    """Without its one-time token, a post could not be told from the last one made without it."""
    login(client, "camille@example.com")
    for forged in ("", "x" * 65):
        response, _ = checkout(client, checkout_token=forged)
        assert response.status_code == 200
        assert "Ce formulaire de commande n’est plus valable : rechargez la page." in response.get_data(
            as_text=True
        )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    assert stock(town.bread) == 10


def test_a_declined_card_keeps_the_order_and_another_card_pays_it(
    client: Client, town: Town, stripe_api: StripeEmulator
) -> None:
    login(client, "camille@example.com")
    checkout(client)
    order = only_order(town.shopper_id)
    refused = pay(client, order.number, "pm_card_visa_chargeDeclined")
    assert refused.headers["Location"] == f"/commandes/{order.number}/paiement"
    page = client.get(refused.headers["Location"]).get_data(as_text=True)
    assert "Paiement refusé" in page
    order = only_order(town.shopper_id)
    assert (order.status, order.payment_status) == (OrderStatus.PENDING_PAYMENT, "requires_payment_method")
    assert order.payment_error
    assert stock(town.bread) == 8, "still reserved for a second try"

    pay(client, order.number, "pm_card_visa")
    assert only_order(town.shopper_id).status == OrderStatus.PAID


@pytest.mark.parametrize(("succeed", "paid"), [(True, True), (False, False)])
def test_3d_secure_sends_the_shopper_to_the_bank_and_back(
    client: Client, town: Town, stripe_api: StripeEmulator, succeed: bool, paid: bool
) -> None:
    login(client, "camille@example.com")
    checkout(client)
    order = only_order(town.shopper_id)
    answer = pay(client, order.number, "pm_card_authenticationRequired")
    bank = answer.headers["Location"]
    assert bank.startswith(stripe_api.url), "off to the bank's page"
    assert only_order(town.shopper_id).payment_status == "requires_action"

    stripe_api.control(
        "POST", f"payment_intents/{order.payment_intent_id}/authenticate", {"success": succeed}
    )
    back = client.get(f"/commandes/{order.number}/paiement/retour")
    order = only_order(town.shopper_id)
    assert (order.status == OrderStatus.PAID) is paid
    assert back.headers["Location"].startswith(
        f"/commandes/{order.number}?merci=1" if paid else f"/commandes/{order.number}/paiement"
    )


def test_webhooks_pay_the_order_once_whatever_their_order(
    client: Client, town: Town, stripe_api: StripeEmulator
) -> None:
    """The shopper's browser is lost after paying: the webhook alone marks the order paid, once."""
    login(client, "camille@example.com")
    checkout(client)
    order = only_order(town.shopper_id)
    number, intent_id = order.number, order.payment_intent_id
    assert intent_id
    # A first attempt declined, then a success, both outside the app (the answers never reached it).
    client_ = gateway.client().v1.payment_intents
    with pytest.raises(stripe.CardError):
        client_.confirm(
            intent_id,
            params={"payment_method": "pm_card_visa_chargeDeclined", "return_url": "http://127.0.0.1/"},
        )
    client_.confirm(intent_id, params={"payment_method": "pm_card_visa", "return_url": "http://127.0.0.1/"})
    failed = stripe_api.webhooks.wait_for(
        lambda e: e["type"] == "payment_intent.payment_failed" and e["data"]["object"]["id"] == intent_id
    )
    succeeded = stripe_api.webhooks.wait_for(
        lambda e: e["type"] == "payment_intent.succeeded" and e["data"]["object"]["id"] == intent_id
    )

    def deliver(delivery: object, signature: str | None = None) -> object:
        return client.post(
            "/webhooks/stripe",
            data=delivery.payload,  # type: ignore[attr-defined]
            headers={"Stripe-Signature": signature or delivery.headers["Stripe-Signature"]},  # type: ignore[attr-defined]
        )

    assert deliver(succeeded).get_json() == {"received": True, "applied": True}  # type: ignore[attr-defined]
    assert only_order(town.shopper_id).status == OrderStatus.PAID
    # The older failure arrives late, and the success again: nothing moves back, nothing twice.
    assert deliver(failed).get_json() == {"received": True, "applied": True}  # type: ignore[attr-defined]
    assert deliver(succeeded).get_json() == {"received": True, "applied": False}  # type: ignore[attr-defined]
    order = only_order(town.shopper_id)
    assert (order.number, order.status, order.payment_error) == (number, OrderStatus.PAID, "")
    bad = deliver(succeeded, signature="t=1,v1=forged")
    assert bad.status_code == 400  # type: ignore[attr-defined]


def test_an_unpaid_order_expires_its_payment_is_cancelled_and_the_stock_comes_back(
    client: Client, town: Town, stripe_api: StripeEmulator
) -> None:
    login(client, "camille@example.com")
    checkout(client)
    order = only_order(town.shopper_id)
    with time_machine.travel(order.reserved_until + dt.timedelta(minutes=1)):
        assert tasks.release_expired() == 1
        late = pay(client, order.number, attempt="after-expiry")
    order = only_order(town.shopper_id)
    assert order.status == OrderStatus.EXPIRED
    assert intent(order).status == "canceled", "nobody can pay it any more"
    assert (stock(town.bread), stock(town.novel)) == (10, 3)
    assert late.headers["Location"] == f"/commandes/{order.number}"
    releases = db.session.scalars(sa.select(StockMovement).where(StockMovement.reason == StockReason.RELEASE))
    assert sorted(movement.delta for movement in releases) == [1, 2]


def test_a_payment_that_lands_after_expiry_takes_the_stock_again_or_is_refunded(
    client: Client, town: Town, stripe_api: StripeEmulator
) -> None:
    login(client, "camille@example.com")
    checkout(client)
    order = only_order(town.shopper_id)
    assert order.payment_intent_id
    gateway.client().v1.payment_intents.confirm(
        order.payment_intent_id, params={"payment_method": "pm_card_visa", "return_url": "http://127.0.0.1/"}
    )
    # The expiry job runs before any news of the payment: cancelling fails, the payment wins.
    with time_machine.travel(order.reserved_until + dt.timedelta(minutes=1)):
        tasks.release_expired()
    order = only_order(town.shopper_id)
    assert order.status == OrderStatus.PAID
    assert (stock(town.bread), stock(town.novel)) == (8, 2)


def test_the_form_says_what_is_missing_and_places_nothing(
    client: Client, town: Town, stripe_api: StripeEmulator
) -> None:
    login(client, "camille@example.com")
    response, _ = checkout(client, street="", accept_terms="", postcode="3700")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for message in (
        "Indiquez l’adresse de livraison.",
        "Acceptez les conditions de vente",
        "Ce code postal n’est pas valide.",
    ):
        assert message in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    assert stock(town.bread) == 10


def test_the_checkout_shows_the_withdrawal_information_and_price_changes(
    client: Client, town: Town, stripe_api: StripeEmulator
) -> None:
    from app.catalog.models import Variant

    variant = db.session.get(Variant, town.novel)
    assert variant is not None
    variant.price_cents = 2600
    db.session.commit()
    login(client, "camille@example.com")
    page = client.get("/commande").get_data(as_text=True).replace("\u202f", " ").replace("\xa0", " ")
    assert "Droit de rétractation : vous disposez de 14 jours" in page
    assert "Prix changé : 24,00 € → 26,00 €" in page


def test_checkout_needs_an_account_and_a_ready_cart(client: Client, town: Town) -> None:
    assert client.get("/commande").headers["Location"].startswith("/connexion")
    login(client, "camille@example.com")
    from app.catalog.models import Variant

    variant = db.session.get(Variant, town.novel)
    assert variant is not None
    variant.stock = 0
    db.session.commit()
    response = client.get("/commande")
    assert response.headers["Location"] == "/panier"
    assert "est épuisé" in client.get("/panier").get_data(as_text=True)


def test_a_shopper_sees_only_their_own_orders(client: Client, town: Town, stripe_api: StripeEmulator) -> None:
    login(client, "camille@example.com")
    checkout(client)
    number = only_order(town.shopper_id).number
    client.post("/deconnexion", data={"csrf_token": client.csrf_token("/")})
    from tests.factories import UserFactory

    UserFactory(email="autre@example.com")
    login(client, "autre@example.com")
    assert client.get(f"/commandes/{number}").status_code == 404
    assert client.get(f"/commandes/{number}/paiement").status_code == 404
    assert number not in client.get("/compte/commandes").get_data(as_text=True)


def test_an_address_outside_the_local_delivery_zone_is_refused(
    client: Client, town: Town, stripe_api: StripeEmulator
) -> None:
    login(client, "camille@example.com")
    response, _ = checkout(client, postcode="41000", city="Blois")
    page = response.get_data(as_text=True)
    assert "Le Fournil ne livre pas au 41000" in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 0
    assert stock(town.bread) == 10


def test_an_address_saved_at_checkout_is_offered_next_time_and_can_be_forgotten(
    client: Client, town: Town, stripe_api: StripeEmulator
) -> None:
    from app.accounts.models import Address

    login(client, "camille@example.com")
    checkout(client, save_address="y", street="8 quai des Tanneurs")
    saved = db.session.scalars(sa.select(Address)).one()
    assert (saved.street, saved.postcode, saved.phone) == ("8 quai des Tanneurs", "37000", "06 12 34 56 78")
    fill_cart(town, (town.bread, 1))
    page = client.get("/commande").get_data(as_text=True)
    assert 'value="8 quai des Tanneurs"' in page, "the latest saved address fills the form"
    assert re.search(rf"<option value=\"{saved.id}\" selected\s", page)
    client.submit(f"/compte/adresses/{saved.id}/supprimer", {}, form_url="/compte/commandes")
    assert db.session.scalars(sa.select(Address)).all() == []


def summary_parts(page: str) -> dict[str, str]:
    """Each shop's part of a checkout or payment summary, by shop name, as plain text."""
    parts = re.findall(
        r'<section class="summary-part" data-testid="summary-part">(.*?)</section>', page, re.S
    )
    found = {}
    for part in parts:
        name = re.search(r"<h3>(.*?)</h3>", part)
        assert name is not None
        found[name.group(1)] = " ".join(re.sub(r"<[^>]+>", " ", part).split()).replace("\u202f", " ")
    return found


def test_each_part_of_the_summary_says_how_and_where_it_comes(
    client: Client, app_ctx: Flask, stripe_api: StripeEmulator
) -> None:
    from app.cart import services as cart_services
    from app.cart import slots
    from app.cart.models import DeliveryMethod
    from app.database import utcnow
    from tests.factories import ProductFactory, RelayPointFactory, ShopFactory
    from vendors.hours import TOWN_TZ
    from vendors.models import Shop

    town = make_town()
    books = db.session.get(Shop, town.books_id)
    assert books is not None
    books.street = "3 quai du Pont"
    point = RelayPointFactory(name="Tabac de la Gare", street="2 place de la Gare", postcode="37000")
    garden = ShopFactory(
        name="Les Jardins de Flore",
        street="9 rue des Lilas",
        click_collect=False,
        local_delivery=False,
        relay=True,
        relay_points=[point],
    )
    plant = ProductFactory(shop=garden, title="Basilic", variants=[{"price_cents": 390, "stock": 5}])
    shopper_cart = cart_services.open_cart(town.shopper(), None)
    for variant_id in (town.bread, town.novel, plant.variants[0].id):
        cart_services.add(shopper_cart, variant_id, 1)
    cart_services.set_postcode(shopper_cart, "37000")
    db.session.flush()
    slot = slots.pickup_slots(books, utcnow())[0]
    cart_services.choose_delivery(shopper_cart, town.baker_id, DeliveryMethod.LOCAL_DELIVERY)
    cart_services.choose_delivery(
        shopper_cart, books.id, DeliveryMethod.CLICK_COLLECT, pickup_slot=slot.start
    )
    cart_services.choose_delivery(shopper_cart, garden.id, DeliveryMethod.RELAY, point.id)
    db.session.commit()
    hour = f"{slot.start.astimezone(TOWN_TZ):%H:%M}"
    login(client, "camille@example.com")

    def check(parts: dict[str, str], home: str) -> None:
        assert sorted(parts) == ["Le Fournil", "Les Jardins de Flore", "Librairie du Pont"]
        bakery, bookshop, garden_part = (
            parts["Le Fournil"],
            parts["Librairie du Pont"],
            parts["Les Jardins de Flore"],
        )
        assert "Livraison locale" in bakery
        assert home in bakery
        assert "Retrait en boutique" in bookshop
        assert "Librairie du Pont, 3 quai du Pont, 37000 Bellerive-sur-Loire" in bookshop
        assert re.search(rf"Créneau : \w+ \d+ \w+, {hour}", bookshop), bookshop
        assert "Point relais" in garden_part
        assert "Tabac de la Gare, 2 place de la Gare, 37000" in garden_part
        for other in (bookshop, garden_part):
            assert "15 rue de la Paix" not in other, "the home address is only under home or local delivery"

    review = client.get("/commande").get_data(as_text=True)
    check(summary_parts(review), "À l’adresse de livraison indiquée dans le formulaire")
    checkout(client)
    order = only_order(town.shopper_id)
    payment_page = client.get(f"/commandes/{order.number}/paiement").get_data(as_text=True)
    check(summary_parts(payment_page), "Camille Martin, 15 rue de la Paix, 37000 Bellerive-sur-Loire")


def test_the_checkout_steps_show_the_steps_done_and_the_current_one(
    client: Client, town: Town, stripe_api: StripeEmulator
) -> None:
    def steps(page: str) -> list[tuple[str, str]]:
        found = re.search(r'<ol class="checkout-steps" aria-label="Étapes">(.*?)</ol>', page, re.S)
        assert found is not None
        items = re.findall(r'<li( class="[^"]+")?( aria-current="step")?>(.*?)</li>', found.group(1), re.S)
        return [(css.strip(), " ".join(re.sub(r"<[^>]+>", " ", text).split())) for css, _, text in items]

    login(client, "camille@example.com")
    review = client.get("/commande").get_data(as_text=True)
    assert steps(review) == [
        ('class="is-done"', "Panier (terminée)"),
        ('class="is-current"', "Coordonnées"),
        ("", "Paiement"),
    ]
    assert '<li class="is-done"><a href="/panier">Panier</a>' in review
    checkout(client)
    payment_page = client.get(f"/commandes/{only_order(town.shopper_id).number}/paiement").get_data(
        as_text=True
    )
    assert steps(payment_page) == [
        ('class="is-done"', "Panier (terminée)"),
        ('class="is-done"', "Coordonnées (terminée)"),
        ('class="is-current"', "Paiement"),
    ]
    assert 'aria-current="step">Paiement</li>' in payment_page
