"""The shop's finances page and the manager's money console."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import time_machine
from flask import Flask

from app.extensions import db
from payouts import tasks
from payouts.models import Plan
from tests.catalog.test_categories import field_errors, login_manager
from tests.orders.support import Town, fill_cart, login, make_town
from tests.orders.test_lifecycle import place_and_pay
from tests.payouts.support import after_hold, connect, deliver
from tests.plugins.application import Client
from tests.plugins.stripe import StripeEmulator


def text(page: str) -> str:
    return html.unescape(page).replace("\u202f", " ").replace("\xa0", " ")


@pytest.fixture
def town(app_ctx: Flask, stripe_api: StripeEmulator) -> Town:
    made = make_town()
    fill_cart(made, (made.novel, 1))
    return made


def test_the_shop_sees_what_is_pending_available_and_paid_out(
    client: Client, town: Town, stripe_api: StripeEmulator
) -> None:
    connect(town.books_id, stripe_api)
    order = place_and_pay(town)
    part = next(p for p in order.vendor_orders if p.shop_id == town.books_id)
    owed = part.total_cents - part.commission_cents - part.commission_vat_cents
    login(client, town.books_owner_email)
    page = text(client.get("/vendeur/librairie-du-pont/finances").get_data(as_text=True))
    assert "après la livraison" in page
    deliver(order, town.books_id)
    with time_machine.travel(after_hold()):
        tasks.transfer_due()
    page = text(client.get("/vendeur/librairie-du-pont/finances").get_data(as_text=True))
    from app.money import format_money

    assert format_money(owed).replace("\u202f", " ").replace("\xa0", " ") in page
    assert "Rien en attente." in page


def test_the_manager_sets_rules_and_plans_and_bad_values_are_refused(client: Client, app_ctx: Flask) -> None:
    login_manager(client)
    response = client.submit("/gestion/commissions", {"scope": "platform", "target": "0", "rate": "150"})
    assert "Un pourcentage entre 0 et 100" in text(response.get_data(as_text=True))
    response = client.submit(
        "/gestion/commissions", {"scope": "platform", "target": "0", "rate": "9,5", "fixed_fee": "0,25"}
    )
    assert response.status_code == 302
    page = text(client.get("/gestion/commissions").get_data(as_text=True))
    assert "9,5 %" in page
    assert "0,25 €" in page

    response = client.submit(
        "/gestion/forfaits", {"name": "Premium", "slug": "premium", "monthly_price": "-3", "commission": "5"}
    )
    page = response.get_data(as_text=True)
    assert field_errors(page, "monthly_price") == ["Le montant ne peut pas être négatif."]
    response = client.submit(
        "/gestion/forfaits",
        {"name": "Premium", "slug": "premium", "monthly_price": "49", "commission": "5", "product_limit": ""},
    )
    assert response.status_code == 302
    plan = db.session.query(Plan).filter_by(slug="premium").one()
    assert (plan.monthly_price_cents, plan.product_limit) == (4900, None)
    assert "Premium" in text(client.get("/gestion/forfaits").get_data(as_text=True))
    assert client.get(f"/gestion/forfaits/{plan.id}").status_code == 200
    missing = f"/gestion/forfaits/{plan.id + 1000}"  # no such plan: not the form of a new one
    assert client.get(missing).status_code == 404
    assert client.post(
        missing, data={"name": "Fantôme", "slug": "fantome", "monthly_price": "1"}
    ).status_code in (
        400,
        404,
    )
    assert db.session.query(Plan).filter_by(slug="fantome").one_or_none() is None
    figures = text(client.get("/gestion/finances").get_data(as_text=True))
    assert "Solde Stripe de la plateforme" in figures


def test_the_console_is_for_the_manager_only(client: Client, town: Town) -> None:
    login(client, town.books_owner_email)
    for url in (
        "/gestion/finances",
        "/gestion/commissions",
        "/gestion/forfaits",
        "/gestion/finances/rapprochement",
    ):
        assert client.get(url).status_code in (302, 403, 404), url


def test_the_statement_offered_is_of_the_towns_month_and_day(client: Client, town: Town) -> None:
    # 23:30 UTC on 30 November is 00:30 on 1 December in the town: the statement offered is December's.
    with time_machine.travel(dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC), tick=False):
        login(client, town.books_owner_email)
        page = client.get("/vendeur/librairie-du-pont/finances").get_data(as_text=True)
    assert re.search(r'name="start"[^>]*value="2026-12-01"', page), "from the first of the town's month"
    assert re.search(r'name="end"[^>]*value="2026-12-01"', page), "to the town's day"
