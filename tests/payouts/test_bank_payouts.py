"""The shop's payouts from its Stripe account to its bank, next to its transfers, for its owner only."""

from __future__ import annotations

import html
from typing import Any

import pytest
import time_machine
from flask import Flask

from app.extensions import db
from app.money import format_money
from payouts import gateway, tasks
from tests.factories import UserFactory
from tests.orders.support import Town, fill_cart, login, make_town
from tests.orders.test_lifecycle import place_and_pay
from tests.payouts.support import after_hold, connect, deliver
from tests.plugins.application import Client
from tests.plugins.stripe import StripeEmulator
from vendors.models import MemberRole, ShopMember

FINANCES = "/vendeur/librairie-du-pont/finances"


def text(page: str) -> str:
    return html.unescape(page).replace("\u202f", " ").replace("\xa0", " ")


def euros(cents: int) -> str:
    return text(format_money(cents))


@pytest.fixture
def town(app_ctx: Flask, stripe_api: StripeEmulator) -> Town:
    made = make_town()
    fill_cart(made, (made.novel, 2))
    return made


@pytest.fixture
def paid_shop(town: Town, stripe_api: StripeEmulator) -> str:
    """The bookshop, connected, with its part of an order transferred to its Stripe account."""
    account = connect(town.books_id, stripe_api)
    order = place_and_pay(town)
    deliver(order, town.books_id)
    with time_machine.travel(after_hold()):
        assert tasks.transfer_due() == 1
    return account


def test_the_owner_sees_the_bank_payouts_next_to_the_transfers(
    client: Client, town: Town, stripe_api: StripeEmulator, paid_shop: str
) -> None:
    returned = stripe_api.control("POST", f"accounts/{paid_shop}/payout", {"amount": 1234})
    stripe_api.control("POST", f"payouts/{returned['id']}/fail", {"code": "no_account"})
    payout: Any = gateway.client().v1.payouts.create(
        params={"amount": 2001, "currency": "eur"}, options={"stripe_account": paid_shop}
    )
    assert payout.status == "paid"

    login(client, town.books_owner_email)
    response = client.get(FINANCES)
    assert response.status_code == 200
    page = text(response.get_data(as_text=True))
    listed = page[page.index('data-testid="bank-payouts"') :]
    assert euros(2001) in listed
    assert euros(1234) in listed
    assert "versé" in listed
    assert "échoué" in listed
    assert "No bank account could be located with those details." in listed
    assert listed.index(euros(2001)) < listed.index(euros(1234)), "newest first"
    assert 'data-testid="transfers"' in page


def test_staff_may_not_see_the_finances(client: Client, town: Town) -> None:
    db.session.add(
        ShopMember(
            shop_id=town.books_id, user=UserFactory(email="vendeur@example.com"), role=MemberRole.STAFF
        )
    )
    db.session.commit()
    login(client, "vendeur@example.com")
    assert client.get(FINANCES).status_code == 403


def test_the_finances_page_says_when_stripe_cannot_be_reached(
    app_ctx: Flask, client: Client, town: Town, paid_shop: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    login(client, town.books_owner_email)
    monkeypatch.setitem(app_ctx.config, "STRIPE_API_BASE", "http://127.0.0.1:9")  # nothing listens there
    response = client.get(FINANCES)
    assert response.status_code == 200
    page = text(response.get_data(as_text=True))
    assert 'data-testid="bank-payouts-unavailable"' in page
    assert "Stripe ne répond pas pour l’instant" in page
    assert "Déjà viré" in page, "the rest of the page is there"
