"""Each shop's part after payment: the state machine, refunds, cancellation and the withdrawal right."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from app.cart import services as cart
from app.cart.models import DeliveryMethod
from app.database import utcnow
from app.extensions import db
from app.orders import services as orders
from app.orders import tasks
from app.orders.models import Order, Refund, RefundReason, ReturnStatus, VendorOrder, VendorOrderStatus
from payouts import gateway
from tests.orders.support import Town, fill_cart, make_town, part_of, stock
from tests.plugins.application import Mailbox
from tests.plugins.stripe import StripeEmulator
from vendors import hours
from vendors.hours import TOWN_TZ

S = VendorOrderStatus
CONTACT = orders.Contact(
    email="camille@example.com",
    full_name="Camille Martin",
    phone="0612345678",
    street="15 rue de la Paix",
    postcode="37000",
    city="Bellerive-sur-Loire",
)


def place_and_pay(town: Town) -> Order:
    shopper = town.shopper()
    shopper_cart = cart.find_cart(shopper, None)
    assert shopper_cart is not None
    order = orders.place_order(shopper, shopper_cart, CONTACT, uuid.uuid4().hex)
    db.session.commit()
    outcome = orders.pay(shopper, order.number, "pm_card_visa", "http://127.0.0.1/retour", "first")
    db.session.commit()
    assert outcome.order.status.value == "paid"
    return outcome.order


@pytest.fixture
def town(app_ctx: Flask, stripe_api: StripeEmulator) -> Town:
    made = make_town()
    fill_cart(made, (made.bread, 2), (made.cake, 1), (made.novel, 1))
    return made


@pytest.fixture
def order(town: Town) -> Order:
    return place_and_pay(town)


def refunded_on_stripe(order: Order) -> int:
    refunds = gateway.client().v1.refunds.list(params={"payment_intent": order.payment_intent_id})
    return sum(refund.amount for refund in refunds.data)


def test_the_states_follow_design_and_refuse_the_rest(order: Order, town: Town, mailbox: Mailbox) -> None:
    bakery = part_of(order, town.baker_id)
    with pytest.raises(orders.OrderError, match="payée, à accepter"):
        orders.ship(bakery, "", "")
    orders.accept(bakery)
    assert bakery.invoice_number == f"F-{utcnow().year}-00001"
    with pytest.raises(orders.OrderError):
        orders.accept(bakery)
    with pytest.raises(orders.OrderError, match="à livrer"):
        orders.ready_for_pickup(bakery)
    orders.ship(bakery, "", "")  # local delivery: no tracking number needed
    assert bakery.status == S.SHIPPED
    with pytest.raises(orders.OrderError):
        orders.cancel_by_shopper(bakery)
    orders.mark_delivered(bakery)
    assert bakery.status == S.DELIVERED
    assert bakery.received_at is not None
    db.session.commit()
    subjects = [message.subject for message in mailbox.to("camille@example.com")]
    assert "Votre commande est en route" in subjects
    assert "Commande reçue : votre droit de rétractation" in subjects


def test_carrier_delivery_needs_a_tracking_number(order: Order, town: Town, mailbox: Mailbox) -> None:
    books = part_of(order, town.books_id)
    orders.accept(books)
    with pytest.raises(orders.OrderError, match="numéro de suivi"):
        orders.ship(books, "La Poste", "")
    orders.ship(books, "La Poste", "6A12345678901")
    db.session.commit()
    shipped = mailbox.last_to("camille@example.com")
    assert "6A12345678901" in shipped.text


def test_refusing_refunds_the_shops_part_at_once_and_restocks(order: Order, town: Town) -> None:
    bakery = part_of(order, town.baker_id)
    assert stock(town.bread) == 8
    with pytest.raises(orders.OrderError, match="pourquoi"):
        orders.refuse(bakery, "  ")
    orders.refuse(bakery, "Four en panne, désolés.")
    db.session.commit()
    assert (bakery.status, bakery.refunded_cents) == (S.CANCELLED, bakery.total_cents)
    assert refunded_on_stripe(order) == bakery.total_cents == 2 * 450 + 1800 + 490
    assert stock(town.bread) == 10
    assert part_of(order, town.books_id).status == S.PAID, "the other shop's part is untouched"


def test_a_shopper_cancels_before_shipping_not_after(order: Order, town: Town) -> None:
    books = part_of(order, town.books_id)
    orders.accept(books)
    orders.cancel_by_shopper(books)
    db.session.commit()
    assert (books.status, books.refunded_cents, refunded_on_stripe(order)) == (
        S.CANCELLED,
        books.total_cents,
        books.total_cents,
    )
    refund = db.session.scalars(sa.select(Refund)).one()
    assert (refund.reason, refund.delivery_cents) == (RefundReason.CANCELLED, books.delivery_fee_cents)


def test_a_refund_is_made_once_and_never_more_than_what_is_left(order: Order, town: Town) -> None:
    books = part_of(order, town.books_id)
    first = orders.refund(books, 500, RefundReason.WITHDRAWAL, key="test-goodwill-1")
    again = orders.refund(books, 500, RefundReason.WITHDRAWAL, key="test-goodwill-1")
    assert first is again
    with pytest.raises(orders.OrderError, match="dépasse"):
        orders.refund(books, books.total_cents, RefundReason.WITHDRAWAL, key="test-too-much")
    db.session.commit()
    assert (books.refunded_cents, refunded_on_stripe(order)) == (500, 500)


def test_click_and_collect_hands_over_only_with_the_right_code(
    app_ctx: Flask, stripe_api: StripeEmulator
) -> None:
    town = make_town()
    fill_cart(town, (town.novel, 1), books=DeliveryMethod.CLICK_COLLECT)
    order = place_and_pay(town)
    books = part_of(order, town.books_id)
    assert books.delivery_method == DeliveryMethod.CLICK_COLLECT
    assert books.pickup_slot is not None
    orders.accept(books)
    with pytest.raises(orders.OrderError, match="retirer en boutique"):
        orders.ship(books, "", "1")
    orders.ready_for_pickup(books)
    assert books.pickup_code is not None
    assert len(books.pickup_code) == 6
    with pytest.raises(orders.OrderError, match="ne correspond pas"):
        orders.mark_collected(books, "000000" if books.pickup_code != "000000" else "111111")
    for typed in ("é😀", "١٢٣٤٥٦"):  # any text is a wrong code, not an error
        with pytest.raises(orders.OrderError, match="ne correspond pas"):
            orders.mark_collected(books, typed)
    orders.mark_collected(books, books.pickup_code[:3] + " " + books.pickup_code[3:])
    assert books.status == S.COLLECTED


def _delivered(order: Order, town: Town) -> VendorOrder:
    bakery = part_of(order, town.baker_id)
    orders.accept(bakery)
    orders.ship(bakery, "", "")
    orders.mark_delivered(bakery)
    db.session.commit()
    return bakery


def test_a_partial_withdrawal_refunds_the_goods_only(order: Order, town: Town, mailbox: Mailbox) -> None:
    bakery = _delivered(order, town)
    bread = next(line for line in bakery.lines if line.title == "Pain au levain")
    request = orders.request_withdrawal(bakery, {bread.id: "1"}, "Trop de pain")
    db.session.commit()
    assert (bakery.status, request.status) == (S.RETURN_REQUESTED, ReturnStatus.REQUESTED)
    assert request.refund_due_on == hours.today() + dt.timedelta(days=14)  # the town's day
    refund = orders.receive_return(bakery)
    db.session.commit()
    assert (refund.amount_cents, refund.delivery_cents) == (450, 0)
    assert (bakery.status, bread.returned_quantity, stock(town.bread)) == (S.REFUNDED, 1, 9)
    assert refunded_on_stripe(order) == 450

    # What is left may still be withdrawn within the window: then the delivery fee comes back too.
    left = orders.returnable(bakery)
    assert sum(left.values()) == 2
    orders.request_withdrawal(bakery, left)
    last = orders.receive_return(bakery)
    db.session.commit()
    assert last.amount_cents == 450 + 1800 + bakery.delivery_fee_cents
    assert bakery.refunded_cents == bakery.total_cents
    assert not orders.can_withdraw(bakery)
    assert "Rétractation" in mailbox.last_to("boulanger@example.com").subject


def test_a_withdrawal_asks_for_valid_quantities(order: Order, town: Town) -> None:
    bakery = _delivered(order, town)
    bread = next(line for line in bakery.lines if line.title == "Pain au levain")
    with pytest.raises(orders.OrderError, match="au plus"):
        orders.request_withdrawal(bakery, {bread.id: "3"})
    with pytest.raises(orders.OrderError, match="au plus"):
        orders.request_withdrawal(bakery, {bread.id: "-1"})
    with pytest.raises(orders.OrderError, match="invalide"):
        orders.request_withdrawal(bakery, {bread.id: "deux"})
    with pytest.raises(orders.OrderError, match="au moins un"):
        orders.request_withdrawal(bakery, {bread.id: "0"})
    books = part_of(order, town.books_id)
    with pytest.raises(orders.OrderError, match="réception"):
        orders.request_withdrawal(books, {books.lines[0].id: "1"})


def test_the_window_is_fourteen_days_from_the_day_after_receipt(order: Order, town: Town) -> None:
    bakery = _delivered(order, town)
    deadline = orders.withdrawal_deadline(bakery)
    assert deadline == bakery.received_at.astimezone(TOWN_TZ).date() + dt.timedelta(days=14)  # type: ignore[union-attr]
    bread = bakery.lines[0]
    last_day = dt.datetime.combine(deadline, dt.time(22, 0), tzinfo=TOWN_TZ)  # type: ignore[arg-type]
    with time_machine.travel(last_day):
        assert orders.can_withdraw(bakery)
        assert tasks.complete_received() == 0
    with time_machine.travel(last_day + dt.timedelta(days=1)):
        assert not orders.can_withdraw(bakery)
        with pytest.raises(orders.OrderError, match="a pris fin"):
            orders.request_withdrawal(bakery, {bread.id: "1"})
        assert tasks.complete_received() == 1
    assert bakery.status == S.COMPLETED
