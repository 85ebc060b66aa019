"""Refunds beyond cancellation and withdrawal: made on Stripe's dashboard, failing, partial, goodwill,
and the shop cancelling after accepting. The ledger agrees with Stripe to the cent after each."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, g

from app.extensions import db
from app.orders import services as orders
from app.orders.models import (
    ExternalRefund,
    ExternalRefundStatus,
    Order,
    Refund,
    RefundReason,
    RefundStatus,
    VendorOrder,
    VendorOrderStatus,
)
from payouts import commission, gateway, ledger, reports
from payouts.models import LedgerTransaction, RuleScope
from tests.catalog.test_categories import field_errors, login_manager
from tests.factories import ProductFactory, ShopFactory, UserFactory, owner_of
from tests.orders.support import Town, fill_cart, login, make_town, part_of, stock
from tests.orders.test_lifecycle import place_and_pay
from tests.plugins.application import Client, Mailbox
from tests.plugins.stripe import StripeEmulator

TOKEN = re.compile(r'name="(?:part-\d+-)?token" type="hidden" value="([0-9a-f]+)"')


@pytest.fixture
def town(app_ctx: Flask, own_stripe_api: StripeEmulator) -> Town:
    made = make_town()
    manager: Any = UserFactory(manager=True)
    commission.set_rule(manager, RuleScope.PLATFORM, None, 1000)
    db.session.commit()
    return made


@pytest.fixture(autouse=True)
def _signed_in_user_read_per_request(town: Town, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test's app context outlives each request: the signed-in user is read again by each one, as in
    production, rather than kept from an earlier request whose session has closed."""
    original = client.open

    def open_(*args: Any, **kwargs: Any) -> Any:
        g.pop("_login_user", None)
        return original(*args, **kwargs)

    monkeypatch.setattr(client, "open", open_)


def deliver_events(
    client: Client, stripe: StripeEmulator, kinds: tuple[str, ...], refund_id: str
) -> list[Any]:
    """Hand the emulator's events about one refund to the app's webhook, as Stripe would; their answers."""
    answers = []
    for kind in kinds:

        def about_it(event: dict[str, Any], kind: str = kind) -> bool:
            return bool(event["type"] == kind and event["data"]["object"]["id"] == refund_id)

        delivery = stripe.webhooks.wait_for(about_it)
        response = client.post(
            "/webhooks/stripe",
            data=delivery.payload,
            headers={"Stripe-Signature": delivery.headers["Stripe-Signature"]},
        )
        assert response.status_code == 200, response.get_data(as_text=True)
        answers.append(response.get_json()["applied"])
    return answers


def charge_refunded(client: Client, stripe: StripeEmulator, charge_id: str) -> bool:
    delivery = stripe.webhooks.wait_for(
        lambda e: e["type"] == "charge.refunded" and e["data"]["object"]["id"] == charge_id
    )
    response = client.post(
        "/webhooks/stripe",
        data=delivery.payload,
        headers={"Stripe-Signature": delivery.headers["Stripe-Signature"]},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return bool(response.get_json()["applied"])


def assert_reconciled() -> None:
    report = reports.reconcile()
    assert report.ok, report.differences


def fresh(order: Order) -> Order:
    db.session.expire_all()
    found = db.session.get(Order, order.id)
    assert found is not None
    return found


def ledger_count() -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(LedgerTransaction)) or 0)


def page_text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True)).replace("\u202f", " ").replace("\xa0", " ")


# -- refunds made on Stripe's dashboard -----------------------------------------------------------


def test_a_dashboard_refund_on_a_one_shop_order_is_allocated_by_itself_and_replays_change_nothing(
    client: Client, town: Town, own_stripe_api: StripeEmulator
) -> None:
    fill_cart(town, (town.novel, 1))
    order = place_and_pay(town)
    made = gateway.client().v1.refunds.create(
        params={"payment_intent": str(order.payment_intent_id), "amount": 600}
    )
    assert deliver_events(client, own_stripe_api, ("refund.created",), made.id) == [True]
    assert charge_refunded(client, own_stripe_api, str(order.charge_id)) is True

    order = fresh(order)
    books = part_of(order, town.books_id)
    (done,) = books.refunds
    assert (done.reason, done.amount_cents, done.status, done.stripe_id) == (
        RefundReason.EXTERNAL,
        600,
        RefundStatus.SUCCEEDED,
        made.id,
    )
    assert books.refunded_cents == 600
    assert done.commission_cents > 0, "the commission on the refunded goods is given back"
    assert_reconciled()

    written = ledger_count()
    # The same events again: applied once only.
    assert deliver_events(client, own_stripe_api, ("refund.created",), made.id) == [False]
    assert charge_refunded(client, own_stripe_api, str(order.charge_id)) is False
    # And the refund told again in a new event (refund.updated): nothing new either.
    gateway.client().v1.refunds.update(made.id, params={"metadata": {"note": "vu"}})
    assert deliver_events(client, own_stripe_api, ("refund.updated",), made.id) == [True]
    assert ledger_count() == written
    assert len(fresh(order).vendor_orders[0].refunds) == 1
    assert_reconciled()


