"""The shops' credit notes (factures d'avoir): one for every refund of an invoiced part, in the shop's own
gapless series, with the lines and the VAT given back, readable by the shopper and the shop only."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask, g

from app.extensions import db
from app.invoicing import vat_summary
from app.money import vat_in_gross
from app.orders import credit_notes, documents
from app.orders import services as orders
from app.orders.models import (
    CreditLineKind,
    CreditNote,
    CreditNoteCounter,
    ExternalRefund,
    Order,
    Refund,
    RefundReason,
    RefundStatus,
    VendorOrder,
)
from payouts import commission
from payouts.models import RuleScope
from tests.factories import ShopFactory, UserFactory
from tests.orders.support import Town, fill_cart, login, make_town, part_of
from tests.orders.test_documents import pdf_text, vendor_order
from tests.orders.test_lifecycle import place_and_pay
from tests.plugins.application import Client, at_once, own_database_app
from tests.plugins.services import Services
from tests.plugins.stripe import StripeEmulator

YEAR = dt.datetime.now(ZoneInfo("Europe/Paris")).year


@pytest.fixture
def town(app_ctx: Flask, own_stripe_api: StripeEmulator) -> Town:
    made = make_town()
    manager: Any = UserFactory(manager=True)
    commission.set_rule(manager, RuleScope.PLATFORM, None, 1000)
    db.session.commit()
    return made


@pytest.fixture
def accepted(town: Town) -> Order:
    """At the bakery, two breads (4,50 €) and a tart (18 €) at 5,5 %, delivered locally for 4,90 € at
    20 %, accepted; a novel at the bookshop, not accepted yet."""
    fill_cart(town, (town.bread, 2), (town.cake, 1), (town.novel, 1))
    order = place_and_pay(town)
    orders.accept(part_of(order, town.baker_id))
    db.session.commit()
    return order


def fresh_part(order: Order, shop_id: int) -> VendorOrder:
    db.session.expire_all()
    return part_of(db.session.get(Order, order.id) or order, shop_id)


def notes_of(part: VendorOrder) -> list[CreditNote]:
    return list(
        db.session.scalars(
            sa.select(CreditNote).where(CreditNote.vendor_order_id == part.id).order_by(CreditNote.id)
        )
    )


def assert_adds_up(note: CreditNote) -> None:
    """Lines, VAT per rate and totals tell the same amount, to the cent."""
    figures = credit_notes.credit_note_figures(note)
    assert sum(line.total_cents for line in note.lines) == note.total_cents == figures.gross_cents
    assert all(line.total_cents == line.unit_cents * line.quantity for line in note.lines)
    assert (figures.net_cents, figures.vat_cents) == (note.net_cents, note.vat_cents)
    assert note.net_cents + note.vat_cents == note.total_cents
    assert note.vat_cents == sum(vat_in_gross(line.total_cents, line.vat_bps) for line in note.lines)
    assert note.refund.amount_cents == note.total_cents


def test_a_cancellation_after_acceptance_credits_every_line_and_the_delivery(
    town: Town, accepted: Order
) -> None:
    bakery = part_of(accepted, town.baker_id)
    orders.cancel_by_shop(bakery, "Four en panne.")
    db.session.commit()
    bakery = fresh_part(accepted, town.baker_id)
    [note] = notes_of(bakery)
    assert (note.number, note.shop_id, note.invoice_number, note.invoice_issued_at) == (
        f"AV-{YEAR}-00001",
        town.baker_id,
        bakery.invoice_number,
        bakery.invoiced_at,
    )
    assert [(line.kind, line.title, line.quantity, line.unit_cents, line.vat_bps) for line in note.lines] == [
        (CreditLineKind.GOODS, "Pain au levain", 2, 450, 550),
        (CreditLineKind.GOODS, "Tarte aux pommes", 1, 1800, 550),
        (CreditLineKind.DELIVERY, "", 1, 490, bakery.delivery_vat_bps),
    ]
    assert note.total_cents == bakery.total_cents == 3190
    assert_adds_up(note)
    summary = vat_summary([(900, 550), (1800, 550), (490, bakery.delivery_vat_bps)])
    assert credit_notes.credit_note_figures(note).vat == summary


def test_a_partial_return_credits_only_the_units_sent_back(town: Town) -> None:
    fill_cart(town, (town.novel, 2))
    order = place_and_pay(town)
    books = part_of(order, town.books_id)
    orders.accept(books)
    orders.ship(books, "La Poste", "6A123456789")
    orders.mark_delivered(books)
    db.session.commit()
    novel_line = books.lines[0]
    orders.request_withdrawal(books, {novel_line.id: "1"}, "Offert en double")
    db.session.commit()
    done = orders.receive_return(books)
    db.session.commit()
    assert done is not None
    [note] = notes_of(fresh_part(order, town.books_id))
    assert [(line.kind, line.order_line_id, line.quantity, line.total_cents) for line in note.lines] == [
        (CreditLineKind.GOODS, novel_line.id, 1, 2400)
    ]
    assert (note.total_cents, note.vat_cents) == (2400, vat_in_gross(2400, 550))
    assert note.refund_id == done.id
    assert_adds_up(note)


def test_nothing_is_credited_when_nothing_was_invoiced(town: Town) -> None:
    """Refused before acceptance: the money goes back, but there was no invoice to correct."""
    fill_cart(town, (town.bread, 1))
    order = place_and_pay(town)
    bakery = part_of(order, town.baker_id)
    orders.refuse(bakery, "Plus de levain.")
    db.session.commit()
    bakery = fresh_part(order, town.baker_id)
    assert (bakery.invoice_number, [r.amount_cents for r in bakery.refunds], notes_of(bakery)) == (
        None,
        [bakery.total_cents],
        [],
    )


def test_an_amount_without_lines_is_shared_across_the_invoices_rates(town: Town, accepted: Order) -> None:
    bakery = part_of(accepted, town.baker_id)
    token = orders.new_refund_token()
    done = orders.refund_partial(bakery, token=token, note="Retard de livraison", amount_cents=1000)
    again = orders.refund_partial(bakery, token=token, note="Retard de livraison", amount_cents=1000)
    db.session.commit()
    assert again.id == done.id
    [note] = notes_of(fresh_part(accepted, town.baker_id))  # the double click issued nothing twice
    # 27,00 € of goods at 5,5 % and 4,90 € of delivery at 20 %: 10,00 € shared 846 / 154.
    assert [(line.kind, line.vat_bps, line.total_cents) for line in note.lines] == [
        (CreditLineKind.AMOUNT, 2000, 154),
        (CreditLineKind.AMOUNT, 550, 846),
    ]
    assert_adds_up(note)


def test_lines_then_an_amount_each_get_their_numbered_credit_note(town: Town, accepted: Order) -> None:
    bakery = part_of(accepted, town.baker_id)
    bread = next(line for line in bakery.lines if line.title == "Pain au levain")
    orders.refund_partial(
        bakery, token=orders.new_refund_token(), note="Un pain brûlé", quantities={bread.id: "1"}
    )
    orders.refund_partial(bakery, token=orders.new_refund_token(), note="Retard", amount_cents=250)
    db.session.commit()
    first, second = notes_of(fresh_part(accepted, town.baker_id))
    assert (first.number, second.number) == (f"AV-{YEAR}-00001", f"AV-{YEAR}-00002")
    assert [(line.title, line.quantity, line.total_cents) for line in first.lines] == [
        ("Pain au levain", 1, 450)
    ]
    assert sum(line.total_cents for line in second.lines) == 250
    for note in (first, second):
        assert_adds_up(note)
    # The invoice names the credit notes issued against it.
    assert f"Avoirs émis : AV-{YEAR}-00001, AV-{YEAR}-00002" in pdf_text(
        documents.invoice_pdf(fresh_part(accepted, town.baker_id))
    )


def test_a_retried_refund_is_covered_by_its_first_credit_note(town: Town, accepted: Order) -> None:
    bakery = part_of(accepted, town.baker_id)
    done = orders.refund_partial(bakery, token=orders.new_refund_token(), note="Geste", amount_cents=300)
    db.session.commit()
    orders.refund_failed(done, "card_closed")
    again = orders.retry_refund(UserFactory(manager=True), done)
    db.session.commit()
    notes = notes_of(fresh_part(accepted, town.baker_id))
    assert [(note.refund_id, note.total_cents) for note in notes] == [(done.id, 300)]
    assert again.id != done.id


def test_a_dashboard_refund_shared_by_the_manager_credits_only_the_invoiced_part(
    town: Town, accepted: Order
) -> None:
    bakery, books = part_of(accepted, town.baker_id), part_of(accepted, town.books_id)
    outside = ExternalRefund(order=accepted, stripe_refund_id="re_dashboard_1", amount_cents=800)
    db.session.add(outside)
    db.session.flush()
    orders.allocate_external(UserFactory(manager=True), outside.id, {bakery.id: 500, books.id: 300})
    db.session.commit()
    [note] = notes_of(fresh_part(accepted, town.baker_id))
    assert (note.refund.reason, note.total_cents) == (RefundReason.EXTERNAL, 500)
    assert_adds_up(note)
    books = fresh_part(accepted, town.books_id)
    assert ([r.amount_cents for r in books.refunds], notes_of(books)) == ([300], [])


# -- the PDF and who may read it ------------------------------------------------------------------


def test_the_credit_note_pdf_names_the_invoice_lines_and_vat(town: Town, accepted: Order) -> None:
    bakery = part_of(accepted, town.baker_id)
    orders.cancel_by_shop(bakery, "Four en panne.")
    db.session.commit()
    bakery = fresh_part(accepted, town.baker_id)
    [note] = notes_of(bakery)
    assert bakery.invoiced_at is not None
    text = pdf_text(documents.credit_note_pdf(note))
    for mention in [
        f"Avoir n° {note.number}",
        f"Sur la facture n° {bakery.invoice_number} du ",
        f"Commande n° {accepted.number}",
        "Motif : Commande annulée",
        "Le Fournil",
        "Camille Martin",
        "Pain au levain",
        "2 -4,50 € 5,5 % -9,00 €",
        "Tarte aux pommes",
        "Total de l’avoir TTC -31,90 €",
        "Montant remboursé sur le moyen de paiement de la commande",
    ]:
        assert mention in text, mention


def signed_in(app: Flask, email: str) -> Client:
    """A browser of its own, signed in as ``email``; each request reads the signed-in user and the form
    token of its own session again (the test's app context, and its ``g``, outlive every request)."""
    app.test_client_class = Client
    browser: Any = app.test_client()
    original = browser.open

    def open_(*args: Any, **kwargs: Any) -> Any:
        g.pop("_login_user", None)
        g.pop("csrf_token", None)
        return original(*args, **kwargs)

    browser.open = open_
    login(browser, email)
    return browser  # type: ignore[no-any-return]


def test_the_shopper_and_the_shop_download_it_others_get_a_404(
    app: Flask, town: Town, accepted: Order
) -> None:
    bakery = part_of(accepted, town.baker_id)
    books = part_of(accepted, town.books_id)
    orders.cancel_by_shop(bakery, "Four en panne.")
    db.session.commit()
    [note] = notes_of(fresh_part(accepted, town.baker_id))
    shopper_url = f"/commandes/{accepted.number}/boutique/{bakery.id}/avoirs/{note.id}.pdf"
    shop_url = f"/vendeur/le-fournil/commandes/{bakery.id}/avoirs/{note.id}.pdf"

    shopper = signed_in(app, "camille@example.com")
    assert shopper_url in shopper.get(f"/commandes/{accepted.number}").get_data(as_text=True)
    answer = shopper.get(shopper_url)
    assert (answer.status_code, answer.mimetype) == (200, "application/pdf")
    assert f"Avoir n° {note.number}" in pdf_text(answer.data)
    # The same credit note asked for under the order's other part: not found.
    assert (
        shopper.get(f"/commandes/{accepted.number}/boutique/{books.id}/avoirs/{note.id}.pdf").status_code
        == 404
    )

    baker = signed_in(app, town.baker_owner_email)
    assert shop_url in baker.get(f"/vendeur/le-fournil/commandes/{bakery.id}").get_data(as_text=True)
    answer = baker.get(shop_url)
    assert (answer.status_code, answer.mimetype) == (200, "application/pdf")

    UserFactory(email="autre@example.com")
    db.session.commit()
    assert signed_in(app, "autre@example.com").get(shopper_url).status_code == 404
    bookseller = signed_in(app, town.books_owner_email)
    for part_id in (bakery.id, books.id):
        url = f"/vendeur/librairie-du-pont/commandes/{part_id}/avoirs/{note.id}.pdf"
        assert bookseller.get(url).status_code == 404


# -- numbering under concurrent refunds -----------------------------------------------------------


def test_concurrent_refunds_number_each_shops_credit_notes_without_gaps(
    services: Services, postgres_only: None, tmp_path: Path
) -> None:
    """Refunds of twelve invoiced parts of two shops, all at once, each in its own thread and
    transaction with real commits: each shop's series is 1..6, no gap, no twin; a refund whose
    transaction fails leaves no number behind."""
    with own_database_app(services, tmp_path, "marketplace_credit_notes") as app:
        with app.test_request_context("/"):
            shops = [ShopFactory(), ShopFactory()]
            part_ids = []
            for n in range(14):
                part = vendor_order(shops[n % 2])
                documents.issue_invoice(part)
                part_ids.append(part.id)
            db.session.commit()
            db.session.remove()
        failing = set(part_ids[12:])  # one per shop: their transaction is rolled back
        rolled_back: list[str] = []
        lock = threading.Lock()

        def refund(part_id: int) -> None:
            part = db.session.get(VendorOrder, part_id)
            assert part is not None
            done = Refund(
                vendor_order=part,
                amount_cents=part.total_cents,
                reason=RefundReason.GOODWILL,
                status=RefundStatus.SUCCEEDED,
                key=f"race-{part_id}-{uuid.uuid4().hex}",
            )
            db.session.add(done)
            part.refunded_cents += part.total_cents
            db.session.flush()
            credit_notes.issue_for_refund(done)
            if part_id in failing:
                db.session.rollback()
                with lock:
                    rolled_back.append(str(part_id))
                return
            db.session.commit()

        at_once(app, refund, [(part_id,) for part_id in part_ids])
        with app.app_context():
            issued = db.session.execute(sa.select(CreditNote.shop_id, CreditNote.number)).all()
            counters = db.session.execute(sa.select(CreditNoteCounter.shop_id, CreditNoteCounter.last)).all()
    assert len(rolled_back) == 2
    expected = [f"AV-{YEAR}-{n:05d}" for n in range(1, 7)]
    by_shop = {
        shop_id: sorted(number for owner, number in issued if owner == shop_id) for shop_id, _ in counters
    }
    assert (list(by_shop.values()), sorted(last for _, last in counters)) == ([expected, expected], [6, 6])
