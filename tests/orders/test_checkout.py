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
    assert second.headers["Location"] == f"/commandes/{order.number}"
    assert len(charges_of(only_order(town.shopper_id))) == 1
    third = pay(client, order.number, attempt="later-click")  # a new attempt on a paid order pays nothing
    assert third.headers["Location"] == f"/commandes/{order.number}"
    assert len(charges_of(only_order(town.shopper_id))) == 1


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
