"""Outbound webhooks, end to end with a receiver on 127.0.0.1: events recorded by the domains, signed
deliveries, retries, replay from the back office, disabling, and the addresses refused."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask, g

from api.webhooks import services, tasks
from api.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from app import events
from app.accounts.models import User
from app.cart import services as cart
from app.catalog.models import StockReason, Variant
from app.catalog.services import move_stock
from app.database import utcnow
from app.events import Event
from app.extensions import db
from app.orders import services as orders
from app.orders.models import Order
from tests.api.webhook_receiver import running_receiver
from tests.factories import UserFactory
from tests.orders.support import Town, fill_cart, login, make_town, part_of
from tests.plugins.application import Client, Mailbox, jobs
from tests.plugins.stripe import StripeEmulator
from tests.reviews.support import login_manager

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"
CONTACT = orders.Contact(
    email="camille@example.com",
    full_name="Camille Martin",
    phone="0612345678",
    street="15 rue de la Paix",
    postcode="37000",
    city="Bellerive-sur-Loire",
)


def documented_verifier() -> Any:
    """``verify_signature`` exactly as docs/api.md gives it to receivers."""
    text = DOCS.read_text()
    section = text.split("## Webhooks", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code, "docs/api.md shows no Python snippet under Webhooks"
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), str(DOCS), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["verify_signature"]


def user(email: str) -> User:
    found = db.session.scalar(sa.select(User).where(User.email == email))
    assert found is not None
    return found


def register(email: str, shop_id: int | None, url: str, *event_types: str) -> WebhookEndpoint:
    made = services.create_endpoint(
        user(email), shop_id, services.EndpointData(url=url, description="Caisse", events=list(event_types))
    )
    db.session.commit()
    return made


def run_webhook_jobs(app: Flask) -> int:
    return jobs(app).run_all(queues=("webhooks",))


def pay(town: Town) -> Order:
    shopper = town.shopper()
    shopper_cart = cart.find_cart(shopper, None)
    assert shopper_cart is not None
    order = orders.place_order(shopper, shopper_cart, CONTACT, uuid.uuid4().hex)
    db.session.commit()
    outcome = orders.pay(shopper, order.number, "pm_card_visa", "http://127.0.0.1/retour", "first")
    db.session.commit()
    assert outcome.order.status.value == "paid"
    return outcome.order


def delivery_of(endpoint_id: int) -> WebhookDelivery:
    db.session.expire_all()
    return db.session.scalars(
        sa.select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.id)
    ).one()


@pytest.fixture
def town(app_ctx: Flask, stripe_api: StripeEmulator) -> Town:
    made = make_town()
    UserFactory(email="ville@example.com", manager=True)
    db.session.commit()
    return made


def record_event(shop_id: int, event_type: str = events.PRODUCT_LOW_STOCK) -> Event:
    recorded = events.record(
        event_type, shop_id, {"product_id": 1, "variant_id": 2, "sku": "PAIN-1", "stock": 1}
    )
    db.session.commit()
    return recorded


# -- a paid order reaches the shop's endpoint, signed ----------------------------------------------


def test_a_paid_order_is_delivered_signed_to_the_shop_and_the_town_only(app: Flask, town: Town) -> None:
    fill_cart(town, (town.bread, 2))
    with running_receiver(200) as receiver:
        baker = register(town.baker_owner_email, town.baker_id, receiver.url("/baker"), "order.paid")
        register(town.books_owner_email, town.books_id, receiver.url("/books"), "order.paid")
        register(town.baker_owner_email, town.baker_id, receiver.url("/stock"), "product.low_stock")
        register("ville@example.com", None, receiver.url("/town"), "order.paid", "order.cancelled")
        order = pay(town)
        run_webhook_jobs(app)

    by_path = {hit.path: hit for hit in receiver.received}
    assert sorted(by_path) == ["/baker", "/town"], "not the other shop, not an endpoint for other events"
    hit = by_path["/baker"]
    body = json.loads(hit.body)
    part = part_of(order, town.baker_id)
    assert body["type"] == "order.paid" == hit.headers["marketplace-event-type"]
    assert (
        body["id"] == hit.headers["marketplace-event-id"] == by_path["/town"].headers["marketplace-event-id"]
    )
    assert body["shop_id"] == town.baker_id
    data = body["data"]
    assert (data["order_number"], data["vendor_order_id"], data["status"]) == (order.number, part.id, "paid")
    assert (data["total_cents"], data["currency"]) == (part.total_cents, "EUR")
    assert data["lines"][0]["quantity"] == 2
    assert data["paid_at"].endswith("Z")
    for personal in ("camille", "Martin", "06 12", "rue de la Paix"):
        assert personal.lower() not in hit.body.decode().lower()

    verify = documented_verifier()
    secret = db.session.get(WebhookEndpoint, baker.id).secret
    signature = hit.headers["marketplace-signature"]
    assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", signature)
    assert verify(hit.body, signature, secret)
    assert not verify(hit.body, signature, services.new_secret()), "another secret"
    assert not verify(hit.body.replace(b'"paid"', b'"cancelled"'), signature, secret), "a changed body"

    delivered = delivery_of(baker.id)
    assert delivered.status == DeliveryStatus.SUCCEEDED
    assert [(a.number, a.status_code, a.response_excerpt) for a in delivered.log] == [(1, 200, "answer 200")]
    assert services.webhook_backlog() == 0


def test_the_domains_record_their_events_in_the_same_transaction(app: Flask, town: Town) -> None:
    fill_cart(town, (town.cake, 1), (town.novel, 1))
    order = pay(town)
    bakery = part_of(order, town.baker_id)
    orders.cancel_by_shopper(bakery)
    db.session.rollback()  # a change rolled back announces nothing
    assert [e.type for e in db.session.scalars(sa.select(Event).order_by(Event.id))] == [
        "order.paid",
        "order.paid",
    ]

    orders.cancel_by_shopper(part_of(order, town.baker_id))
    db.session.commit()
    cancelled = db.session.scalars(sa.select(Event).where(Event.type == "order.cancelled")).one()
    assert cancelled.shop_id == town.baker_id
    assert cancelled.payload["refunded_cents"] == cancelled.payload["total_cents"] > 0
    assert cancelled.payload["cancelled_at"].endswith("Z")


def test_a_return_is_announced_when_requested_and_when_refunded(app: Flask, town: Town) -> None:
    fill_cart(town, (town.bread, 2))
    bakery = part_of(pay(town), town.baker_id)
    orders.accept(bakery)
    orders.ship(bakery, "", "")
    orders.mark_delivered(bakery)
    request = orders.request_withdrawal(bakery, {bakery.lines[0].id: 1}, "Trop de pain")
    db.session.commit()
    requested = db.session.scalars(sa.select(Event).where(Event.type == "return.requested")).one()
    assert requested.payload["return"]["lines"] == [{"line_id": bakery.lines[0].id, "quantity": 1}]
    assert requested.payload["return"]["refunded_cents"] == 0
    assert "Trop de pain" not in json.dumps(requested.payload), "the shopper's words stay in the back office"

    orders.receive_return(bakery)
    db.session.commit()
    refunded = db.session.scalars(sa.select(Event).where(Event.type == "return.refunded")).one()
    assert refunded.payload["return"]["id"] == request.id
    assert refunded.payload["return"]["status"] == "refunded"
    assert refunded.payload["return"]["refunded_cents"] == 450
    assert refunded.payload["status"] == "refunded"


def test_a_review_going_online_is_announced(app: Flask, town: Town) -> None:
    from app.reviews import services as reviews
    from tests.reviews.support import GOOD, place

    novel = db.session.get(Variant, town.novel).product
    part = place(town.shopper(), [novel])
    review = reviews.submit_review(
        town.shopper(), part.id, part.lines[0].id, reviews.ReviewData(5, GOOD["title"], GOOD["body"])
    )
    db.session.commit()
    published = db.session.scalars(sa.select(Event).where(Event.type == "review.published")).one()
    assert published.shop_id == town.books_id
    assert (published.payload["review_id"], published.payload["rating"]) == (review.id, 5)
    assert "Camille" not in json.dumps(published.payload)


def test_after_a_secret_change_both_secrets_sign_for_a_day(app: Flask, town: Town) -> None:
    verify = documented_verifier()
    with running_receiver(200) as receiver:
        endpoint = register(town.baker_owner_email, town.baker_id, receiver.url(), "product.low_stock")
        old = endpoint.secret
        new = services.rotate_secret(user(town.baker_owner_email), town.baker_id, endpoint.id).secret
        db.session.commit()
        record_event(town.baker_id)
        run_webhook_jobs(app)
        with time_machine.travel(utcnow() + dt.timedelta(hours=25), tick=False):
            record_event(town.baker_id)
            run_webhook_jobs(app)
            late = receiver.received[1]
            assert verify(late.body, late.headers["marketplace-signature"], new, tolerance=10**6)
            assert not verify(late.body, late.headers["marketplace-signature"], old, tolerance=10**6)
    first = receiver.received[0]
    assert first.headers["marketplace-signature"].count("v1=") == 2
    assert verify(first.body, first.headers["marketplace-signature"], new)
    assert verify(first.body, first.headers["marketplace-signature"], old)


def test_stock_falling_to_its_threshold_is_announced_once(app: Flask, town: Town) -> None:
    # The bread starts at 10 units with the default threshold of 3.
    move_stock(None, town.bread, -6, StockReason.ADJUSTMENT)  # 4: above the threshold
    move_stock(None, town.bread, -1, StockReason.ADJUSTMENT)  # 3: reaches it
    move_stock(None, town.bread, -1, StockReason.SALE)  # 2: still low, already said
    move_stock(None, town.bread, 5, StockReason.RETURN)  # 7
    move_stock(None, town.bread, -5, StockReason.SALE)  # 2: crosses it again
    db.session.commit()
    found = list(
        db.session.scalars(sa.select(Event).where(Event.type == "product.low_stock").order_by(Event.id))
    )
    assert [(e.payload["stock"], e.payload["reason"]) for e in found] == [(3, "adjustment"), (2, "sale")]
    assert all(e.shop_id == town.baker_id and e.payload["variant_id"] == town.bread for e in found)


# -- retries ---------------------------------------------------------------------------------------


def test_a_failing_receiver_is_retried_later_and_later_until_it_answers(app: Flask, town: Town) -> None:
    with running_receiver(500, 503, 200) as receiver:
        endpoint = register(town.baker_owner_email, town.baker_id, receiver.url(), "product.low_stock")
        recorded = record_event(town.baker_id)
        start = utcnow()
        run_webhook_jobs(app)
        first = delivery_of(endpoint.id)
        assert (first.status, first.attempts, first.last_status_code) == (DeliveryStatus.PENDING, 1, 500)
        first_wait = first.next_attempt_at - start
        assert dt.timedelta(seconds=55) < first_wait <= dt.timedelta(seconds=65)
        assert tasks.retry_due() == 0, "not due yet"
        assert services.webhook_backlog() == 1

        with time_machine.travel(first.next_attempt_at + dt.timedelta(seconds=1), tick=False):
            second_start = utcnow()
            assert tasks.retry_due() == 1
            run_webhook_jobs(app)
            second = delivery_of(endpoint.id)
            assert (second.attempts, second.last_status_code) == (2, 503)
            second_wait = second.next_attempt_at - second_start
            assert second_wait > first_wait, "each wait longer than the last"
            retry_at = second.next_attempt_at

        with time_machine.travel(retry_at + dt.timedelta(seconds=1), tick=False):
            assert tasks.retry_due() == 1
            run_webhook_jobs(app)

    done = delivery_of(endpoint.id)
    assert done.status == DeliveryStatus.SUCCEEDED
    assert [a.status_code for a in done.log] == [500, 503, 200]
    assert {hit.headers["marketplace-event-id"] for hit in receiver.received} == {recorded.public_id}
    assert len(receiver.received) == 3
    assert db.session.get(WebhookEndpoint, endpoint.id).consecutive_failures == 0


def test_running_a_delivery_twice_sends_the_try_once(app: Flask, town: Town) -> None:
    with running_receiver(500) as receiver:
        endpoint = register(town.baker_owner_email, town.baker_id, receiver.url(), "product.low_stock")
        record_event(town.baker_id)
        tasks.fan_out()
        delivery_id = delivery_of(endpoint.id).id
        assert tasks.deliver(delivery_id) is True
        assert tasks.deliver(delivery_id) is False, "the next try is not due: nothing is sent"
        tasks.fan_out()  # planning again plans nothing more
    assert len(receiver.received) == 1
    assert delivery_of(endpoint.id).attempts == 1


def test_an_address_is_checked_again_at_each_delivery(
    app: Flask, town: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_receiver(200) as receiver:
        endpoint = register(town.baker_owner_email, town.baker_id, receiver.url(), "product.low_stock")
        monkeypatch.setitem(app.config, "OUTBOUND_ALLOW_PRIVATE", False)  # production's rule
        record_event(town.baker_id)
        run_webhook_jobs(app)
    assert receiver.received == []
    tried = delivery_of(endpoint.id)
    assert tried.status == DeliveryStatus.PENDING
    assert "https://" in tried.log[0].error
    assert tried.log[0].status_code is None


def test_the_log_is_kept_ninety_days(app: Flask, town: Town) -> None:
    with running_receiver(200) as receiver:
        register(town.baker_owner_email, town.baker_id, receiver.url(), "product.low_stock")
        with time_machine.travel(utcnow() - dt.timedelta(days=91), tick=False):
            old = record_event(town.baker_id).id
            run_webhook_jobs(app)
        recent = record_event(town.baker_id).id
        run_webhook_jobs(app)
        original = db.session.scalars(sa.select(WebhookDelivery).where(WebhookDelivery.event_id == old)).one()
        services.replay(user(town.baker_owner_email), town.baker_id, original.id)
        db.session.commit()
        run_webhook_jobs(app)  # the replay is recent, but of an old event: it goes with it
    assert len(receiver.received) == 3
    assert tasks.forget_old() == 1
    db.session.expire_all()
    assert list(db.session.scalars(sa.select(Event.id))) == [recent]
    remaining = db.session.scalars(sa.select(WebhookDelivery)).one()
    assert remaining.event_id == recent
    assert len(remaining.log) == 1
    assert tasks.forget_old() == 0


# -- disabling ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("history", ["49 failures in a row", "failing for 3 days"])
def test_an_endpoint_failing_too_long_is_disabled_and_its_owner_told(
    app: Flask, town: Town, mailbox: Mailbox, history: str
) -> None:
    with running_receiver(500) as receiver:
        endpoint = register(town.baker_owner_email, town.baker_id, receiver.url(), "product.low_stock")
        found = db.session.get(WebhookEndpoint, endpoint.id)
        if history == "49 failures in a row":
            found.consecutive_failures, found.failing_since = 49, utcnow() - dt.timedelta(hours=1)
        else:
            found.consecutive_failures, found.failing_since = 3, utcnow() - dt.timedelta(days=3, minutes=1)
        db.session.commit()
        record_event(town.baker_id)
        record_event(town.baker_id)  # a second delivery, still waiting when the first fails
        tasks.fan_out()
        first, waiting = db.session.scalars(
            sa.select(WebhookDelivery.id)
            .where(WebhookDelivery.endpoint_id == endpoint.id)
            .order_by(WebhookDelivery.id)
        )
        tasks.deliver(first)
        assert tasks.deliver(waiting) is False, "the endpoint is off: nothing more is sent"
        record_event(town.baker_id)
        run_webhook_jobs(app)
    assert len(receiver.received) == 1
    db.session.expire_all()
    disabled = db.session.get(WebhookEndpoint, endpoint.id)
    assert (disabled.enabled, disabled.disabled_reason) == (False, services.DISABLED_FAILING)
    assert db.session.get(WebhookDelivery, waiting).status == DeliveryStatus.FAILED
    assert services.webhook_backlog() == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)) == 2, (
        "none planned once off"
    )
    message = mailbox.last_to(town.baker_owner_email)
    assert message.subject == f"Webhook désactivé : {receiver.url()}"
    assert f"/vendeur/le-fournil/webhooks/{endpoint.id}" in mailbox.link(message, "/webhooks/")


# -- the back office -----------------------------------------------------------------------------------


@pytest.fixture
def new_client(app: Flask, db_session: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[[], Client]:
    """Clients of their own: the test's app context outlives each request, so the signed-in user and
    the CSRF token are read again by each request, as in production."""

    def make() -> Client:
        app.test_client_class = Client
        made: Client = app.test_client()  # type: ignore[assignment]
        original = made.open

        def open_(*args: Any, **kwargs: Any) -> Any:
            g.pop("_login_user", None)
            g.pop("csrf_token", None)
            return original(*args, **kwargs)

        monkeypatch.setattr(made, "open", open_)
        return made

    return make


@pytest.fixture
def owner_client(new_client: Callable[[], Client], town: Town) -> Client:
    client = new_client()
    login(client, town.baker_owner_email)
    return client


def test_the_owner_registers_an_endpoint_and_sees_its_secret_once(owner_client: Client, town: Town) -> None:
    page = owner_client.submit(
        "/vendeur/le-fournil/webhooks",
        {
            "url": "http://127.0.0.1:9/caisse",
            "description": "Caisse",
            "events": ["order.paid", "review.published"],
        },
    )
    assert page.status_code == 200
    made = db.session.scalars(
        sa.select(WebhookEndpoint).where(WebhookEndpoint.shop_id == town.baker_id)
    ).one()
    assert made.events == ["order.paid", "review.published"]
    assert made.secret.startswith("whsec_")
    assert made.secret in page.get_data(as_text=True)
    again = owner_client.get(f"/vendeur/le-fournil/webhooks/{made.id}").get_data(as_text=True)
    assert made.secret not in again
    assert 'data-testid="webhook-secret"' not in again

    first_secret = made.secret
    page = f"/vendeur/le-fournil/webhooks/{made.id}"
    rotated = owner_client.submit(
        f"/vendeur/le-fournil/webhooks/{made.id}/secret",
        {},
        form_url=f"/vendeur/le-fournil/webhooks/{made.id}",
    )
    db.session.expire_all()
    fresh = db.session.get(WebhookEndpoint, made.id)
    assert fresh.secret != first_secret
    assert fresh.previous_secret == first_secret
    assert fresh.secret in rotated.get_data(as_text=True)
    owner_client.submit(f"{page}/secret", {}, form_url=page)  # a double click
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, made.id).previous_secret == first_secret, (
        "still the configured one"
    )

    owner_client.submit(f"{page}/desactiver", {}, form_url=page)
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, made.id).enabled is False
    owner_client.submit(f"{page}/activer", {}, form_url=page)
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, made.id).enabled is True

    kept = owner_client.submit(f"{page}/supprimer", {}, form_url=page)
    assert kept.status_code == 302
    assert db.session.get(WebhookEndpoint, made.id) is not None, "not without the box ticked"
    gone = owner_client.submit(f"{page}/supprimer", {"confirm": "oui"}, form_url=page)
    assert gone.headers["Location"].endswith("/vendeur/le-fournil/webhooks")
    db.session.expire_all()
    assert db.session.get(WebhookEndpoint, made.id) is None


def test_the_same_form_sent_twice_registers_one_endpoint(owner_client: Client, town: Town) -> None:
    form = {"url": "http://127.0.0.1:9/caisse", "description": "", "events": ["order.paid"]}
    token = owner_client.csrf_token("/vendeur/le-fournil/webhooks")
    pages = [
        owner_client.post("/vendeur/le-fournil/webhooks", data={"csrf_token": token, **form})
        for _ in range(2)
    ]
    (made,) = db.session.scalars(sa.select(WebhookEndpoint).where(WebhookEndpoint.shop_id == town.baker_id))
    for page in pages:
        assert page.status_code == 200
        assert made.secret in page.get_data(as_text=True), "the second answer is the first one's"
    other_events = owner_client.submit(
        "/vendeur/le-fournil/webhooks", {**form, "events": ["review.published"]}
    ).get_data(as_text=True)
    assert "Cette adresse est déjà enregistrée" in html.unescape(other_events)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 1


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://169.254.169.254/latest/meta-data/", "réseau privé"),
        ("https://127.0.0.1/hooks", "réseau privé"),
        ("https://[::1]/hooks", "réseau privé"),
        ("http://93.184.216.34/hooks", "doit commencer par https://"),
    ],
)
def test_an_address_the_app_must_not_call_is_refused_on_the_form(
    app: Flask, owner_client: Client, town: Town, monkeypatch: pytest.MonkeyPatch, url: str, message: str
) -> None:
    monkeypatch.setitem(app.config, "OUTBOUND_ALLOW_PRIVATE", False)
    page = owner_client.submit("/vendeur/le-fournil/webhooks", {"url": url, "events": ["order.paid"]})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    errors = re.search(r'<ul class="field__errors" id="url-error">(.*?)</ul>', html, re.S)
    assert errors, "the message sits under the address field"
    assert message in errors.group(1)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 0


def test_choosing_no_event_is_refused_on_its_field(owner_client: Client) -> None:
    page = owner_client.submit(
        "/vendeur/le-fournil/webhooks", {"url": "http://127.0.0.1:9/", "events": ["order.shipped"]}
    )
    assert re.search(
        r'id="events-error">\s*<li>Choisissez au moins un des événements', page.get_data(as_text=True)
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 0


def test_the_owner_replays_a_delivery_and_another_shops_owner_gets_404(
    app: Flask, owner_client: Client, new_client: Callable[[], Client], town: Town
) -> None:
    with running_receiver(200) as receiver:
        endpoint = register(town.baker_owner_email, town.baker_id, receiver.url(), "product.low_stock")
        recorded = record_event(town.baker_id)
        run_webhook_jobs(app)
        original = delivery_of(endpoint.id)
        page_url = f"/vendeur/le-fournil/webhooks/{endpoint.id}"
        page = owner_client.get(page_url).get_data(as_text=True)
        assert recorded.public_id in page
        assert "answer 200" in page

        intruder = new_client()
        login(intruder, town.books_owner_email)
        token = intruder.csrf_token("/vendeur/librairie-du-pont/webhooks")
        refused = intruder.post(
            f"/vendeur/librairie-du-pont/webhooks/envois/{original.id}/renvoyer", data={"csrf_token": token}
        )
        assert refused.status_code == 404
        assert intruder.get(f"/vendeur/librairie-du-pont/webhooks/{endpoint.id}").status_code == 404
        assert intruder.get(page_url).status_code == 404, "not a member of that shop"
        run_webhook_jobs(app)
        assert len(receiver.received) == 1

        replayed = owner_client.submit(
            f"/vendeur/le-fournil/webhooks/envois/{original.id}/renvoyer", {}, form_url=page_url
        )
        assert replayed.status_code == 302
        run_webhook_jobs(app)

    assert [hit.headers["marketplace-event-id"] for hit in receiver.received] == [recorded.public_id] * 2
    db.session.expire_all()
    again = db.session.scalars(
        sa.select(WebhookDelivery).where(WebhookDelivery.replay_of_id == original.id)
    ).one()
    assert (again.event_id, again.status) == (original.event_id, DeliveryStatus.SUCCEEDED)


def test_the_manager_keeps_the_towns_endpoints_in_the_console(
    new_client: Callable[[], Client], town: Town
) -> None:
    client = new_client()
    login_manager(client, "console@example.com")
    page = client.submit(
        "/gestion/webhooks", {"url": "http://127.0.0.1:9/ville", "events": ["review.published"]}
    )
    assert page.status_code == 200
    made = db.session.scalars(sa.select(WebhookEndpoint)).one()
    assert made.shop_id is None
    assert made.secret in page.get_data(as_text=True)
    assert "/gestion/webhooks" in client.get("/gestion/annonces").get_data(as_text=True), (
        "in the console's menu"
    )

    shop_owner = new_client()
    login(shop_owner, town.baker_owner_email)
    assert shop_owner.get("/gestion/webhooks").status_code == 404
    assert shop_owner.get(f"/gestion/webhooks/{made.id}").status_code == 404
    assert shop_owner.get(f"/vendeur/le-fournil/webhooks/{made.id}").status_code == 404, "not the shop's"
    menu = shop_owner.get("/vendeur/le-fournil/webhooks").get_data(as_text=True)
    assert 'href="/vendeur/le-fournil/webhooks" aria-current="page"' in menu
