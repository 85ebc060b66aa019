"""Three shops, one checkout: deliveries, the hold elapsed, transfers, a partial refund after its transfer,
a cancellation, a failed subscription payment, Stripe's fees on every card charge; then the ledger, the
shops' balances on Stripe, the platform's balance on Stripe and the manager's figures agree to the cent,
and the reconciliation report finds nothing to flag."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from app.accounts.models import Role
from app.cart import services as cart
from app.cart.models import DeliveryMethod
from app.extensions import db
from app.orders import services as orders
from app.orders.models import VendorOrderStatus
from payouts import commission, documents, gateway, ledger, reports, subscriptions, tasks
from payouts.models import RuleScope, ShopTransfer, SubscriptionStatus, TransferStatus
from tests.factories import ProductFactory, ShopFactory, UserFactory, owner_of
from tests.orders.support import Town, fill_cart, make_town, part_of
from tests.payouts.support import after_hold, connect, connected_balance, deliver
from tests.plugins.application import Client
from tests.plugins.stripe import StripeEmulator
from vendors.models import Shop


def deliver_webhooks(client: Client, stripe_api: StripeEmulator, types: set[str], seen: set[str]) -> int:
    """Hand the app every emulator event of these types not handed yet, as Stripe would; how many."""
    handed = 0
    for delivery in list(stripe_api.webhooks.deliveries):
        event = delivery.event
        if event["type"] in types and event["id"] not in seen:
            seen.add(event["id"])
            response = client.post(
                "/webhooks/stripe",
                data=delivery.payload,
                headers={"Stripe-Signature": delivery.headers["Stripe-Signature"]},
            )
            assert response.status_code == 200, response.get_data(as_text=True)
            handed += 1
    return handed


@pytest.fixture
def town(app_ctx: Flask, own_stripe_api: StripeEmulator) -> Town:
    return make_town()


def test_three_shops_one_checkout_and_the_books_agree_to_the_cent(
    client: Client, town: Town, own_stripe_api: StripeEmulator, monkeypatch: pytest.MonkeyPatch, app: Flask
) -> None:
    # A town that pays its shops 3 days after delivery: within the withdrawal window, so a withdrawal
    # can come after the transfer.
    monkeypatch.setitem(app.config, "PAYOUT_HOLD_DAYS", 3)
    manager = UserFactory(email="gestion@example.com", role=Role.MANAGER)
    commission.set_rule(manager, RuleScope.PLATFORM, None, 1000, fixed_fee_cents=20)
    plan = subscriptions.save_plan(
        manager,
        None,
        name="Commerçant",
        slug="commercant",
        monthly_price_cents=1900,
        commission_bps=800,
        product_limit=None,
    )
    cellar = owner_of(
        ShopFactory(
            name="La Cave",
            slug="la-cave",
            local_delivery=False,
            home_delivery=True,
            home_delivery_fee_cents=690,
        ),
        email="caviste@example.com",
    )
    wine = ProductFactory(
        shop=cellar.shop, title="Muscadet", vat_bps=2000, variants=[{"price_cents": 1275, "stock": 12}]
    )
    cellar_id, wine_id = cellar.shop.id, wine.variants[0].id
    db.session.commit()
    accounts = {
        shop_id: connect(shop_id, own_stripe_api) for shop_id in (town.baker_id, town.books_id, cellar_id)
    }

    # The bookshop pays its plan; the cellar's card fails: one failed subscription payment.
    seen: set[str] = set()
    books_shop, cellar_shop = db.session.get(Shop, town.books_id), db.session.get(Shop, cellar_id)
    assert books_shop is not None
    assert cellar_shop is not None
    subscriptions.choose_plan(manager, books_shop, plan.id, "pm_card_visa")
    subscriptions.choose_plan(manager, cellar_shop, plan.id, "pm_card_chargeCustomerFail")
    db.session.commit()
    own_stripe_api.webhooks.wait_for(lambda e: e["type"] == "invoice.payment_failed")
    own_stripe_api.webhooks.wait_for(lambda e: e["type"] == "invoice.paid")
    deliver_webhooks(client, own_stripe_api, {"invoice.paid", "invoice.payment_failed"}, seen)
    db.session.expire_all()
    assert subscriptions.subscription_of(books_shop).status == SubscriptionStatus.ACTIVE  # type: ignore[union-attr]
    assert subscriptions.subscription_of(cellar_shop).status == SubscriptionStatus.INCOMPLETE  # type: ignore[union-attr]

    # One checkout across the three shops: bread (local delivery), two novels (carrier), three bottles.
    fill_cart(town, (town.bread, 2), (town.novel, 2))
    shopper_cart = cart.find_cart(town.shopper(), None)
    assert shopper_cart is not None
    cart.add(shopper_cart, wine_id, 3)
    cart.choose_delivery(shopper_cart, cellar_id, DeliveryMethod.HOME_DELIVERY)
    db.session.commit()
    order = orders.place_order(
        town.shopper(),
        shopper_cart,
        orders.Contact(
            email="camille@example.com",
            full_name="Camille Martin",
            phone="0612345678",
            street="15 rue de la Paix",
            postcode="37000",
            city="Bellerive",
        ),
        uuid.uuid4().hex,
    )
    db.session.commit()
    orders.pay(town.shopper(), order.number, "pm_card_visa", "http://127.0.0.1/retour", "once")
    db.session.commit()
    bakery, books, cave = (
        part_of(order, town.baker_id),
        part_of(order, town.books_id),
        part_of(order, cellar_id),
    )
    assert order.total_cents == bakery.total_cents + books.total_cents + cave.total_cents
    # The bookshop and the cellar are on the plan (8 %), the bakery on the platform rule (10 % + 0,20 €).
    assert (books.commission_cents, bakery.commission_cents, cave.commission_cents) == (384, 110, 306)

    # The bakery's part is cancelled before shipping; the other two are delivered.
    orders.cancel_by_shopper(bakery)
    db.session.commit()
    deliver(order, town.books_id)
    deliver(order, cellar_id)

    # The hold passes: transfers; then one novel is withdrawn, after its transfer.
    with time_machine.travel(after_hold(8)):
        assert tasks.transfer_due() == 2
        orders.request_withdrawal(books, {books.lines[0].id: 1})
        refund = orders.receive_return(books)
        db.session.commit()
        # The cellar is still unpaid past the grace period: its storefront is hidden.
        assert tasks.enforce_billing() == 1
    assert refund.amount_cents == 2400
    db.session.expire_all()
    assert db.session.get(Shop, cellar_id).billing_hidden_at is not None  # type: ignore[union-attr]

    # -- everything agrees --------------------------------------------------------------------
    assert ledger.unbalanced() == []
    report = reports.reconcile()
    assert report.differences == []
    assert report.checked == 9, (
        "2 charges, 2 refunds, 2 transfers, 1 reversal, and the 2 transfers themselves"
    )
    assert report.stripe_balance_cents == ledger.balance(ledger.STRIPE) == gateway.platform_balance()

    for part in (books, cave):
        transfer = db.session.scalars(
            sa.select(ShopTransfer).where(ShopTransfer.vendor_order_id == part.id)
        ).one()
        assert transfer.status == TransferStatus.PAID
        assert connected_balance(accounts[part.shop_id]) == transfer.amount_cents - transfer.reversed_cents
        money = reports.shop_money(db.session.get(Shop, part.shop_id))  # type: ignore[arg-type]
        assert money.paid_out_cents == transfer.amount_cents - transfer.reversed_cents
        assert money.pending_cents == 0
        assert money.available_cents == 0
    assert connected_balance(accounts[town.baker_id]) == 0, "the cancelled part was never transferred"

    # Each shop's statement says the same: what it was due, what it was sent, what it still holds.
    for shop_id in (town.baker_id, town.books_id, cellar_id):
        statement = documents.statement(
            shop_id,
            order.created_at.date() - dt.timedelta(days=1),
            order.created_at.date() + dt.timedelta(days=1),
        )
        totals = statement.totals
        assert (
            totals.net_due_cents - (totals.transferred_cents - totals.reversed_cents)
            == (statement.pending_cents + statement.available_cents)
            == 0
        )
        assert statement.paid_out_cents == connected_balance(accounts[shop_id])
        part = part_of(order, shop_id)
        assert totals.refunds_cents == sum(r.amount_cents for r in part.refunds)

    books = part_of(order, town.books_id)
    figures = reports.platform_figures()
    kept = sum(p.commission_cents - sum(r.commission_cents for r in p.refunds) for p in (books, cave))
    assert figures.commission_cents == kept, "the cancelled part's commission was given back in full"
    assert figures.subscriptions_cents + figures.subscription_vat_cents == 1900, "one plan paid"
    paid_in = order.total_cents + 1900
    refunded = sum(r.amount_cents for p in order.vendor_orders for r in p.refunds)
    transferred = sum(t.amount_cents - t.reversed_cents for t in db.session.scalars(sa.select(ShopTransfer)))
    # Stripe's fees (1.5 % + 0,25 € a card charge: the order's and the plan's), kept by Stripe through
    # the refunds, are the platform's expense: the ledger has them as Stripe's books do.
    fees = sum(int(t["fee"]) for t in gateway.balance_transactions())
    assert fees == (order.total_cents * 150 + 5_000) // 10_000 + 25 + 54
    assert ledger.balance(ledger.STRIPE_FEES) == figures.stripe_fees_cents == fees
    assert figures.stripe_cents == paid_in - refunded - transferred - fees
    assert figures.stripe_cents == (
        figures.commission_cents
        + figures.commission_vat_cents
        + figures.subscriptions_cents
        + figures.subscription_vat_cents
        + figures.owed_to_shops_cents
        + figures.unallocated_cents
        - figures.stripe_fees_cents
    )
    assert part_of(order, town.baker_id).status == VendorOrderStatus.CANCELLED
