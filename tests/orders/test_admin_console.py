"""The manager's orders console: finding an order by any criterion, the whole order on its page (payment,
parts, refunds, e-mails sent, audit trail), and the manager's actions on it, each once per click."""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, g

from app.accounts.models import User
from app.audit.models import AuditEvent, SentEmail
from app.cart import services as cart
from app.catalog.models import Variant
from app.extensions import db
from app.orders import services as orders
from app.orders.models import Order, OrderStatus, Refund, RefundReason, VendorOrderStatus
from payouts import commission
from payouts.models import LedgerTransaction, RuleScope, TransactionKind
from tests.catalog.test_categories import field_errors, login_manager
from tests.factories import UserFactory
from tests.orders.support import Town, fill_cart, login, make_town, part_of, stock
from tests.plugins.application import Client, Mailbox
from tests.plugins.stripe import StripeEmulator

CONSOLE = "/gestion/commandes"
TOKEN = re.compile(r'name="(?:part-\d+-)?token" type="hidden" value="([0-9a-f]+)"')


@pytest.fixture
def town(app_ctx: Flask, stripe_api: StripeEmulator) -> Town:
    made = make_town()
    manager: Any = UserFactory(manager=True)
    commission.set_rule(manager, RuleScope.PLATFORM, None, 1000)
    db.session.commit()
    return made


@pytest.fixture(autouse=True)
def _signed_in_user_read_per_request(town: Town, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test's app context outlives each request: the signed-in user is read again by each one."""
    original = client.open

    def open_(*args: Any, **kwargs: Any) -> Any:
        g.pop("_login_user", None)
        return original(*args, **kwargs)

    monkeypatch.setattr(client, "open", open_)


def contact(email: str = "camille@example.com", name: str = "Camille Martin") -> orders.Contact:
    return orders.Contact(
        email=email,
        full_name=name,
        phone="0612345678",
        street="15 rue de la Paix",
        postcode="37000",
        city="Bellerive-sur-Loire",
    )


def place(town: Town, *items: tuple[int, int], who: orders.Contact | None = None, paid: bool = True) -> Order:
    fill_cart(town, *items)
    shopper = town.shopper()
    basket = cart.find_cart(shopper, None)
    assert basket is not None
    order = orders.place_order(shopper, basket, who or contact(), uuid.uuid4().hex)
    db.session.commit()
    if paid:
        outcome = orders.pay(
            shopper, order.number, "pm_card_visa", "http://127.0.0.1/retour", uuid.uuid4().hex
        )
        db.session.commit()
        assert outcome.order.status == OrderStatus.PAID
        order = outcome.order
    return order


@pytest.fixture
def accepted(town: Town) -> Order:
    """Camille's bread and cake at the bakery, paid and accepted."""
    order = place(town, (town.bread, 2), (town.cake, 1))
    orders.accept(part_of(order, town.baker_id))
    db.session.commit()
    return order


def fresh(order: Order) -> Order:
    db.session.expire_all()
    found = db.session.get(Order, order.id)
    assert found is not None
    return found


def page_text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True)).replace("\u202f", " ").replace("\xa0", " ")


def found(client: Client, **criteria: str) -> list[str]:
    """The order numbers the console lists for these criteria, in the order shown."""
    response = client.get(CONSOLE, query_string=criteria)
    assert response.status_code == 200
    listing = page_text(response).split('data-testid="found-orders"')[1].split("</ul>")[0]
    return re.findall(r">(M-\d{4}-\d{6})</a>", listing)


def notices(client: Client, **criteria: str) -> list[str]:
    return re.findall(
        r'data-testid="search-notice">([^<]*)<', page_text(client.get(CONSOLE, query_string=criteria))
    )


def events(action: str) -> list[AuditEvent]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def ledger_refunds(vendor_order_id: int) -> int:
    """The refunds the ledger holds for a shop's part (each one balanced transaction)."""
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(LedgerTransaction)
            .where(
                LedgerTransaction.vendor_order_id == vendor_order_id,
                LedgerTransaction.kind == TransactionKind.REFUND,
            )
        )
        or 0
    )


# -- finding an order -----------------------------------------------------------------------------


