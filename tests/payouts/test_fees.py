"""Stripe's fees: each payment's fee, read from its balance transaction, is written to the ledger with the
payment (the platform's expense, or each shop's share when shops bear them); refunds keep it; so is a
subscription invoice's; and the reconciliation, which compares net amounts, agrees to the cent."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

import config
from app import money
from app.cart import services as cart
from app.cart.models import DeliveryMethod
from app.extensions import db
from app.money import format_money
from app.orders import services as orders
from app.orders.models import Order
from payouts import documents, gateway, ledger, reports, services, subscriptions
from payouts.models import LedgerTransaction, Plan, TransactionKind
from tests.catalog.test_categories import login_manager
from tests.factories import ProductFactory, ShopFactory, UserFactory, owner_of
from tests.orders.support import Town, fill_cart, make_town, part_of
from tests.orders.test_lifecycle import place_and_pay
from tests.payouts.test_end_to_end import deliver_webhooks
from tests.plugins.application import Client
from tests.plugins.stripe import StripeEmulator
from vendors.hours import TOWN_TZ
from vendors.models import Shop


@pytest.fixture
def town(app_ctx: Flask, own_stripe_api: StripeEmulator) -> Town:
    return make_town()


def three_shop_order(town: Town) -> Order:
    """Bread from the bakery, two novels from the bookshop, three bottles from a cellar: one payment."""
    cellar = owner_of(
        ShopFactory(name="La Cave", slug="la-cave", local_delivery=False, home_delivery=True),
        email="caviste@example.com",
    )
    wine = ProductFactory(
        shop=cellar.shop, title="Muscadet", vat_bps=2000, variants=[{"price_cents": 1275, "stock": 12}]
    )
    cellar_id, wine_id = cellar.shop.id, wine.variants[0].id
    db.session.commit()
    fill_cart(town, (town.bread, 2), (town.novel, 2))
    shopper_cart = cart.find_cart(town.shopper(), None)
    assert shopper_cart is not None
    cart.add(shopper_cart, wine_id, 3)
    cart.choose_delivery(shopper_cart, cellar_id, DeliveryMethod.HOME_DELIVERY)
    db.session.commit()
    order = place_and_pay(town)
    assert len(order.vendor_orders) == 3
    return order


def charge_transaction(order: Order) -> dict[str, Any]:
    """The balance transaction of the order's charge, as Stripe keeps it."""
    assert order.charge_id is not None
    charge = gateway.client().v1.charges.retrieve(order.charge_id, params={"expand": ["balance_transaction"]})
    return dict(charge.to_dict()["balance_transaction"])


def fee_transactions() -> list[LedgerTransaction]:
    return list(
        db.session.scalars(sa.select(LedgerTransaction).where(LedgerTransaction.key.like("%stripe-fee")))
    )


def held(order: Order, shop_id: int) -> int:
    return ledger.balance(ledger.pending(shop_id), vendor_order_id=part_of(order, shop_id).id)


def test_a_payment_records_stripes_fee_as_the_platforms_expense_and_the_books_agree(
    client: Client, town: Town
) -> None:
    order = three_shop_order(town)
    transaction = charge_transaction(order)
    fee = (order.total_cents * 150 + 5_000) // 10_000 + 25  # EEA cards: 1.5 % + 0,25 €
    assert (transaction["amount"], transaction["fee"], transaction["net"]) == (
        order.total_cents,
        fee,
        order.total_cents - fee,
    )

    (recorded,) = fee_transactions()
    assert (recorded.key, recorded.kind, recorded.stripe_id) == (
        f"order-{order.id}-stripe-fee",
        TransactionKind.SALE,
        order.charge_id,
    )
    assert ledger.balance(ledger.STRIPE_FEES) == fee
    assert ledger.balance(ledger.STRIPE) == transaction["net"]
    for part in order.vendor_orders:  # the platform bears it: the shops' parts are untouched
        assert (
            held(order, part.shop_id) == part.total_cents - part.commission_cents - part.commission_vat_cents
        )

    report = reports.reconcile()
    assert report.differences == []
    assert report.stripe_balance_cents == report.ledger_balance_cents == order.total_cents - fee

    services.record_payment(order)  # the same payment told again: nothing more
    db.session.commit()
    assert len(fee_transactions()) == 1
    assert ledger.balance(ledger.STRIPE_FEES) == fee

    assert reports.platform_figures().stripe_fees_cents == fee
    login_manager(client)
    page = client.get("/gestion/finances").get_data(as_text=True)
    assert re.search(r'data-testid="stripe-fees">([^<]*)<', page).group(1) == format_money(fee)  # type: ignore[union-attr]


def test_shops_bearing_the_fees_are_charged_shares_that_sum_to_it_on_their_statements(
    town: Town, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "STRIPE_FEES_BORNE_BY", "shops")
    order = three_shop_order(town)
    fee = int(charge_transaction(order)["fee"])
    parts = list(order.vendor_orders)
    shares = money.allocate(fee, [part.total_cents for part in parts])
    assert sum(shares) == fee
    assert len(set(shares)) > 1, "parts of different amounts bear different shares"

    assert ledger.balance(ledger.STRIPE_FEES) == 0, "passed on in full"
    for part, share in zip(parts, shares, strict=True):
        commission = part.commission_cents + part.commission_vat_cents
        assert held(order, part.shop_id) == part.total_cents - commission - share
        paid_on = order.created_at.astimezone(TOWN_TZ).date()  # statements count the town's days
        statement = documents.statement(part.shop_id, paid_on, paid_on)
        (row,) = statement.rows
        assert row.stripe_fees_cents == share
        assert row.net_due_cents == part.total_cents - commission - share
        assert statement.totals.stripe_fees_cents == share
        header, line, _total = documents.statement_csv(statement).lstrip("\ufeff").splitlines()
        assert "Frais Stripe" in header.split(";")
        assert line.split(";")[header.split(";").index("Frais Stripe")] == str(
            money.cents_to_decimal(share)
        ).replace(".", ",")
        assert documents.statement_pdf(statement).startswith(b"%PDF")
    assert reports.reconcile().differences == []


