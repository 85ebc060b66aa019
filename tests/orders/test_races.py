"""The checkout and the payment under concurrent requests, as a double click, a flaky network, several tabs
or a webhook racing the shopper's return from the bank make them: real commits on a database of their
own, real row locks, a Stripe emulator of their own (so every PaymentIntent and charge in it is theirs).

Whatever the race, there is one order, one charge, one e-mail of each kind, never a 500, and every
request gets the answer the first one got.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.test import TestResponse

from app.accounts.models import User
from app.cart import services as cart_services
from app.extensions import db, limiter
from app.orders import services as orders
from app.orders.models import Order, OrderStatus, VendorOrderStatus
from payouts import gateway
from payouts.models import LedgerTransaction, TransactionKind
from tests.factories import UserFactory
from tests.orders.support import (
    ADDRESS,
    ATTEMPT,
    TOKEN,
    Town,
    fill_cart,
    login,
    make_town,
    only_order,
    stock,
)
from tests.plugins.application import Client, Mailbox, at_once, own_database_app
from tests.plugins.services import Services
from tests.plugins.stripe import StripeEmulator, running_emulator

SHOPPER = "camille@example.com"
CONTACT = {key: value for key, value in ADDRESS.items() if key != "accept_terms"}


@dataclass(frozen=True)
class Seen:
    """The shopper's one order, as the database holds it after the race."""

    number: str
    checkout_token: str
    status: OrderStatus
    payment_intent_id: str | None
    part_statuses: set[VendorOrderStatus]


@dataclass
class Race:
    app: Flask
    stripe: StripeEmulator
    town: Town
    client: Client  # signed in as the shopper

    def clients(self, count: int) -> list[Client]:
        """Browsers (or tabs) of the same signed-in shopper: each its own cookie jar, the same session."""
        cookie = self.client.get_cookie("session")
        assert cookie is not None
        made = []
        for _ in range(count):
            other = self.app.test_client()
            other.set_cookie("session", cookie.value)
            made.append(other)
        return made  # type: ignore[return-value]

    def all_at_once(self, requests: Sequence[Callable[[], TestResponse]]) -> list[TestResponse]:
        """Send the requests together, each from its own thread and database session."""
        answers: list[TestResponse] = []
        lock = threading.Lock()

        def send(request: Callable[[], TestResponse]) -> None:
            answer = request()
            with lock:
                answers.append(answer)

        at_once(self.app, send, [(request,) for request in requests])
        return answers

    def order(self) -> Seen:
        with self.app.app_context():
            order = only_order(self.town.shopper_id)
            return Seen(
                order.number,
                order.checkout_token,
                order.status,
                order.payment_intent_id,
                {part.status for part in order.vendor_orders},
            )

    def stripe_books(self) -> tuple[int, int]:
        """How many PaymentIntents and charges the emulator holds: all of them are this test's."""
        with self.app.test_request_context("/"):
            stripe = gateway.client().v1
            return len(stripe.payment_intents.list().data), len(stripe.charges.list().data)

    def mail_subjects(self, address: str) -> list[str]:
        return [message.subject for message in Mailbox(self.app).to(address)]


@pytest.fixture
def race(services: Services, postgres_only: None, tmp_path: Path) -> Iterator[Race]:
    (tmp_path / "stripe").mkdir()
    with (
        own_database_app(services, tmp_path, "marketplace_pay_race") as application,
        running_emulator(tmp_path / "stripe") as stripe,
    ):
        application.config["STRIPE_API_BASE"] = stripe.url
        application.test_client_class = Client
        try:
            with application.test_request_context("/"):
                limiter.reset()  # the payment page's limit counts this test's posts only
                town = make_town()
                db.session.commit()
                fill_cart(town, (town.bread, 2), (town.novel, 1))
                db.session.remove()
            client: Client = application.test_client()  # type: ignore[assignment]
            login(client, SHOPPER)
            yield Race(application, stripe, town, client)
        finally:
            gateway.close_clients(application)