@pytest.fixture
def three(town: Town, accepted: Order) -> dict[str, Order]:
    """Camille's accepted bakery order, Jules's book (ordered in January), an unpaid order expired."""
    books = place(town, (town.novel, 1), who=contact("jules.petit@example.com", "Jules Petit"))
    books.created_at = dt.datetime(2026, 1, 15, 10, tzinfo=dt.UTC)
    lapsed = place(town, (town.bread, 1), paid=False)
    orders.release(lapsed)
    db.session.commit()
    return {"accepted": accepted, "books": books, "lapsed": lapsed}


def test_the_console_lists_the_latest_orders_without_criteria(
    client: Client, three: dict[str, Order]
) -> None:
    login_manager(client)
    assert found(client) == [three["lapsed"].number, three["accepted"].number, three["books"].number]


def test_each_criterion_finds_its_orders_and_they_combine(
    client: Client, town: Town, three: dict[str, Order]
) -> None:
    accepted, books, lapsed = three["accepted"], three["books"], three["lapsed"]
    login_manager(client)
    assert found(client, q=books.number) == [books.number]
    assert found(client, q=books.number.lower()) == [books.number]
    assert found(client, q="JULES.petit@") == [books.number]
    assert found(client, q="petit") == [books.number]
    assert found(client, q="camille") == [lapsed.number, accepted.number]
    assert found(client, boutique=str(town.books_id)) == [books.number]
    assert found(client, boutique=str(town.baker_id)) == [lapsed.number, accepted.number]
    assert found(client, etat="accepted") == [accepted.number]
    assert found(client, etat="paid") == [books.number]
    assert found(client, etat="expired") == [lapsed.number]
    assert found(client, du="2026-01-01", au="2026-01-31") == [books.number]
    assert found(client, du="2026-01-15", au="2026-01-15") == [books.number]
    assert found(client, du="2026-01-16", au="2026-01-31") == []
    # Combined: every criterion holds, and the shop and the state are those of the same part.
    assert found(client, q="camille", etat="accepted") == [accepted.number]
    assert found(client, boutique=str(town.books_id), etat="accepted") == []
    assert found(client, boutique=str(town.baker_id), etat="cancelled") == [lapsed.number]
    assert found(client, q="camille", au="2026-01-31") == []


def test_inverted_dates_are_swapped_with_a_notice(client: Client, three: dict[str, Order]) -> None:
    login_manager(client)
    assert found(client, du="2026-01-31", au="2026-01-01") == [three["books"].number]
    assert notices(client, du="2026-01-31", au="2026-01-01") == [
        "Les dates étaient inversées : elles ont été remises dans l’ordre."
    ]


@pytest.mark.parametrize(
    ("criteria", "notice"),
    [
        ({"boutique": "999999"}, "Boutique inconnue : filtre ignoré."),
        ({"boutique": "abc"}, "Boutique inconnue : filtre ignoré."),
        ({"boutique": str(2**64)}, "Boutique inconnue : filtre ignoré."),
        ({"etat": "lost"}, "État inconnu : filtre ignoré."),
        ({"du": "0001-01-01"}, "Date « 0001-01-01 » non reconnue : ignorée."),
        ({"au": "9999-12-31"}, "Date « 9999-12-31 » non reconnue : ignorée."),
        ({"du": "2026-02-30"}, "Date « 2026-02-30 » non reconnue : ignorée."),
        ({"au": "demain"}, "Date « demain » non reconnue : ignorée."),
    ],
)
def test_a_bad_criterion_is_ignored_with_a_notice(
    client: Client, three: dict[str, Order], criteria: dict[str, str], notice: str
) -> None:
    login_manager(client)
    assert notices(client, **criteria) == [notice]
    assert len(found(client, **criteria)) == 3


def test_odd_pages_and_text_never_fail(client: Client, three: dict[str, Order]) -> None:
    login_manager(client)
    assert found(client, page=str(10**30)) == []
    assert found(client, page="-4") == found(client)
    assert found(client, page="x") == found(client)
    assert found(client, q="%") == []
    assert found(client, q="_") == []
    assert found(client, q="x" * 5000) == []
    assert client.get(f"{CONSOLE}/M-2026-999999").status_code == 404
    assert client.get(f"{CONSOLE}/{'M' * 500}").status_code == 404


def plenty_of_stock() -> None:
    db.session.execute(sa.update(Variant).values(stock=1000))
    db.session.commit()