def test_a_statement_shows_no_fee_column_when_the_platform_bears_them(town: Town) -> None:
    order = three_shop_order(town)
    part = part_of(order, town.books_id)
    paid_on = order.created_at.astimezone(TOWN_TZ).date()
    statement = documents.statement(part.shop_id, paid_on, paid_on)
    assert statement.rows[0].stripe_fees_cents == 0
    assert "Frais Stripe" not in documents.statement_csv(statement)


def test_a_refund_keeps_the_fee(town: Town) -> None:
    order = three_shop_order(town)
    fee = int(charge_transaction(order)["fee"])
    bakery = part_of(order, town.baker_id)
    orders.cancel_by_shopper(bakery)
    db.session.commit()
    (refund,) = bakery.refunds
    refunded = gateway.client().v1.refunds.retrieve(
        str(refund.stripe_refund_id), params={"expand": ["balance_transaction"]}
    )
    returned = refunded.to_dict()["balance_transaction"]
    assert (returned["amount"], returned["fee"]) == (-bakery.total_cents, 0)

    assert ledger.balance(ledger.STRIPE_FEES) == fee, "Stripe keeps its fee on a refunded payment"
    assert ledger.balance(ledger.STRIPE) == order.total_cents - fee - bakery.total_cents
    assert reports.reconcile().differences == []


def test_a_fee_stripe_cannot_tell_yet_leaves_the_payment_gross_and_the_reconciliation_shows_it(
    town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gateway, "charge_fee", lambda charge_id: None)
    fill_cart(town, (town.novel, 1))
    order = place_and_pay(town)
    assert order.status.value == "paid"
    transaction = charge_transaction(order)

    assert fee_transactions() == []
    assert ledger.balance(ledger.STRIPE) == order.total_cents
    report = reports.reconcile()
    kinds = {(d.what, d.stripe_id, d.stripe_cents, d.ledger_cents) for d in report.differences}
    assert ("amount", order.charge_id, transaction["net"], order.total_cents) in kinds


@pytest.fixture
def plan(app_ctx: Flask) -> Plan:
    manager = UserFactory(email="gestion@example.com", role="manager")
    made = subscriptions.save_plan(
        manager,
        None,
        name="Commerçant",
        slug="commercant",
        monthly_price_cents=1900,
        commission_bps=800,
        product_limit=None,
    )
    db.session.commit()
    return made


def test_a_subscription_invoices_fee_is_the_platforms_expense(
    client: Client, town: Town, plan: Plan, own_stripe_api: StripeEmulator
) -> None:
    books = db.session.get(Shop, town.books_id)
    assert books is not None
    owner = UserFactory(email="gestion2@example.com", role="manager")
    subscription = subscriptions.choose_plan(owner, books, plan.id, "pm_card_visa")
    db.session.commit()
    own_stripe_api.webhooks.wait_for(lambda e: e["type"] == "invoice.paid")
    deliver_webhooks(client, own_stripe_api, {"invoice.paid"}, set())
    db.session.expire_all()

    (charge,) = [
        t
        for t in gateway.balance_transactions()
        if t["type"] == "charge" and gateway.invoice_of_charge(str(t["source"]))
    ]
    assert (charge["amount"], charge["fee"]) == (1900, 54)  # 1.5 % of 19,00 € (28.5: 29) + 0,25 €
    (recorded,) = fee_transactions()
    assert (recorded.kind, recorded.shop_id) == (TransactionKind.SUBSCRIPTION, subscription.shop_id)
    assert recorded.stripe_id == subscription_invoice_id(recorded)
    assert ledger.balance(ledger.STRIPE_FEES) == 54
    assert ledger.balance(ledger.STRIPE) == 1900 - 54
    assert reports.reconcile().differences == []


def subscription_invoice_id(recorded: LedgerTransaction) -> str:
    """The invoice the fee was recorded under: the one the subscription's payment is recorded under."""
    payment = db.session.scalars(
        sa.select(LedgerTransaction).where(LedgerTransaction.kind == TransactionKind.SUBSCRIPTION)
    ).all()
    invoices = {t.stripe_id for t in payment if t.id != recorded.id}
    assert len(invoices) == 1
    return str(invoices.pop())


def test_who_bears_the_fees_is_platform_or_shops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    base = {"APP_ENV": "testing", "SECRET_KEY": "test"}
    monkeypatch.delenv("STRIPE_FEES_BORNE_BY", raising=False)
    assert config.load(tmp_path, base)["STRIPE_FEES_BORNE_BY"] == "platform"
    monkeypatch.setenv("STRIPE_FEES_BORNE_BY", "shops")
    assert config.load(tmp_path, base)["STRIPE_FEES_BORNE_BY"] == "shops"
    monkeypatch.setenv("STRIPE_FEES_BORNE_BY", "shoppers")
    with pytest.raises(config.ConfigError, match="STRIPE_FEES_BORNE_BY"):
        config.load(tmp_path, base)
