"""One month of a town's money, end to end against a Stripe emulator of its own (with Stripe's default card
pricing and dispute fee) and PostgreSQL: four orders across three shops paid at the checkout, a dispute
won before the transfers and one lost after them, a refund made on Stripe's dashboard that the manager
allocates, a goodwill refund by the manager, a partial refund by a shop, a withdrawal after the transfer
whose reversal Stripe refuses and a later retry takes back. Then the ledger, Stripe's books, each shop's
balances and the manager's figures agree to the cent with the amounts worked out by hand below.

The shops: the bakery (bread 4,50 €, local delivery 4,90 €), the bookshop (a novel 24,00 €, carrier
5,90 €), the cellar (champagne 40,00 €, home delivery 6,90 €). The platform takes 10 % of the goods
(rounded once per part, half away from zero) and 20 % VAT on it; a refund gives back the commission in
proportion to the goods it refunds. Stripe takes 1,5 % + 0,25 € a card charge (half up) and 20,00 € a
dispute, kept whatever happens after."""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask, g

from app.accounts.models import User
from app.cart import services as cart
from app.extensions import db
from app.money import format_money
from app.orders import services as orders
from app.orders.models import ExternalRefund, ExternalRefundStatus, Order, Refund, RefundStatus
from payouts import commission, documents, gateway, ledger, reports, tasks
from payouts.models import Dispute, DisputeStatus, RuleScope, ShopTransfer, TransferReversal, TransferStatus
from tests.catalog.test_categories import login_manager
from tests.factories import ProductFactory, ShopFactory, UserFactory, owner_of
from tests.orders.support import Town, checkout, fill_cart, login, make_town, part_of, pay
from tests.orders.test_lifecycle import CONTACT
from tests.orders.test_refunds import deliver_events
from tests.payouts.support import after_hold, connect, connected_balance, deliver
from tests.payouts.test_disputes import DISPUTE_EVENTS
from tests.payouts.test_end_to_end import deliver_webhooks
from tests.plugins.application import Client
from tests.plugins.stripe import StripeEmulator
from vendors.hours import TOWN_TZ
from vendors.models import Shop

DISPUTE_CARD = "pm_card_createDispute"  # Stripe's test card whose charge is disputed as soon as it is made
REFUND_TOKEN = re.compile(r'name="(?:part-\d+-)?token" type="hidden" value="([0-9a-f]+)"')


@pytest.fixture
def town(app_ctx: Flask, own_stripe_api: StripeEmulator) -> Town:
    return make_town()