def test_the_list_pages_by_25_newest_first(client: Client, town: Town) -> None:
    login_manager(client)
    plenty_of_stock()
    placed = [place(town, (town.bread, 1), paid=False).number for _ in range(27)]
    first, second = found(client), found(client, page="2")
    assert first == placed[::-1][:25]
    assert second == placed[::-1][25:]
    assert "Page 1 sur 2" in page_text(client.get(CONSOLE))


@contextmanager
def counting_queries() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)


def selects(statements: list[str]) -> int:
    """The reads among ``statements`` (the test's savepoints come and go around each request)."""
    return sum(1 for statement in statements if statement.lstrip().upper().startswith("SELECT"))


def test_the_list_reads_a_bounded_number_of_queries(client: Client, town: Town) -> None:
    login_manager(client)
    plenty_of_stock()
    fill_cart(town, (town.bread, 1), (town.novel, 1))
    place(town, paid=False)
    with counting_queries() as few:
        client.get(CONSOLE)
    for _ in range(6):
        place(town, (town.bread, 1), (town.novel, 1), paid=False)
    with counting_queries() as many:
        client.get(CONSOLE)
    assert selects(many) == selects(few)


def test_the_order_page_reads_as_many_queries_for_one_part_as_for_two(
    client: Client, town: Town, accepted: Order
) -> None:
    login_manager(client)
    both = place(town, (town.bread, 1), (town.novel, 1))
    for part in both.vendor_orders:
        orders.cancel_by_shopper(part)  # a refund on each part, and its e-mail
    db.session.commit()
    with counting_queries() as one:
        assert client.get(f"{CONSOLE}/{accepted.number}").status_code == 200
    with counting_queries() as two:
        assert client.get(f"{CONSOLE}/{both.number}").status_code == 200
    assert selects(two) == selects(one)


# -- the whole order ------------------------------------------------------------------------------


def test_every_email_is_logged_with_what_it_is_about_and_nothing_else(town: Town, accepted: Order) -> None:
    sent = list(db.session.scalars(sa.select(SentEmail).order_by(SentEmail.id)))
    shopper = [row for row in sent if row.recipient == "camille@example.com"]
    assert [(row.template, row.order_id, row.locale) for row in shopper] == [
        ("orders/confirmation", accepted.id, "fr")
    ]
    assert shopper[0].subject == f"Commande {accepted.number} confirmée"
    shop = [row for row in sent if row.template == "orders/new_order"]
    assert "boulanger@example.com" in {row.recipient for row in shop}
    assert {(row.order_id, row.vendor_order_id) for row in shop} == {
        (accepted.id, part_of(accepted, town.baker_id).id)
    }
    assert not {"context", "body", "text"} & set(SentEmail.__table__.columns.keys())


def test_the_order_page_shows_payment_parts_emails_and_audit(
    client: Client, town: Town, accepted: Order
) -> None:
    manager_id = login_manager(client)
    bakery = part_of(accepted, town.baker_id)
    manager = db.session.get(User, manager_id)
    assert manager is not None
    orders.refund_goodwill(
        manager,
        bakery,
        token="a" * 32,
        note="Pain un peu cuit",
        amount_cents=150,
    )
    db.session.commit()
    shown = page_text(client.get(f"{CONSOLE}/{accepted.number}"))
    assert accepted.payment_intent_id
    assert accepted.payment_intent_id in shown
    assert re.findall(r'data-testid="payment-status">([^<]*)<', shown) == ["encaissé"]
    assert "Pain au levain" in shown
    assert "acceptée, en préparation" in shown
    emails = shown.split('data-testid="emails"')[1].split("</ul>")[0]
    assert "Confirmation de commande" in emails
    assert f"Commande {accepted.number} confirmée" in emails
    assert "Remboursement de 1,50 €" in emails
    assert "Nouvelle commande (à la boutique)" in emails
    trail = shown.split('data-testid="audit"')[1].split("</ol>")[0]
    assert "Geste commercial" in trail
    assert "gestion@example.com" in trail
    assert "Pain un peu cuit" in trail


# -- resending an e-mail --------------------------------------------------------------------------


def resend_token(client: Client, page: str) -> str:
    found_token = re.search(
        r'name="token" type="hidden" value="([0-9a-f]+)"', client.get(page).get_data(as_text=True)
    )
    assert found_token, "no resend form"
    return found_token.group(1)