def test_the_marketplaces_own_refund_events_change_nothing(
    client: Client, town: Town, own_stripe_api: StripeEmulator
) -> None:
    fill_cart(town, (town.novel, 1))
    order = place_and_pay(town)
    books = part_of(order, town.books_id)
    done = orders.refund_partial(books, token="a" * 32, note="Couverture abîmée", amount_cents=400)
    db.session.commit()
    written = ledger_count()
    assert deliver_events(client, own_stripe_api, ("refund.created",), str(done.stripe_refund_id)) == [True]
    assert charge_refunded(client, own_stripe_api, str(order.charge_id)) is True
    assert ledger_count() == written
    assert db.session.scalars(sa.select(ExternalRefund)).all() == []
    assert_reconciled()


@pytest.fixture
def three_shops(town: Town) -> Town:
    cave = owner_of(
        ShopFactory(name="La Cave", slug="la-cave", local_delivery=False, home_delivery=True),  # type: ignore[arg-type]
        email="caviste@example.com",
    )
    wine = ProductFactory(
        shop=cave.shop, title="Vouvray", vat_bps=2000, variants=[{"price_cents": 1500, "stock": 5}]
    )
    db.session.commit()
    fill_cart(town, (town.bread, 2), (town.novel, 1), (wine.variants[0].id, 1))
    return town


def test_a_dashboard_refund_on_a_three_shop_order_waits_for_the_manager(
    client: Client, three_shops: Town, own_stripe_api: StripeEmulator
) -> None:
    order = place_and_pay(three_shops)
    assert len(order.vendor_orders) == 3
    made = gateway.client().v1.refunds.create(
        params={"payment_intent": str(order.payment_intent_id), "amount": 1000}
    )
    deliver_events(client, own_stripe_api, ("refund.created",), made.id)
    outside = db.session.scalars(sa.select(ExternalRefund)).one()
    assert outside.status == ExternalRefundStatus.TO_ALLOCATE
    assert all(not part.refunds for part in fresh(order).vendor_orders)

    login_manager(client)
    listed = page_text(client.get("/gestion/commandes"))
    assert order.number in listed
    assert made.id in listed
    bakery = part_of(order, three_shops.baker_id)
    books = part_of(order, three_shops.books_id)
    url = f"/gestion/commandes/remboursements-stripe/{outside.id}"
    form_url = f"/gestion/commandes/{order.number}"
    # Amounts that do not add up, or more than a part has left: refused, nothing recorded.
    wrong = client.submit(url, {f"part-{bakery.id}": "3,00", f"part-{books.id}": "5,00"}, form_url=form_url)
    assert "10,00" in page_text(client.get(wrong.headers["Location"]))
    too_much = client.submit(
        url, {f"part-{bakery.id}": str(bakery.total_cents / 100 + 1).replace(".", ",")}, form_url=form_url
    )
    assert too_much.status_code == 302
    assert fresh(order).vendor_orders[0].refunds == []

    done = client.submit(url, {f"part-{bakery.id}": "4,00", f"part-{books.id}": "6,00"}, form_url=form_url)
    assert done.status_code == 302
    order = fresh(order)
    assert part_of(order, three_shops.baker_id).refunded_cents == 400
    assert part_of(order, three_shops.books_id).refunded_cents == 600
    assert db.session.get(ExternalRefund, outside.id).status == ExternalRefundStatus.ALLOCATED  # type: ignore[union-attr]
    # Allocating again (a double click) does nothing twice.
    client.submit(url, {f"part-{bakery.id}": "4,00", f"part-{books.id}": "6,00"}, form_url=form_url)
    assert sum(len(part.refunds) for part in fresh(order).vendor_orders) == 2
    assert_reconciled()


def test_a_dashboard_refund_of_exactly_one_parts_remainder_goes_to_that_part(
    client: Client, three_shops: Town, own_stripe_api: StripeEmulator
) -> None:
    order = place_and_pay(three_shops)
    books = part_of(order, three_shops.books_id)
    made = gateway.client().v1.refunds.create(
        params={"payment_intent": str(order.payment_intent_id), "amount": books.total_cents}
    )
    deliver_events(client, own_stripe_api, ("refund.created",), made.id)
    assert part_of(fresh(order), three_shops.books_id).remaining_cents == 0
    assert_reconciled()