def placed(race: Race) -> str:
    """Check out once, as the shopper does; the order's number."""
    page = race.client.get("/commande").get_data(as_text=True)
    token = TOKEN.search(page)
    assert token is not None
    answer = race.client.submit("/commande", {**ADDRESS, "checkout_token": token.group(1)})
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]
    return race.order().number


def payment_post(
    client: Client, number: str, csrf: str, attempt: str, card: str
) -> Callable[[], TestResponse]:
    return lambda: client.post(
        f"/commandes/{number}/paiement",
        data={"csrf_token": csrf, "payment_method": card, "attempt": attempt},
    )


def payment_form(client: Client, number: str) -> tuple[str, str]:
    """The payment page as a tab shows it: its CSRF token and its own attempt token."""
    page = client.get(f"/commandes/{number}/paiement").get_data(as_text=True)
    attempt = ATTEMPT.search(page)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert attempt, page[:2000]
    assert csrf, page[:2000]
    return csrf.group(1), attempt.group(1)


def flashed(client: Client) -> list[str]:
    """The messages waiting in the browser's session for the next page."""
    with client.session_transaction() as session:
        return [str(message) for _, message in session.get("_flashes", [])]


def assert_paid_once(race: Race) -> None:
    order = race.order()
    assert order.status == OrderStatus.PAID
    assert order.part_statuses == {VendorOrderStatus.PAID}
    assert race.stripe_books() == (1, 1), "one PaymentIntent, one charge"
    assert race.mail_subjects(SHOPPER) == [f"Commande {order.number} confirmée"]
    for shop in (race.town.baker_owner_email, race.town.books_owner_email):
        assert race.mail_subjects(shop) == [f"Nouvelle commande {order.number}"]
    with race.app.app_context():
        sales = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(LedgerTransaction)
            .where(LedgerTransaction.kind == TransactionKind.SALE)
        )
    assert sales == 3, (
        "the payment is written in the ledger once, for each shop's part, and Stripe's fee once"
    )


def test_the_payment_form_posted_ten_times_at_once_pays_and_confirms_once(race: Race) -> None:
    number = placed(race)
    csrf, attempt = payment_form(race.client, number)
    answers = race.all_at_once(
        [payment_post(tab, number, csrf, attempt, "pm_card_visa") for tab in race.clients(10)]
    )
    assert [(answer.status_code, answer.headers.get("Location")) for answer in answers] == [
        (302, f"/commandes/{number}?merci=1")
    ] * 10
    assert_paid_once(race)


def test_five_tabs_paying_the_same_order_at_once_pay_once_and_none_says_the_bank_refused(race: Race) -> None:
    number = placed(race)
    tabs = race.clients(5)
    forms = [payment_form(tab, number) for tab in tabs]
    assert len({attempt for _, attempt in forms}) == 5, "each tab its own payment form"
    answers = race.all_at_once(
        [
            payment_post(tab, number, csrf, attempt, "pm_card_visa")
            for tab, (csrf, attempt) in zip(tabs, forms, strict=True)
        ]
    )
    assert [(answer.status_code, answer.headers.get("Location")) for answer in answers] == [
        (302, f"/commandes/{number}?merci=1")
    ] * 5
    assert [flashed(tab) for tab in tabs] == [[]] * 5, "no tab is told the bank refused"
    assert_paid_once(race)


def test_five_tabs_paying_with_3d_secure_at_once_are_all_sent_to_the_bank(race: Race) -> None:
    number = placed(race)
    tabs = race.clients(5)
    forms = [payment_form(tab, number) for tab in tabs]
    answers = race.all_at_once(
        [
            payment_post(tab, number, csrf, attempt, "pm_card_authenticationRequired")
            for tab, (csrf, attempt) in zip(tabs, forms, strict=True)
        ]
    )
    assert [answer.status_code for answer in answers] == [302] * 5
    assert all(answer.headers["Location"].startswith(race.stripe.url) for answer in answers), [
        answer.headers["Location"] for answer in answers
    ]
    assert [flashed(tab) for tab in tabs] == [[]] * 5, "no tab is told the bank refused"
    intent_id = race.order().payment_intent_id
    race.stripe.control("POST", f"payment_intents/{intent_id}/authenticate", {"success": True})
    back = tabs[0].get(f"/commandes/{number}/paiement/retour")
    assert back.headers["Location"] == f"/commandes/{number}?merci=1"
    assert_paid_once(race)


