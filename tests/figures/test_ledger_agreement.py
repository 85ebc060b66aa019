"""The dashboard's money agrees with the ledger to the cent: orders placed and paid through the
services against the Stripe emulator, a shop's cancellation, a partial refund and a withdrawal; then
the rollup, the town's totals and the page against the ledger's own sums."""

from __future__ import annotations

import html
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, g

from app.extensions import db
from app.figures import services, tasks
from app.money import format_money
from app.orders import services as orders
from app.orders.models import Order
from payouts import commission, ledger
from payouts.models import LedgerAccount, RuleScope, TransactionKind
from tests.catalog.test_categories import login_manager
from tests.factories import UserFactory
from tests.orders.support import Town, fill_cart, make_town, part_of
from tests.orders.test_lifecycle import place_and_pay
from tests.plugins.application import Client
from tests.plugins.stripe import StripeEmulator


@pytest.fixture
def town(app_ctx: Flask, own_stripe_api: StripeEmulator) -> Town:
    made = make_town()
    manager: Any = UserFactory(manager=True)
    commission.set_rule(manager, RuleScope.PLATFORM, None, 1000)
    db.session.commit()
    return made


def _fresh(order: Order) -> Order:
    db.session.expire_all()
    found = db.session.get(Order, order.id)
    assert found is not None
    return found


def _shop_sales(shop_ids: list[int]) -> int:
    """What the shops' pending accounts received from payments, as the ledger keeps it."""
    return sum(
        ledger.totals_by_kind(ledger.pending(shop_id)).get(TransactionKind.SALE, 0) for shop_id in shop_ids
    )


def test_gmv_commission_and_refunds_equal_the_ledgers_sums(
    town: Town, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_cart(town, (town.bread, 2), (town.cake, 1), (town.novel, 1))
    first = place_and_pay(town)
    fill_cart(town, (town.novel, 1))
    second = place_and_pay(town)

    # The bookshop cancels the second order; the bakery gives back 1,37 € on the first.
    books = part_of(_fresh(second), town.books_id)
    orders.accept(books)
    orders.cancel_by_shop(books, "Plus en stock")
    db.session.commit()
    bakery = part_of(_fresh(first), town.baker_id)
    orders.refund_partial(bakery, token="c" * 32, note="Tarte abîmée", amount_cents=137)
    db.session.commit()
    # The bookshop's part of the first order is delivered, then withdrawn and its goods received.
    books = part_of(_fresh(first), town.books_id)
    orders.accept(books)
    orders.ship(books, "La Poste", "6A1")
    orders.mark_delivered(books)
    db.session.commit()
    orders.request_withdrawal(books, {books.lines[0].id: 1}, "Déjà lu")
    db.session.commit()
    books = part_of(_fresh(first), town.books_id)
    orders.receive_return(books)
    db.session.commit()

    today = services.today()
    assert tasks.rollup_range(today, today) == 1
    totals = services.town_totals(today, today)

    gmv = _shop_sales([town.baker_id, town.books_id])
    stripe_moves = ledger.totals_by_kind(ledger.STRIPE)
    refunds = -stripe_moves[TransactionKind.REFUND]
    earned = ledger.balance(ledger.COMMISSION)
    assert gmv == first.total_cents + second.total_cents
    assert (totals.gmv_cents, totals.refunds_cents, totals.commission_cents) == (gmv, refunds, earned)
    assert refunds == 137 + second.total_cents + part_of(_fresh(first), town.books_id).refunded_cents
    assert (totals.checkouts, totals.orders, totals.items, totals.withdrawals) == (2, 3, 5, 1)
    assert (totals.buyers, totals.new_buyers, totals.shops_selling) == (1, 1, 2)
    # The platform's commission is 10 % of the goods left after refunds, as the ledger says.
    assert earned > 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerAccount)) > 0

    # The page shows the same figures, formatted.
    original = client.open

    def open_(*args: Any, **kwargs: Any) -> Any:
        g.pop("_login_user", None)
        return original(*args, **kwargs)

    monkeypatch.setattr(client, "open", open_)
    login_manager(client)
    page = html.unescape(client.get("/gestion/?periode=7j").get_data(as_text=True))
    for cents in (gmv - refunds, gmv, refunds, earned):
        assert format_money(cents, locale="fr") in page
    csv = client.get("/gestion/chiffres.csv?periode=7j").get_data(as_text=True)
    assert f"Ventes TTC;{gmv // 100},{gmv % 100:02d};0" in csv