# -- refunds that fail ----------------------------------------------------------------------------


def test_a_failed_refund_is_taken_back_shown_and_offered_again(
    client: Client, town: Town, own_stripe_api: StripeEmulator
) -> None:
    fill_cart(town, (town.novel, 1))
    from app.cart import services as cart
    from tests.orders.test_lifecycle import CONTACT

    shopper = town.shopper()
    order = orders.place_order(shopper, cart.find_cart(shopper, None), CONTACT, "f" * 32)  # type: ignore[arg-type]
    db.session.commit()
    orders.pay(shopper, order.number, "pm_card_refundFail", "http://127.0.0.1/retour", "first")
    db.session.commit()
    books = part_of(order, town.books_id)
    done = orders.refund_partial(books, token="b" * 32, note="Geste", amount_cents=500)
    db.session.commit()
    assert books.refunded_cents == 500
    deliver_events(client, own_stripe_api, ("refund.failed",), str(done.stripe_refund_id))

    order = fresh(order)
    books = part_of(order, town.books_id)
    failed = books.refunds[0]
    assert (failed.status, books.refunded_cents) == (RefundStatus.FAILED, 0)
    assert_reconciled()
    # The refund.updated of the same failure: nothing twice.
    written = ledger_count()
    deliver_events(client, own_stripe_api, ("refund.updated",), str(done.stripe_refund_id))
    assert ledger_count() == written

    login(client, town.books_owner_email)
    assert "a échoué" in page_text(client.get(f"/vendeur/librairie-du-pont/commandes/{books.id}"))
    client.submit("/deconnexion", {}, form_url=f"/vendeur/librairie-du-pont/commandes/{books.id}")
    login_manager(client)
    assert failed.error in page_text(client.get("/gestion/commandes"))
    response = client.submit(
        f"/gestion/commandes/remboursements/{failed.id}/relancer",
        {},
        form_url=f"/gestion/commandes/{order.number}",
    )
    assert response.status_code == 302
    books = part_of(fresh(order), town.books_id)
    first, again = books.refunds
    assert (first.retried_by_id, again.status, books.refunded_cents) == (
        again.id,
        RefundStatus.SUCCEEDED,
        500,
    )
    # This card cannot take money back at all: the new refund fails too, and stays for the manager to
    # escalate (or offer again once the shopper gave another card).
    deliver_events(client, own_stripe_api, ("refund.failed",), str(again.stripe_refund_id))
    books = part_of(fresh(order), town.books_id)
    assert (books.refunds[1].status, books.refunded_cents) == (RefundStatus.FAILED, 0)
    assert [r.id for r in orders.failed_refunds(books)] == [books.refunds[1].id]
    assert_reconciled()


# -- partial and goodwill refunds -----------------------------------------------------------------


@pytest.fixture
def accepted(town: Town) -> Order:
    fill_cart(town, (town.bread, 2), (town.cake, 1))
    order = place_and_pay(town)
    orders.accept(part_of(order, town.baker_id))
    db.session.commit()
    return order


def refund_form(client: Client, url: str) -> str:
    found = TOKEN.search(client.get(url).get_data(as_text=True))
    assert found, "no refund form"
    return found.group(1)


def test_the_shop_refunds_lines_then_an_amount_once_per_click_and_never_more_than_is_left(
    client: Client, town: Town, accepted: Order, mailbox: Mailbox
) -> None:
    bakery = part_of(accepted, town.baker_id)
    bread_id = next(line.id for line in bakery.lines if line.title == "Pain au levain")
    login(client, town.baker_owner_email)
    page = f"/vendeur/le-fournil/commandes/{bakery.id}"
    url = f"{page}/rembourser"
    token = refund_form(client, page)
    data = {"token": token, f"quantity-{bread_id}": "1", "note": "Un pain brûlé"}
    assert client.submit(url, data, form_url=page).status_code == 302
    assert client.submit(url, data, form_url=page).status_code == 302  # the double click
    bakery = part_of(fresh(accepted), town.baker_id)
    assert [(r.reason, r.amount_cents, r.note) for r in bakery.refunds] == [
        (RefundReason.PARTIAL, 450, "Un pain brûlé")
    ]
    assert "Un pain brûlé" in mailbox.last_to("camille@example.com").text

    token = refund_form(client, page)
    assert (
        client.submit(url, {"token": token, "amount": "2,50", "note": "Retard"}, form_url=page).status_code
        == 302
    )
    bakery = part_of(fresh(accepted), town.baker_id)
    assert bakery.refunded_cents == 700
    # More than what is left: a form error, nothing refunded.
    token = refund_form(client, page)
    over = client.submit(url, {"token": token, "amount": "1000", "note": "Trop"}, form_url=page)
    assert over.status_code == 400
    assert any("dépasse ce qui reste" in error for error in field_errors(page_text(over), "amount"))
    too_many = client.submit(
        url, {"token": token, f"quantity-{bread_id}": "5", "note": "Trop"}, form_url=page
    )
    assert too_many.status_code == 400
    no_reason = client.submit(url, {"token": token, "amount": "1"}, form_url=page)
    assert field_errors(page_text(no_reason), "note") == ["Indiquez le motif du remboursement."]
    assert part_of(fresh(accepted), town.baker_id).refunded_cents == 700
    # The shop's invoice lists the partial refunds with their reason.
    invoice = client.get(f"{page}/facture.pdf")
    assert invoice.status_code == 200
    assert invoice.mimetype == "application/pdf"
    assert_reconciled()