def test_the_manager_resends_the_confirmation_once_per_click(
    client: Client, town: Town, accepted: Order, mailbox: Mailbox
) -> None:
    manager_id = login_manager(client)
    first = db.session.scalars(
        sa.select(SentEmail).where(
            SentEmail.template == "orders/confirmation", SentEmail.order_id == accepted.id
        )
    ).one()
    before = len(mailbox.to("camille@example.com"))
    page = f"{CONSOLE}/{accepted.number}"
    token = resend_token(client, page)
    url = f"{page}/emails/{first.id}/renvoyer"
    answer = client.submit(url, {"token": token}, form_url=page)
    assert answer.status_code == 302
    assert client.submit(url, {"token": token}, form_url=page).status_code == 302  # the double click
    received = mailbox.to("camille@example.com")
    assert len(received) == before + 1
    assert received[-1].subject == f"Commande {accepted.number} confirmée"
    assert accepted.number in received[-1].text
    db.session.expire_all()
    again = db.session.scalars(
        sa.select(SentEmail).where(SentEmail.template == "orders/confirmation", SentEmail.id != first.id)
    ).one()
    assert (again.recipient, again.order_id, again.key is not None) == (
        "camille@example.com",
        accepted.id,
        True,
    )
    [event] = events("order.email_resent")
    assert (event.actor_id, event.subject_type, event.subject_id) == (manager_id, "order", accepted.id)
    assert "E-mail renvoyé à camille@example.com." in page_text(client.get(page))
    # A new form sends again.
    client.submit(url, {"token": resend_token(client, page)}, form_url=page)
    assert len(mailbox.to("camille@example.com")) == before + 2


def test_resending_refuses_odd_requests(client: Client, town: Town, accepted: Order) -> None:
    login_manager(client)
    page = f"{CONSOLE}/{accepted.number}"
    token = resend_token(client, page)
    shop_mail = db.session.scalars(
        sa.select(SentEmail).where(SentEmail.template == "orders/new_order")
    ).first()
    assert shop_mail is not None
    other = place(town, (town.novel, 1))
    other_mail = db.session.scalars(sa.select(SentEmail).where(SentEmail.order_id == other.id)).first()
    assert other_mail is not None
    count = db.session.scalar(sa.select(sa.func.count()).select_from(SentEmail))
    for email_id, data, message in [
        (shop_mail.id, {"token": token}, "Cet e-mail ne peut pas être renvoyé."),
        (other_mail.id, {"token": token}, "Cet e-mail est introuvable."),
        (2**62, {"token": token}, "Cet e-mail est introuvable."),
        (shop_mail.id, {"token": "../x"}, "Ce formulaire a expiré : rechargez la page."),
    ]:
        answer = client.submit(f"{page}/emails/{email_id}/renvoyer", data, form_url=page)
        assert answer.status_code == 302
        assert message in page_text(client.get(page))
    assert client.post(f"{page}/emails/{shop_mail.id}/renvoyer", data={"token": token}).status_code == 400
    assert (
        client.submit(f"{page}/emails/{2**64}/renvoyer", {"token": token}, form_url=page).status_code == 404
    )
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SentEmail)) == count


# -- cancelling on the shop's behalf --------------------------------------------------------------


def test_the_manager_cancels_a_part_for_the_shop_which_restocks_and_refunds_once(
    client: Client, town: Town, accepted: Order, mailbox: Mailbox
) -> None:
    manager_id = login_manager(client)
    bakery = part_of(accepted, town.baker_id)
    bread_before, cake_before = stock(town.bread), stock(town.cake)
    page = f"{CONSOLE}/{accepted.number}"
    url = f"{page}/parties/{bakery.id}/annuler"
    missing = client.submit(url, {f"cancel-{bakery.id}-reason": " "}, form_url=page)
    assert missing.status_code == 400
    assert field_errors(page_text(missing), f"cancel-{bakery.id}-reason") == [
        "Dites au client pourquoi la commande est annulée."
    ]
    data = {f"cancel-{bakery.id}-reason": "Le four de la boulangerie est en panne"}
    assert client.submit(url, data, form_url=page).status_code == 302
    assert client.submit(url, data, form_url=page).status_code == 302  # the double click
    bakery = part_of(fresh(accepted), town.baker_id)
    bakery_id = bakery.id
    assert ledger_refunds(bakery_id) == 1
    assert bakery.status == VendorOrderStatus.CANCELLED
    assert [(r.reason, r.amount_cents) for r in bakery.refunds] == [
        (RefundReason.CANCELLED, bakery.total_cents)
    ]
    assert (stock(town.bread), stock(town.cake)) == (bread_before + 2, cake_before + 1)
    assert "Le four de la boulangerie est en panne" in mailbox.last_to("camille@example.com").text
    assert "au nom de la boutique" in mailbox.last_to("boulanger@example.com").text
    [event] = events("order.cancelled_for_shop")
    assert (event.actor_id, event.subject_id, event.reason) == (
        manager_id,
        bakery_id,
        "Le four de la boulangerie est en panne",
    )
    shown = page_text(client.get(page))
    assert "Annulée au nom de la boutique" in shown
    assert 'data-testid="cancel-form"' not in shown


