"""The "how was it?" e-mail: a few days after receipt, once per shop's part, with a link that opens the
review pages for that buyer only; run hourly by ``flask cron``."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask

from app import jobs as app_jobs
from app.database import utcnow
from app.extensions import db
from app.orders import services as orders
from app.orders.models import VendorOrder, VendorOrderStatus
from app.reviews import services, tasks
from app.reviews.models import Review, ReviewRequest
from tests.orders.support import Town, fill_cart, make_town, part_of
from tests.orders.test_lifecycle import place_and_pay
from tests.plugins.application import Client, Mailbox
from tests.plugins.stripe import StripeEmulator
from tests.reviews.support import DAY, GOOD, bought, post_review, review_now, text_of

S = VendorOrderStatus


def test_the_job_is_scheduled_hourly_by_cron() -> None:
    assert (tasks.send_requests, 3600) in app_jobs.schedule()


def test_a_request_goes_a_few_days_after_receipt_and_only_once(
    app: Flask, db_session: object, mailbox: Mailbox
) -> None:
    with app.test_request_context():
        fresh = bought(received=utcnow() - DAY, email="recent@example.com")
        due = bought(received=utcnow() - 4 * DAY, email="due@example.com")
        old = bought(received=utcnow() - 60 * DAY, status=S.COMPLETED, email="old@example.com")
        cancelled = bought(status=S.CANCELLED, received=False, email="cancelled@example.com")
        reviewed = bought(email="reviewed@example.com")
        review_now(reviewed)
    with app.app_context():
        assert tasks.send_requests() == 1
        assert tasks.send_requests() == 0, "safe to run twice"
    assert [message.to for message in mailbox.messages() if "Votre avis sur" in message.subject] == [
        "due@example.com"
    ]
    requested = set(db.session.scalars(sa.select(ReviewRequest.vendor_order_id)))
    assert requested == {due.vendor_order_id}
    assert {fresh.vendor_order_id, old.vendor_order_id, cancelled.vendor_order_id}.isdisjoint(requested)


def test_the_cli_command_sends_them(app: Flask, db_session: object, mailbox: Mailbox) -> None:
    with app.test_request_context():
        bought(email="cli@example.com")
    result = app.test_cli_runner().invoke(args=["reviews", "send-requests"])
    assert result.exit_code == 0, result.output
    assert "1 review requests sent" in result.output
    assert mailbox.last_to("cli@example.com").subject == "Votre avis sur Le Fournil ?"


def test_the_mails_link_opens_the_review_page_without_logging_in(
    app: Flask, db_session: object, client: Client, mailbox: Mailbox
) -> None:
    with app.test_request_context():
        purchase = bought(email="lien@example.com")
    with app.app_context():
        tasks.send_requests()
    message = mailbox.last_to("lien@example.com")
    assert "Bonjour Camille," in message.text
    assert "Pain au levain" not in message.subject
    link = mailbox.link(message, "/avis/commande/")
    page = client.get(link)
    assert page.status_code == 200
    assert "Pain au levain" in text_of(page)
    assert post_review(client, f"{link}/article/{purchase.line_ids[0]}").status_code == 302
    assert db.session.scalars(sa.select(Review.author_id)).all() == [purchase.buyer_id]


@pytest.fixture
def town(app_ctx: Flask, stripe_api: StripeEmulator) -> Town:
    made = make_town()
    fill_cart(made, (made.bread, 1), (made.novel, 1))
    return made


def test_a_real_order_paid_delivered_then_reviewed(
    app: Flask, app_ctx: Flask, town: Town, client: Client, mailbox: Mailbox
) -> None:
    """Paid through the Stripe emulator, accepted, shipped, delivered: the request follows, and the
    buyer reviews the bread and the bakery; the bookshop's part, not delivered, cannot be reviewed."""
    order = place_and_pay(town)
    bakery, books = part_of(order, town.baker_id), part_of(order, town.books_id)
    orders.accept(bakery)
    orders.ship(bakery, "", "")
    orders.mark_delivered(bakery)
    orders.accept(books)
    db.session.commit()
    bakery_id, books_id = bakery.id, books.id
    with time_machine.travel(utcnow() + 4 * DAY):
        assert tasks.send_requests() == 1
        request = db.session.scalars(sa.select(ReviewRequest)).one()
        assert request.vendor_order_id == bakery_id
        link = mailbox.link(mailbox.last_to("camille@example.com"), "/avis/commande/")
        part = db.session.get(VendorOrder, bakery_id)
        assert part is not None
        line_id = part.lines[0].id
        assert post_review(client, f"{link}/article/{line_id}", rating="4").status_code == 302
        shop_review = post_review(
            client, f"{link}/boutique", rating="5", body=GOOD["body"] + " Accueil adorable."
        )
        assert shop_review.status_code == 302
    kinds = sorted((review.kind.value, review.rating) for review in db.session.scalars(sa.select(Review)))
    assert kinds == [("product", 4), ("shop", 5)]
    other = db.session.get(VendorOrder, books_id)
    assert other is not None
    assert not services.reviewable(other)