def _client(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Client:
    """A browser of its own (its own cookies); the signed-in user and the form token read again by each
    request, as in production, rather than kept in the test's long-lived app context from another
    browser's request."""
    browser: Any = app.test_client()
    original = browser.open

    def open_(*args: Any, **kwargs: Any) -> Any:
        g.pop("_login_user", None)
        g.pop("csrf_token", None)  # Flask-WTF keeps the session's token there
        return original(*args, **kwargs)

    monkeypatch.setattr(browser, "open", open_)
    return browser


def _buy(shopper: Client, town: Town, card: str, *items: tuple[int, int]) -> Order:
    """The shopper fills the cart, checks out and pays on the payment page."""
    fill_cart(town, *items)
    response, _ = checkout(shopper)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    number = response.headers["Location"].split("/")[2]
    if card == DISPUTE_CARD:
        # Not one of the payment page's demonstration cards: paid as the page would, with Stripe's card.
        orders.pay(town.shopper(), number, card, "http://127.0.0.1/retour", "first")
        db.session.commit()
    else:
        answer = pay(shopper, number, card)
        assert answer.headers["Location"] == f"/commandes/{number}?merci=1"
    db.session.expire_all()
    order = db.session.scalars(sa.select(Order).where(Order.number == number)).one()
    assert order.status.value == "paid"
    return order


def _fresh(order: Order) -> Order:
    db.session.expire_all()
    found = db.session.get(Order, order.id)
    assert found is not None
    return found


def _token(browser: Client, url: str) -> str:
    found = REFUND_TOKEN.search(browser.get(url).get_data(as_text=True))
    assert found, f"no refund form on {url}"
    return found.group(1)


def _hand(browser: Client, stripe_api: StripeEmulator, seen: set[str], last: str) -> None:
    """Wait for the emulator's ``last`` event, then hand the app every dispute event not handed yet."""
    stripe_api.webhooks.wait_for(lambda e: e["type"] == last and e["id"] not in seen)
    deliver_webhooks(browser, stripe_api, DISPUTE_EVENTS, seen)
    db.session.expire_all()


def _dashboard_refund(browser: Client, stripe_api: StripeEmulator, order: Order, amount: int) -> str:
    """A refund made on Stripe's dashboard, outside the app; its ``refund.created`` handed to the app."""
    made = gateway.client().v1.refunds.create(
        params={"payment_intent": str(order.payment_intent_id), "amount": amount}
    )
    delivery = stripe_api.webhooks.wait_for(
        lambda e: e["type"] == "refund.created" and e["data"]["object"]["id"] == made.id
    )
    response = browser.post(
        "/webhooks/stripe",
        data=delivery.payload,
        headers={"Stripe-Signature": delivery.headers["Stripe-Signature"]},
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return str(made.id)


def _dispute_of(order: Order) -> Dispute:
    db.session.expire_all()
    return db.session.scalars(sa.select(Dispute).where(Dispute.order_id == order.id)).one()


def _transfers(shop_id: int) -> tuple[int, int]:
    """What the ledger's shop transfers say was sent to the shop, and what was taken back."""
    rows = list(db.session.scalars(sa.select(ShopTransfer).where(ShopTransfer.shop_id == shop_id)))
    return sum(t.amount_cents for t in rows), sum(t.reversed_cents for t in rows)


def _paid_out(account_id: str) -> int:
    return sum(p.amount_cents for p in gateway.bank_payouts(account_id) if p.status == "paid")


def test_a_month_of_fees_disputes_and_refunds_reconciles_to_the_cent(
    app: Flask,
    client: Client,
    town: Town,
    own_stripe_api: StripeEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Shops are paid 3 days after delivery: a withdrawal (14 days) can come after the transfer.
    monkeypatch.setitem(app.config, "PAYOUT_HOLD_DAYS", 3)
    shopper, manager, baker = (_client(app, monkeypatch) for _ in range(3))
    manager_id = login_manager(manager)
    manager_user = db.session.get(User, manager_id)
    assert manager_user is not None
    commission.set_rule(manager_user, RuleScope.PLATFORM, None, 1000)
    cellar = owner_of(
        ShopFactory(  # type: ignore[arg-type]
            name="La Cave",
            slug="la-cave",
            local_delivery=False,
            home_delivery=True,
            home_delivery_fee_cents=690,
        ),
        email="caviste@example.com",
    )
    champagne = ProductFactory(
        shop=cellar.shop, title="Champagne", vat_bps=2000, variants=[{"price_cents": 4000, "stock": 20}]
    )
    cellar_id, champagne_id = cellar.shop.id, champagne.variants[0].id
    db.session.commit()
    baker_id, books_id = town.baker_id, town.books_id
    accounts = {shop_id: connect(shop_id, own_stripe_api) for shop_id in (baker_id, books_id, cellar_id)}
    seen: set[str] = set()
    login(shopper, "camille@example.com")
    login(baker, town.baker_owner_email)

    # -- four orders, paid at the checkout --------------------------------------------------------
    # A: a novel (24,00 + 5,90 = 29,90); commission 2,40 + 0,48 VAT; the bookshop's due 27,02.
    a = _buy(shopper, town, "pm_card_visa", (town.novel, 1))
    # B, paid with the card whose charge is disputed at once: 2 breads (9,00 + 4,90 = 13,90; 0,90 +
    # 0,18; due 12,82) and 10 champagnes (400,00 + 6,90 = 406,90; 40,00 + 8,00; due 358,90).
    b = _buy(shopper, town, DISPUTE_CARD, (town.bread, 2), (champagne_id, 10))
    # C: a bread (4,50 + 4,90 = 9,40; 0,45 + 0,09), a novel (29,90; 2,40 + 0,48), a champagne (40,00 +
    # 6,90 = 46,90; 4,00 + 0,80).
    c = _buy(shopper, town, "pm_card_visa", (town.bread, 1), (town.novel, 1), (champagne_id, 1))
    # D: 3 breads (13,50 + 4,90 = 18,40; 1,35 + 0,27; due 16,78), a novel (29,90; due 27,02).
    d = _buy(shopper, town, "pm_card_visa", (town.bread, 3), (town.novel, 1))
    assert [o.total_cents for o in (a, b, c, d)] == [2990, 42080, 8620, 4830]
    assert [
        (part_of(_fresh(c), shop).commission_cents, part_of(_fresh(c), shop).commission_vat_cents)
        for shop in (baker_id, books_id, cellar_id)
    ] == [(45, 9), (240, 48), (400, 80)]
    _hand(client, own_stripe_api, seen, "charge.dispute.funds_withdrawn")
    assert _dispute_of(b).status == DisputeStatus.NEEDS_RESPONSE
    assert ledger.balance(ledger.DISPUTES) == 42080, "B's parts are held while it is open"

    # -- A: 5,00 € refunded on Stripe's dashboard: one part, so it is the bookshop's -----------------
    _dashboard_refund(client, own_stripe_api, a, 500)
    assert [r.amount_cents for r in part_of(_fresh(a), books_id).refunds] == [500]
    # -- C: 10,00 € refunded on Stripe's dashboard; three parts could have it: the manager says ----
    made_id = _dashboard_refund(client, own_stripe_api, c, 1000)
    outside = db.session.scalars(sa.select(ExternalRefund).where(ExternalRefund.order_id == c.id)).one()
    assert outside.status == ExternalRefundStatus.TO_ALLOCATE
    c_bakery, c_books, c_cellar = (part_of(_fresh(c), shop) for shop in (baker_id, books_id, cellar_id))
    console = f"/gestion/commandes/{c.number}"
    assert made_id in html.unescape(manager.get("/gestion/commandes").get_data(as_text=True))
    allocated = manager.submit(
        f"/gestion/commandes/remboursements-stripe/{outside.id}",
        {f"part-{c_bakery.id}": "4,00", f"part-{c_books.id}": "6,00", f"part-{c_cellar.id}": "0"},
        form_url=console,
    )
    assert allocated.status_code == 302
    # -- C: the manager gives 5,00 € back on the cellar's part, as a goodwill gesture ----------------
    token = _token(manager, console)
    prefix = f"part-{c_cellar.id}-"
    goodwill = manager.submit(
        f"{console}/parties/{c_cellar.id}/rembourser",
        {f"{prefix}token": token, f"{prefix}amount": "5,00", f"{prefix}note": "Bouchon abîmé"},
        form_url=console,
    )
    assert goodwill.status_code == 302

    # -- B: the manager submits the evidence; the bank decides for the shops -------------------------
    dispute_b = _dispute_of(b)
    detail = f"/gestion/litiges/{dispute_b.id}"
    assert manager.submit(f"{detail}/envoyer", {}, form_url=detail).status_code == 302
    own_stripe_api.control("POST", f"disputes/{dispute_b.stripe_dispute_id}/close", {"status": "won"})
    _hand(client, own_stripe_api, seen, "charge.dispute.closed")
    assert _dispute_of(b).status == DisputeStatus.WON
    assert ledger.balance(ledger.DISPUTES) == 0

    # -- every part delivered; the bakery refunds 2,50 € of D from its back office ---------------------
    for order in (a, b, c, d):
        for part in _fresh(order).vendor_orders:
            deliver(_fresh(order), part.shop_id)
    d_bakery = part_of(_fresh(d), baker_id)
    page = f"/vendeur/le-fournil/commandes/{d_bakery.id}"
    partial = baker.submit(
        f"{page}/rembourser",
        {"token": _token(baker, page), "amount": "2,50", "note": "Retard"},
        form_url=page,
    )
    assert partial.status_code == 302
    refunds = {
        (r.vendor_order_id, r.amount_cents): (r.commission_cents, r.commission_vat_cents)
        for r in db.session.scalars(sa.select(Refund))
    }
    # Commission given back in proportion to the goods: 2,40 × 5/24; 0,45 × 4/4,5; 2,40 × 6/24;
    # 4,00 × 5/40; 1,35 × 2,5/13,5.
    a_books = part_of(_fresh(a), books_id)
    assert refunds == {
        (a_books.id, 500): (50, 10),
        (c_bakery.id, 400): (40, 8),
        (c_books.id, 600): (60, 12),
        (c_cellar.id, 500): (50, 10),
        (d_bakery.id, 250): (25, 5),
    }

    # What each shop is owed, before the hold: its parts, less commission and VAT, less what it bears
    # of each refund (the refund less the commission it gives back).
    bakery_due = (1390 - 108) + (940 - 54 - (400 - 48)) + (1840 - 162 - (250 - 30))
    books_due = (2990 - 288 - (500 - 60)) + (2990 - 288 - (600 - 72)) + (2990 - 288)
    cellar_due = (40690 - 4800) + (4690 - 480 - (500 - 60))
    assert (bakery_due, books_due, cellar_due) == (3274, 7138, 39660)
    for shop_id, due in ((baker_id, bakery_due), (books_id, books_due), (cellar_id, cellar_due)):
        money = reports.shop_money(db.session.get(Shop, shop_id))  # type: ignore[arg-type]
        assert (money.pending_cents, money.available_cents) == (due, 0)

    # -- the hold has passed: eight parts transferred (the rest happens back in the present: Stripe's
    # signatures are checked against the clock) -----------------------------------------------------
    with time_machine.travel(after_hold(5)):
        assert tasks.transfer_due() == 8
    for shop_id, due in ((baker_id, bakery_due), (books_id, books_due), (cellar_id, cellar_due)):
        assert connected_balance(accounts[shop_id]) == due
        assert _transfers(shop_id) == (due, 0)

    # -- A disputed after its transfer, for the whole charge (the refund made on the dashboard
    # notwithstanding); the manager accepts it: lost, the bookshop bears it: its 29,90 € less the
    # commission it had left (2,40 - 0,50 and 0,48 - 0,10), 27,62 €: all of its transfer (22,62 €) is
    # taken back, and it owes the 5,00 € over. ---------------------------------------------------
    own_stripe_api.control("POST", f"charges/{a.charge_id}/dispute", {})
    _hand(client, own_stripe_api, seen, "charge.dispute.funds_withdrawn")
    dispute_a = _dispute_of(a)
    detail = f"/gestion/litiges/{dispute_a.id}"
    assert manager.submit(f"{detail}/accepter", {}, form_url=detail).status_code == 302
    assert _dispute_of(a).status == DisputeStatus.LOST
    _hand(client, own_stripe_api, seen, "charge.dispute.closed")
    assert _dispute_of(a).amount_cents == 2990
    assert connected_balance(accounts[books_id]) == books_due - 2262
    assert ledger.balance(ledger.available(books_id)) == -500

    # -- the bookshop's money goes to its bank; then a novel of D comes back ---------------------------
    payout = own_stripe_api.control("POST", f"accounts/{accounts[books_id]}/payout", {})
    assert payout["amount"] == books_due - 2262
    d_books = part_of(_fresh(d), books_id)
    orders.request_withdrawal(d_books, {d_books.lines[0].id: 1})
    withdrawal = orders.receive_return(d_books)
    db.session.commit()
    assert withdrawal is not None
    # All of the part's goods back: its delivery is refunded too, and all its commission given back.
    assert (withdrawal.amount_cents, withdrawal.commission_cents, withdrawal.commission_vat_cents) == (
        2990,
        240,
        48,
    )
    # Stripe refuses to take 27,02 € back from an empty account: the bookshop owes it, on top.
    refused = db.session.scalars(sa.select(TransferReversal)).one()
    assert refused.stripe_reversal_id is None
    assert refused.error
    assert ledger.balance(ledger.available(books_id)) == -500 - 2702

    # -- the bank returns the payout; the hourly retry takes the debt back -----------------------------
    own_stripe_api.control("POST", f"payouts/{payout['id']}/fail", {"code": "account_closed"})
    assert tasks.retry_reversals() == 2702
    assert tasks.retry_reversals() == 0
    own_stripe_api.control("POST", f"accounts/{accounts[books_id]}/payout", {"amount": 1000})

    # -- everything agrees -----------------------------------------------------------------------
    assert ledger.unbalanced() == []
    report = reports.reconcile()
    assert report.differences == []
    # 4 charges, 5 refunds, 2 disputes, 8 transfers and 2 reversals on the balance; the 8 transfers.
    assert report.checked == 29

    # The platform's Stripe balance: paid in, less refunds, the lost dispute, Stripe's fees and what went
    # to the shops net of what came back.
    paid_in = 2990 + 42080 + 8620 + 4830
    refunded = 500 + 1000 + 500 + 250 + 2990
    fees = (45 + 25) + (631 + 25) + (129 + 25) + (72 + 25) + 2 * 2000
    assert fees == 4977
    sent = bakery_due + books_due + cellar_due
    taken_back = 2262 + 2702
    platform = paid_in - refunded - 2990 - fees - sent + taken_back
    assert platform == 205
    assert (
        gateway.platform_balance() == ledger.balance(ledger.STRIPE) == report.stripe_balance_cents == platform
    )
    assert sum(int(t["fee"]) for t in gateway.balance_transactions()) == fees

    # Each shop: what reached its Stripe account and its bank is what the ledger sent less what it took
    # back; it is owed nothing more, and the bookshop owes the 5,00 € its lost dispute left over (netted
    # from its next transfer).
    kept = {baker_id: bakery_due, books_id: books_due - taken_back, cellar_id: cellar_due}
    assert kept == {baker_id: 3274, books_id: 2174, cellar_id: 39660}
    for shop_id, net in kept.items():
        transferred, reversed_ = _transfers(shop_id)
        assert transferred - reversed_ == net
        assert connected_balance(accounts[shop_id]) + _paid_out(accounts[shop_id]) == net
        money = reports.shop_money(db.session.get(Shop, shop_id))  # type: ignore[arg-type]
        owes = 500 if shop_id == books_id else 0
        assert (money.pending_cents, money.available_cents, money.paid_out_cents) == (0, -owes, net)
        assert money.failed_reversals == []
    assert _paid_out(accounts[books_id]) == 1000
    # Their statements say the same: what each part came to in the end (the bookshop: A -5,00 €,
    # C 21,74 €, D nothing), what was sent, what is still held or owed.
    day = _fresh(a).created_at.astimezone(TOWN_TZ).date()  # statements count the town's days
    for shop_id, (net_due, net) in {
        baker_id: (3274, 3274),
        books_id: (-500 + 2174 + 0, 2174),
        cellar_id: (39660, 39660),
    }.items():
        statement = documents.statement(shop_id, day - dt.timedelta(days=1), day + dt.timedelta(days=1))
        totals = statement.totals
        assert (totals.net_due_cents, totals.transferred_cents - totals.reversed_cents) == (net_due, net)
        assert net_due - net == statement.pending_cents + statement.available_cents
        assert statement.paid_out_cents == net
    assert {t.status for t in db.session.scalars(sa.select(ShopTransfer))} == {TransferStatus.PAID}

    # The manager's figures: the commission kept (the lost part's and the withdrawn novel's given back),
    # its VAT, Stripe's fees, the bookshop's debt, and nothing unallocated.
    figures = reports.platform_figures()
    commission_kept = (90 + (45 - 40) + (135 - 25)) + (240 - 60) + (4000 + (400 - 50))
    vat_kept = (18 + (9 - 8) + (27 - 5)) + (48 - 12) + (800 + (80 - 10))
    assert (commission_kept, vat_kept) == (4735, 947)
    assert (
        figures.commission_cents,
        figures.commission_vat_cents,
        figures.stripe_fees_cents,
        figures.owed_to_shops_cents,
        figures.unallocated_cents,
        figures.stripe_cents,
    ) == (commission_kept, vat_kept, fees, -500, 0, platform)
    assert figures.stripe_cents == commission_kept + vat_kept - fees - 500
    assert (figures.in_flight, figures.failed) == ([], [])
    assert [(shop.id, owed) for shop, owed in figures.negative_balances] == [(books_id, -500)]
    # And the manager's console shows them.
    shown = html.unescape(manager.get("/gestion/finances").get_data(as_text=True))
    for testid, cents in (("stripe", platform), ("commission", commission_kept), ("stripe-fees", fees)):
        found = re.search(rf'<dd data-testid="{testid}">([^<]*)</dd>', shown)
        assert found is not None, testid
        assert found.group(1) == format_money(cents), testid
    debts = shown[shown.index('data-testid="negative-balances"') :]
    assert f"Librairie du Pont — {format_money(-500)}" in debts
    done = list(db.session.scalars(sa.select(Refund)))
    assert {r.status for r in done} == {RefundStatus.SUCCEEDED}
    assert sum(r.amount_cents for r in done) == refunded
    on_stripe = sum(
        int(r["amount"]) for r in gateway.client().v1.refunds.list(params={"limit": 100}).to_dict()["data"]
    )
    assert on_stripe == refunded


def test_a_lost_dispute_gives_back_the_commission_a_failed_refund_had_returned(
    client: Client, town: Town, own_stripe_api: StripeEmulator
) -> None:
    """A failed refund's commission went back to the platform: a dispute lost after it gives the part's
    whole commission back, so the shop bears what it was due, no more."""
    manager: Any = UserFactory(manager=True)
    commission.set_rule(manager, RuleScope.PLATFORM, None, 1000)
    connect(town.books_id, own_stripe_api)
    fill_cart(town, (town.novel, 1))
    shopper_cart = cart.find_cart(town.shopper(), None)
    assert shopper_cart is not None
    order = orders.place_order(town.shopper(), shopper_cart, CONTACT, uuid.uuid4().hex)
    db.session.commit()
    orders.pay(town.shopper(), order.number, "pm_card_refundFail", "http://127.0.0.1/retour", "first")
    db.session.commit()
    books = part_of(_fresh(order), town.books_id)
    failed = orders.refund_partial(books, token="e" * 32, note="Geste", amount_cents=600)
    db.session.commit()
    assert (failed.commission_cents, failed.commission_vat_cents) == (60, 12)
    deliver_events(client, own_stripe_api, ("refund.failed",), str(failed.stripe_refund_id))
    assert part_of(_fresh(order), town.books_id).refunds[0].status == RefundStatus.FAILED
    assert ledger.balance(ledger.pending(town.books_id)) == 2990 - 288

    seen: set[str] = set()
    own_stripe_api.control("POST", f"charges/{order.charge_id}/dispute", {})
    _hand(client, own_stripe_api, seen, "charge.dispute.funds_withdrawn")
    own_stripe_api.control(
        "POST", f"disputes/{_dispute_of(order).stripe_dispute_id}/close", {"status": "lost"}
    )
    _hand(client, own_stripe_api, seen, "charge.dispute.closed")
    assert _dispute_of(order).status == DisputeStatus.LOST
    # The shop bore its 29,90 € less all of its commission (2,40 + 0,48): exactly what it was due.
    assert ledger.balance(ledger.pending(town.books_id)) == 0
    assert (ledger.balance(ledger.COMMISSION), ledger.balance(ledger.COMMISSION_VAT)) == (0, 0)
    assert ledger.unbalanced() == []
    assert reports.reconcile().differences == []