def test_a_payment_confirmed_by_an_attempt_whose_answer_was_lost_is_found_not_refused(race: Race) -> None:
    """The PaymentIntent succeeded (an earlier attempt, or another tab, whose answer never reached us):
    Stripe refuses to confirm it again, and the shopper is told it is paid, not that the bank said no."""
    number = placed(race)
    csrf, attempt = payment_form(race.client, number)
    intent_id = race.order().payment_intent_id
    assert intent_id
    with race.app.test_request_context("/"):
        gateway.client().v1.payment_intents.confirm(
            intent_id, params={"payment_method": "pm_card_visa", "return_url": "http://127.0.0.1/"}
        )
    answer = payment_post(race.client, number, csrf, attempt, "pm_card_visa")()
    assert (answer.status_code, answer.headers["Location"]) == (302, f"/commandes/{number}?merci=1")
    assert flashed(race.client) == []
    assert_paid_once(race)


def test_the_return_from_3d_secure_racing_the_webhook_confirms_once(race: Race) -> None:
    number = placed(race)
    csrf, attempt = payment_form(race.client, number)
    bank = payment_post(race.client, number, csrf, attempt, "pm_card_authenticationRequired")()
    assert bank.headers["Location"].startswith(race.stripe.url), "off to the bank's page"
    intent_id = race.order().payment_intent_id
    race.stripe.control("POST", f"payment_intents/{intent_id}/authenticate", {"success": True})
    succeeded = race.stripe.webhooks.wait_for(
        lambda event: (
            event["type"] == "payment_intent.succeeded" and event["data"]["object"]["id"] == intent_id
        )
    )
    browser, stripe = race.clients(1)[0], race.app.test_client()
    answers = race.all_at_once(
        [
            lambda: browser.get(f"/commandes/{number}/paiement/retour"),
            lambda: stripe.post(
                "/webhooks/stripe",
                data=succeeded.payload,
                headers={"Stripe-Signature": succeeded.headers["Stripe-Signature"]},
            ),
        ]
    )
    assert sorted(answer.status_code for answer in answers) == [200, 302]
    back = next(answer for answer in answers if answer.status_code == 302)
    assert back.headers["Location"] == f"/commandes/{number}?merci=1"
    assert_paid_once(race)


def test_the_checkout_form_posted_five_times_at_once_places_one_order(race: Race) -> None:
    page = race.client.get("/commande").get_data(as_text=True)
    token = TOKEN.search(page)
    assert token is not None
    csrf = race.client.csrf_token("/commande")
    data = {**ADDRESS, "checkout_token": token.group(1), "csrf_token": csrf}
    tabs = race.clients(5)
    answers = race.all_at_once([functools.partial(tab.post, "/commande", data=data) for tab in tabs])
    number = race.order().number  # one order, or this fails
    expected = (302, f"/commandes/{number}/paiement")
    assert [(answer.status_code, answer.headers.get("Location")) for answer in answers] == [expected] * 5
    # The same form once more, later (the browser resends it): the same order, not "your cart is empty".
    again = race.client.post("/commande", data=data)
    assert (again.status_code, again.headers.get("Location")) == expected
    assert flashed(race.client) == [], "not told the cart is empty"
    with race.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1
        assert (stock(race.town.bread), stock(race.town.novel)) == (8, 2), "reserved once"
    assert race.stripe_books()[0] == 1, "one PaymentIntent"