def test_a_paid_part_not_yet_accepted_is_refused_for_the_shop(client: Client, town: Town) -> None:
    login_manager(client)
    order = place(town, (town.novel, 1))
    books = part_of(order, town.books_id)
    page = f"{CONSOLE}/{order.number}"
    client.submit(
        f"{page}/parties/{books.id}/annuler", {f"cancel-{books.id}-reason": "Livre abîmé"}, form_url=page
    )
    books = part_of(fresh(order), town.books_id)
    assert books.status == VendorOrderStatus.CANCELLED
    assert [(r.reason, r.amount_cents) for r in books.refunds] == [(RefundReason.REFUSED, books.total_cents)]


def test_a_shipped_part_cannot_be_cancelled_for_the_shop(client: Client, town: Town, accepted: Order) -> None:
    login_manager(client)
    bakery = part_of(accepted, town.baker_id)
    orders.ship(bakery, "", "")
    db.session.commit()
    page = f"{CONSOLE}/{accepted.number}"
    assert 'data-testid="cancel-form"' not in page_text(client.get(page))
    refused = client.submit(
        f"{page}/parties/{bakery.id}/annuler", {f"cancel-{bakery.id}-reason": "Trop tard"}, form_url=page
    )
    assert refused.status_code == 400
    assert "Impossible : cette commande est « expédiée »." in page_text(refused)
    assert part_of(fresh(accepted), town.baker_id).status == VendorOrderStatus.SHIPPED
    assert events("order.cancelled_for_shop") == []
    other = place(town, (town.novel, 1))
    other_part = part_of(other, town.books_id)
    assert (
        client.submit(
            f"{page}/parties/{other_part.id}/annuler", {f"cancel-{other_part.id}-reason": "x"}, form_url=page
        ).status_code
        == 404
    )


# -- goodwill -------------------------------------------------------------------------------------


def test_a_goodwill_refund_is_audited_once_with_its_reason(
    client: Client, town: Town, accepted: Order
) -> None:
    manager_id = login_manager(client)
    bakery = part_of(accepted, town.baker_id)
    page = f"{CONSOLE}/{accepted.number}"
    found_token = TOKEN.search(client.get(page).get_data(as_text=True))
    assert found_token
    url = f"{page}/parties/{bakery.id}/rembourser"
    data = {
        f"part-{bakery.id}-token": found_token.group(1),
        f"part-{bakery.id}-amount": "2",
        f"part-{bakery.id}-note": "Livraison en retard",
    }
    assert client.submit(url, data, form_url=page).status_code == 302
    assert client.submit(url, data, form_url=page).status_code == 302
    [refund] = db.session.scalars(sa.select(Refund).where(Refund.reason == RefundReason.GOODWILL)).all()
    assert refund.amount_cents == 200
    [event] = events("order.goodwill_refund")
    assert (event.actor_id, event.subject_type, event.subject_id, event.reason) == (
        manager_id,
        "vendor_order",
        bakery.id,
        "Livraison en retard",
    )
    assert event.details["refund_id"] == refund.id
    assert refund.commission_cents > 0  # the shop's commission is given back through the ledger
    assert ledger_refunds(bakery.id) == 1


def test_the_console_is_the_managers_alone(client: Client, town: Town, accepted: Order) -> None:
    login(client, "camille@example.com")
    page = f"{CONSOLE}/{accepted.number}"
    assert client.get(page).status_code == 404
    bakery = part_of(accepted, town.baker_id)
    assert client.post(f"{page}/parties/{bakery.id}/annuler", data={}).status_code in (400, 404)
    assert part_of(fresh(accepted), town.baker_id).status == VendorOrderStatus.ACCEPTED