def test_the_manager_gives_a_goodwill_refund_on_any_part(client: Client, town: Town, accepted: Order) -> None:
    login_manager(client)
    found = page_text(client.get("/gestion/commandes", query_string={"q": "camille@example.com"}))
    assert accepted.number in found
    bakery = part_of(accepted, town.baker_id)
    page = f"/gestion/commandes/{accepted.number}"
    token = refund_form(client, page)
    url = f"{page}/parties/{bakery.id}/rembourser"
    data = {
        f"part-{bakery.id}-token": token,
        f"part-{bakery.id}-amount": "3",
        f"part-{bakery.id}-note": "Désolés",
    }
    assert client.submit(url, data, form_url=page).status_code == 302
    assert client.submit(url, data, form_url=page).status_code == 302
    bakery = part_of(fresh(accepted), town.baker_id)
    assert [(r.reason, r.amount_cents) for r in bakery.refunds] == [(RefundReason.GOODWILL, 300)]
    assert bakery.refunds[0].commission_cents > 0
    # The console says the refund's reason and status in words, not as codes.
    shown = page_text(client.get(page))
    assert re.findall(r'data-testid="refund-(?:reason|status)">([^<]*)<', shown) == [
        "Geste commercial",
        "effectué",
    ]
    assert "goodwill" not in shown
    assert "succeeded" not in shown
    over = client.submit(
        url,
        {
            f"part-{bakery.id}-token": "c" * 32,
            f"part-{bakery.id}-amount": "500",
            f"part-{bakery.id}-note": "x",
        },
        form_url=page,
    )
    assert over.status_code == 400
    assert "dépasse ce qui reste" in page_text(over)
    assert_reconciled()


# -- the shop cancels after accepting -------------------------------------------------------------


def test_the_shop_cancels_after_accepting_with_a_reason(
    client: Client, town: Town, accepted: Order, mailbox: Mailbox
) -> None:
    bakery = part_of(accepted, town.baker_id)
    before = stock(town.bread)
    login(client, town.baker_owner_email)
    page = f"/vendeur/le-fournil/commandes/{bakery.id}"
    refused = client.submit(f"{page}/annuler", {"reason": ""}, form_url=page)
    assert part_of(fresh(accepted), town.baker_id).status == VendorOrderStatus.ACCEPTED
    assert refused.status_code == 302
    client.submit(f"{page}/annuler", {"reason": "Four en panne"}, form_url=page)
    bakery = part_of(fresh(accepted), town.baker_id)
    assert bakery.status == VendorOrderStatus.CANCELLED
    assert bakery.refunded_cents == bakery.total_cents
    assert stock(town.bread) == before + 2
    assert "Four en panne" in mailbox.last_to("camille@example.com").text
    assert_reconciled()


def test_another_shops_part_is_a_404(client: Client, town: Town, accepted: Order) -> None:
    bakery = part_of(accepted, town.baker_id)
    login(client, town.books_owner_email)
    page = "/vendeur/librairie-du-pont/commandes"
    for action in ("rembourser", "annuler"):
        response = client.submit(
            f"{page}/{bakery.id}/{action}",
            {"token": "d" * 32, "amount": "1", "note": "x", "reason": "x"},
            form_url=page,
        )
        assert response.status_code == 404
    assert part_of(fresh(accepted), town.baker_id).refunds == []


def test_a_refund_form_without_its_token_refunds_nothing(town: Town, accepted: Order) -> None:
    bakery = part_of(accepted, town.baker_id)
    with pytest.raises(orders.OrderError, match="expiré"):
        orders.refund_partial(bakery, token="", note="x", amount_cents=100)
    assert isinstance(bakery, VendorOrder)
    assert bakery.refunds == []
    assert db.session.scalars(sa.select(Refund)).all() == []
    assert ledger.balance(ledger.STRIPE) > 0