def test_two_checkout_forms_of_one_cart_posted_at_once_place_one_order(race: Race) -> None:
    """Two tabs, each with its own checkout form: the cart is ordered once, the other tab is sent back to
    the cart, told it is empty (it waited on the cart and read it afresh, lines included)."""
    tabs = race.clients(2)
    posts = []
    for tab in tabs:
        page = tab.get("/commande").get_data(as_text=True)
        token = TOKEN.search(page)
        assert token is not None
        data = {**ADDRESS, "checkout_token": token.group(1), "csrf_token": tab.csrf_token("/commande")}
        posts.append(functools.partial(tab.post, "/commande", data=data))
    answers = race.all_at_once(posts)
    number = race.order().number  # one order, or this fails
    assert sorted(answer.headers["Location"] for answer in answers) == [
        f"/commandes/{number}/paiement",
        "/panier",
    ]
    assert sorted(flashed(tab) for tab in tabs) == [[], ["Votre panier est vide."]]
    with race.app.app_context():
        assert (stock(race.town.bread), stock(race.town.novel)) == (8, 2), "reserved once"


def test_an_order_already_placed_with_the_form_is_found_after_the_cart_was_emptied(race: Race) -> None:
    """The checkout looks its token up first: the order made with it, even once the cart is empty."""
    number = placed(race)
    token = race.order().checkout_token
    csrf = race.client.csrf_token("/panier")
    again = race.client.post("/commande", data={**ADDRESS, "checkout_token": token, "csrf_token": csrf})
    assert (again.status_code, again.headers.get("Location")) == (302, f"/commandes/{number}/paiement")


def placing_in_parallel(race: Race, shopper_ids: tuple[int, int], token: str) -> list[Any]:
    """Two placings with the same checkout token, each in its own transaction: the second starts while
    the first holds its order uncommitted, and waits. What each returned (an order number) or raised."""
    outcomes: list[Any] = [None, None]
    first_placed = threading.Event()
    first_may_commit = threading.Event()

    def place(index: int) -> None:
        with race.app.test_request_context("/"):
            try:
                if index == 1:
                    first_placed.wait(10)
                user = db.session.get(User, shopper_ids[index])
                assert user is not None
                cart = cart_services.find_cart(user, None)
                assert cart is not None
                outcomes[index] = orders.place_order(user, cart, orders.Contact(**CONTACT), token).number
                if index == 0:
                    db.session.flush()
                    first_placed.set()
                    first_may_commit.wait(10)
                db.session.commit()
            except BaseException as error:
                outcomes[index] = error
                db.session.rollback()
            finally:
                first_placed.set()
                db.session.remove()

    threads = [threading.Thread(target=place, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    first_placed.wait(10)
    threads[1].join(1.5)  # the second is now waiting on a row the first holds
    first_may_commit.set()
    for thread in threads:
        thread.join(60)
    return outcomes


def test_the_same_form_placed_twice_in_parallel_gives_the_first_order(race: Race) -> None:
    shopper = race.town.shopper_id
    first, second = placing_in_parallel(race, (shopper, shopper), "same-form")
    assert isinstance(first, str)
    assert second == first
    with race.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1
        assert (stock(race.town.bread), stock(race.town.novel)) == (8, 2), "reserved once"


def test_a_checkout_token_met_in_the_unique_index_is_answered_not_a_500(race: Race) -> None:
    """Another shopper's placing with the same token (a forged form) gets past every check and meets the
    unique index: told the form has served, its stock reservation undone, nothing is left half-made."""
    with race.app.test_request_context("/"):
        other: User = UserFactory(email="dominique@example.com")  # type: ignore[assignment]
        db.session.commit()
        other_town = dataclasses.replace(race.town, shopper_id=other.id)
        fill_cart(other_town, (race.town.bread, 1))
        other_id = other.id
        db.session.remove()
    first, second = placing_in_parallel(race, (race.town.shopper_id, other_id), "forged-form")
    assert isinstance(first, str)
    assert isinstance(second, orders.OrderError)
    assert str(second.message) == "Ce formulaire de commande a déjà servi."
    with race.app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Order)) == 1
        assert stock(race.town.bread) == 8, "the second placing's reservation is undone"
