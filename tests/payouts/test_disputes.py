"""Disputes end to end, against the Stripe emulator and PostgreSQL: an order of two shops disputed before
or after its transfers, won or lost; the shops' parts held while it is open, their shares taken back when
lost; the ledger balanced and the reconciliation agreeing to the cent; evidence reaching Stripe; the
screens of the manager and of the shops; a replayed event changing nothing."""

from __future__ import annotations

import html
import io
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from PIL import Image

import config
from app.audit.models import AuditEvent
from app.extensions import db
from app.orders import services as orders
from app.orders.models import Order
from payouts import disputes, gateway, ledger, reports, tasks
from payouts.models import (
    Dispute,
    DisputeFile,
    DisputeStatus,
    LedgerTransaction,
    ShopTransfer,
    TransferStatus,
)
from tests.catalog.test_categories import login_manager, logout
from tests.factories import ShopFactory, owner_of
from tests.orders.support import Town, fill_cart, login, make_town, part_of
from tests.orders.test_lifecycle import CONTACT
from tests.payouts.support import after_hold, connect, connected_balance, deliver
from tests.payouts.test_end_to_end import deliver_webhooks
from tests.plugins.application import Client, Mailbox
from tests.plugins.stripe import StripeEmulator

DISPUTE_EVENTS = {
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
}
FEE = 2000


@pytest.fixture
def town(app_ctx: Flask, own_stripe_api: StripeEmulator) -> Town:
    made = make_town()
    fill_cart(made, (made.bread, 2), (made.novel, 1))
    return made


def _pay(town: Town, card: str) -> Order:
    shopper = town.shopper()
    from app.cart import services as cart

    shopper_cart = cart.find_cart(shopper, None)
    assert shopper_cart is not None
    order = orders.place_order(shopper, shopper_cart, CONTACT, uuid.uuid4().hex)
    db.session.commit()
    outcome = orders.pay(shopper, order.number, card, "http://127.0.0.1/retour", "first")
    db.session.commit()
    assert outcome.order.status.value == "paid"
    return outcome.order


def _hand(client: Client, stripe_api: StripeEmulator, seen: set[str], last: str) -> None:
    """Wait for the emulator's ``last`` event, then hand the app every dispute event not handed yet."""
    stripe_api.webhooks.wait_for(lambda e: e["type"] == last and e["id"] not in seen)
    deliver_webhooks(client, stripe_api, DISPUTE_EVENTS, seen)
    db.session.expire_all()


def _dispute() -> Dispute:
    return db.session.scalars(sa.select(Dispute)).one()


def _agrees() -> None:
    assert ledger.unbalanced() == []
    report = reports.reconcile()
    assert report.differences == []
    assert report.stripe_balance_cents == ledger.balance(ledger.STRIPE) == gateway.platform_balance()


def _open_before_transfer(client: Client, town: Town, stripe_api: StripeEmulator, seen: set[str]) -> Order:
    """Both shops connected; the order paid with the dispute card, disputed at once; both parts delivered."""
    connect(town.baker_id, stripe_api)
    connect(town.books_id, stripe_api)
    order = _pay(town, "pm_card_createDispute")
    _hand(client, stripe_api, seen, "charge.dispute.funds_withdrawn")
    deliver(order, town.baker_id)
    deliver(order, town.books_id)
    return order


def test_a_dispute_opened_before_the_transfers_holds_both_parts_and_lost_they_bear_their_shares(
    client: Client, town: Town, own_stripe_api: StripeEmulator, mailbox: Mailbox
) -> None:
    seen: set[str] = set()
    order = _open_before_transfer(client, town, own_stripe_api, seen)
    dispute = _dispute()
    assert (dispute.order_id, dispute.amount_cents, dispute.status) == (
        order.id,
        order.total_cents,
        DisputeStatus.NEEDS_RESPONSE,
    )
    assert dispute.reason == "fraudulent"
    assert dispute.evidence_due_by is not None
    bakery, books = part_of(order, town.baker_id), part_of(order, town.books_id)
    shares = {row.shop_id: row.amount_cents for row in dispute.parts}
    assert shares == {town.baker_id: bakery.total_cents, town.books_id: books.total_cents}
    assert ledger.balance(ledger.DISPUTES) == order.total_cents
    assert ledger.balance(ledger.STRIPE_FEES) >= FEE
    _agrees()
    opened = mailbox.last_to(town.books_owner_email)
    assert opened.subject == "Litige bancaire sur une commande"
    assert mailbox.link(opened, "/litiges/") == f"/vendeur/librairie-du-pont/litiges/{dispute.id}"

    # Open: past the hold, nothing is transferred.
    with time_machine.travel(after_hold()):
        assert tasks.transfer_due() == 0

    own_stripe_api.control("POST", f"disputes/{dispute.stripe_dispute_id}/close", {"status": "lost"})
    _hand(client, own_stripe_api, seen, "charge.dispute.closed")
    dispute = _dispute()
    assert dispute.status == DisputeStatus.LOST
    assert dispute.closed_at is not None
    closed = mailbox.last_to(town.baker_owner_email)
    assert closed.subject == "Litige bancaire clos"
    assert "est perdu" in closed.text
    assert [m.subject for m in mailbox.to(town.books_owner_email)].count("Litige bancaire clos") == 1
    assert ledger.balance(ledger.DISPUTES) == 0
    # Lost: each part bore its share and got its commission back: nothing left to send.
    with time_machine.travel(after_hold()):
        tasks.transfer_due()
    for part in (bakery, books):
        transfer = db.session.scalars(
            sa.select(ShopTransfer).where(ShopTransfer.vendor_order_id == part.id)
        ).one()
        assert transfer.status == TransferStatus.NETTED
        assert ledger.balance(ledger.available(part.shop_id)) == 0
    _agrees()


def test_a_dispute_won_before_the_transfers_releases_the_parts_in_full(
    client: Client, town: Town, own_stripe_api: StripeEmulator
) -> None:
    seen: set[str] = set()
    order = _open_before_transfer(client, town, own_stripe_api, seen)
    dispute = _dispute()
    own_stripe_api.control("POST", f"disputes/{dispute.stripe_dispute_id}/close", {"status": "won"})
    _hand(client, own_stripe_api, seen, "charge.dispute.closed")
    assert _dispute().status == DisputeStatus.WON
    assert ledger.balance(ledger.DISPUTES) == 0
    with time_machine.travel(after_hold()):
        assert tasks.transfer_due() == 2
    for part in order.vendor_orders:
        transfer = db.session.scalars(
            sa.select(ShopTransfer).where(ShopTransfer.vendor_order_id == part.id)
        ).one()
        assert transfer.status == TransferStatus.PAID
        assert transfer.amount_cents == part.total_cents - part.commission_cents - part.commission_vat_cents
    _agrees()


def _transferred(client: Client, town: Town, stripe_api: StripeEmulator) -> tuple[Order, dict[int, str]]:
    accounts = {shop_id: connect(shop_id, stripe_api) for shop_id in (town.baker_id, town.books_id)}
    order = _pay(town, "pm_card_visa")
    deliver(order, town.baker_id)
    deliver(order, town.books_id)
    with time_machine.travel(after_hold()):
        assert tasks.transfer_due() == 2
    return order, accounts


def test_a_dispute_lost_after_the_transfers_takes_each_shops_share_back(
    client: Client, town: Town, own_stripe_api: StripeEmulator
) -> None:
    seen: set[str] = set()
    order, accounts = _transferred(client, town, own_stripe_api)
    own_stripe_api.control("POST", f"charges/{order.charge_id}/dispute", {})
    _hand(client, own_stripe_api, seen, "charge.dispute.funds_withdrawn")
    dispute = _dispute()
    # Nothing is taken back while the dispute is open.
    for shop_id in accounts:
        part = part_of(order, shop_id)
        assert (
            connected_balance(accounts[shop_id])
            == part.total_cents - part.commission_cents - part.commission_vat_cents
        )
    _agrees()

    own_stripe_api.control("POST", f"disputes/{dispute.stripe_dispute_id}/close", {"status": "lost"})
    _hand(client, own_stripe_api, seen, "charge.dispute.closed")
    dispute = _dispute()
    for row in dispute.parts:
        assert row.stripe_reversal_id is not None, row.reversal_error
        transfer = db.session.scalars(
            sa.select(ShopTransfer).where(ShopTransfer.vendor_order_id == row.vendor_order_id)
        ).one()
        assert transfer.reversed_cents == transfer.amount_cents == row.reversed_cents
        assert connected_balance(accounts[row.shop_id]) == 0
        assert ledger.balance(ledger.available(row.shop_id)) == 0
    assert ledger.balance(ledger.DISPUTES) == 0
    _agrees()


def test_a_dispute_won_after_the_transfers_leaves_the_shops_alone_and_the_platform_bears_the_fee(
    client: Client, town: Town, own_stripe_api: StripeEmulator
) -> None:
    seen: set[str] = set()
    order, accounts = _transferred(client, town, own_stripe_api)
    fees_before = ledger.balance(ledger.STRIPE_FEES)
    own_stripe_api.control("POST", f"charges/{order.charge_id}/dispute", {})
    _hand(client, own_stripe_api, seen, "charge.dispute.funds_withdrawn")
    dispute = _dispute()
    own_stripe_api.control("POST", f"disputes/{dispute.stripe_dispute_id}/close", {"status": "won"})
    _hand(client, own_stripe_api, seen, "charge.dispute.closed")
    assert _dispute().status == DisputeStatus.WON
    assert ledger.balance(ledger.STRIPE_FEES) - fees_before == FEE, "the fee is not returned (EU)"
    assert ledger.balance(ledger.DISPUTES) == 0
    for shop_id in accounts:
        part = part_of(order, shop_id)
        assert (
            connected_balance(accounts[shop_id])
            == part.total_cents - part.commission_cents - part.commission_vat_cents
        )
    _agrees()


def test_a_replayed_dispute_event_changes_nothing(
    client: Client, town: Town, own_stripe_api: StripeEmulator
) -> None:
    seen: set[str] = set()
    _open_before_transfer(client, town, own_stripe_api, seen)
    own_stripe_api.control("POST", f"disputes/{_dispute().stripe_dispute_id}/close", {"status": "lost"})
    _hand(client, own_stripe_api, seen, "charge.dispute.closed")
    count = db.session.scalar(sa.select(sa.func.count()).select_from(LedgerTransaction))
    stripe_balance = ledger.balance(ledger.STRIPE)
    for delivery in list(own_stripe_api.webhooks.deliveries):
        if delivery.event["type"] in DISPUTE_EVENTS:
            response = client.post(
                "/webhooks/stripe",
                data=delivery.payload,
                headers={"Stripe-Signature": delivery.headers["Stripe-Signature"]},
            )
            assert response.get_json() == {"applied": False, "received": True}
    # Even applied again under a new event id, what Stripe says of the dispute is already written.
    disputes.sync(_dispute().stripe_dispute_id)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerTransaction)) == count
    assert ledger.balance(ledger.STRIPE) == stripe_balance
    _agrees()


def _text(page: str) -> str:
    return html.unescape(page).replace("\u202f", " ").replace("\xa0", " ")


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    return found.group(1) if found else ""


def test_the_shop_gives_evidence_the_manager_submits_it_and_another_shop_cannot_see_it(
    client: Client, town: Town, own_stripe_api: StripeEmulator
) -> None:
    seen: set[str] = set()
    _open_before_transfer(client, town, own_stripe_api, seen)
    dispute = _dispute()
    dispute_id, stripe_id = dispute.id, dispute.stripe_dispute_id
    other = owner_of(
        ShopFactory(name="La Fromagerie", slug="la-fromagerie"),  # type: ignore[arg-type]
        email="fromager@example.com",
    )
    db.session.commit()
    assert other.shop.id not in {row.shop_id for row in dispute.parts}

    login(client, town.books_owner_email)
    listing = _text(client.get("/vendeur/librairie-du-pont/litiges").get_data(as_text=True))
    assert "Paiement frauduleux" in listing
    url = f"/vendeur/librairie-du-pont/litiges/{dispute_id}"
    assert "Réponse attendue" in _text(client.get(url).get_data(as_text=True))
    too_long = client.submit(url, {"tracking_number": "x" * 101, "text": ""}, form_url=url)
    assert too_long.status_code == 200
    assert "100 caractères au plus" in _text(too_long.get_data(as_text=True))
    saved = client.submit(
        url, {"tracking_number": "6A123456", "text": "Livré en boîte aux lettres le 3."}, form_url=url
    )
    assert saved.status_code == 302
    logout(client)

    login(client, "fromager@example.com")
    assert client.get(f"/vendeur/la-fromagerie/litiges/{dispute_id}").status_code == 404
    assert "Paiement frauduleux" not in _text(
        client.get("/vendeur/la-fromagerie/litiges").get_data(as_text=True)
    )
    logout(client)

    login_manager(client)
    listing = _text(client.get("/gestion/litiges").get_data(as_text=True))
    assert "Paiement frauduleux" in listing
    assert "Réponse attendue" in listing
    order_number = db.session.get(Order, _dispute().order_id).number
    assert order_number in listing, "the list names the order by its number"
    detail = f"/gestion/litiges/{dispute_id}"
    assert "6A123456" in _text(client.get(detail).get_data(as_text=True))
    response = client.submit(f"{detail}/envoyer", {}, form_url=detail)
    assert response.status_code == 302
    db.session.expire_all()
    assert _dispute().status == DisputeStatus.UNDER_REVIEW
    on_stripe: Any = gateway.client().v1.disputes.retrieve(stripe_id)
    assert on_stripe.status == "under_review"
    # The bakery gave nothing: its shipment's own tracking number goes with the bookshop's evidence.
    assert on_stripe.evidence.shipping_tracking_number == "6A1, 6A123456"
    assert on_stripe.evidence.customer_email_address == CONTACT.email
    assert "Livré en boîte aux lettres le 3." in on_stripe.evidence.uncategorized_text
    audit = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_type == "dispute")).one()
    assert audit.action == "dispute.evidence_submitted"
    # Submitted: the shop's evidence is closed.
    logout(client)
    login(client, town.books_owner_email)
    late = client.submit(url, {"tracking_number": "1", "text": "x"}, form_url=url)
    assert "ne peuvent plus être modifiées" in _text(late.get_data(as_text=True))


def test_the_manager_accepting_a_dispute_loses_it_and_the_shops_bear_their_shares(
    client: Client, town: Town, own_stripe_api: StripeEmulator
) -> None:
    seen: set[str] = set()
    order = _open_before_transfer(client, town, own_stripe_api, seen)
    dispute_id = _dispute().id
    login_manager(client)
    detail = f"/gestion/litiges/{dispute_id}"
    assert client.submit(f"{detail}/accepter", {}, form_url=detail).status_code == 302
    db.session.expire_all()
    assert _dispute().status == DisputeStatus.LOST
    assert ledger.balance(ledger.DISPUTES) == 0
    for part in order.vendor_orders:
        assert ledger.balance(ledger.pending(part.shop_id)) == 0
    audit = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_type == "dispute")).one()
    assert audit.action == "dispute.accepted"
    # Stripe's events for it come after: already applied, they change nothing.
    count = db.session.scalar(sa.select(sa.func.count()).select_from(LedgerTransaction))
    _hand(client, own_stripe_api, seen, "charge.dispute.closed")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerTransaction)) == count
    _agrees()
    # Closed: nothing more to accept or submit, said as a message rather than an error page.
    again = client.submit(f"{detail}/envoyer", {}, form_url=detail)
    assert again.status_code == 302
    assert "n’attend plus de preuves" in _text(client.get(detail).get_data(as_text=True))


PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _png() -> bytes:
    output = io.BytesIO()
    Image.new("RGB", (320, 240), (200, 120, 40)).save(output, "PNG")
    return output.getvalue()


def test_the_shops_files_reach_stripe_named_in_the_evidence_and_other_types_are_refused(
    client: Client, town: Town, own_stripe_api: StripeEmulator, app: Flask
) -> None:
    seen: set[str] = set()
    _open_before_transfer(client, town, own_stripe_api, seen)
    dispute_id, stripe_id = _dispute().id, _dispute().stripe_dispute_id
    url = f"/vendeur/librairie-du-pont/litiges/{dispute_id}"
    upload = f"{url}/fichiers"

    login(client, town.books_owner_email)
    text = client.submit(
        upload, {"field": "receipt", "file": (io.BytesIO(b"just words"), "facture.pdf")}, form_url=url
    )
    assert text.status_code == 200
    assert "Envoyez une photo (JPEG, PNG ou WebP) ou un document PDF." in _text(text.get_data(as_text=True))
    huge = client.submit(
        upload,
        {"field": "receipt", "file": (io.BytesIO(PDF + b" " * (5 * 1024 * 1024)), "big.pdf")},
        form_url=url,
    )
    assert "Ce fichier dépasse 5 Mo." in _text(huge.get_data(as_text=True))
    huge.request.input_stream.close()  # the test client spools a large body to a file it leaves open
    missing = client.submit(upload, {"field": "receipt"}, form_url=url)
    assert "Choisissez un fichier." in _text(missing.get_data(as_text=True))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DisputeFile)) == 0

    proof = client.submit(
        upload,
        {"field": "shipping_documentation", "file": (io.BytesIO(PDF), "preuve de dépôt.pdf")},
        form_url=url,
    )
    assert proof.status_code == 302
    photo = client.submit(
        upload, {"field": "customer_communication", "file": (io.BytesIO(_png()), "sms.png")}, form_url=url
    )
    assert photo.status_code == 302
    db.session.expire_all()
    files = {row.field: row for row in db.session.scalars(sa.select(DisputeFile))}
    assert set(files) == {"shipping_documentation", "customer_communication"}
    pdf_row, photo_row = files["shipping_documentation"], files["customer_communication"]
    assert (pdf_row.content_type, pdf_row.size_bytes) == ("application/pdf", len(PDF))
    assert photo_row.content_type == "image/webp"
    media = Path(app.config["PRIVATE_MEDIA_DIR"])
    assert (media / pdf_row.path).read_bytes() == PDF
    assert not (Path(app.config["MEDIA_DIR"]) / pdf_row.path).exists()
    for row in (pdf_row, photo_row):
        assert client.get(f"/media/{row.path}").status_code == 404, "no public URL serves evidence"
    assert re.fullmatch(r"disputes/[0-9a-f]{2}/[0-9a-f]{32}\.pdf", pdf_row.path)
    assert "preuve" not in pdf_row.path
    page = _text(client.get(url).get_data(as_text=True))
    assert "preuve_de_depot.pdf" in page
    with client.get(f"{url}/fichiers/{pdf_row.id}") as served:
        assert (served.status_code, served.mimetype, served.data) == (200, "application/pdf", PDF)
    # A new file of the same kind replaces the shop's own; a file taken back is gone, from disk too.
    other_pdf = PDF.replace(b"Catalog", b"Catalog ")
    again = client.submit(
        upload, {"field": "receipt", "file": (io.BytesIO(other_pdf), "facture.pdf")}, form_url=url
    )
    assert again.status_code == 302
    receipt = db.session.scalars(sa.select(DisputeFile).where(DisputeFile.field == "receipt")).one()
    replaced = client.submit(
        upload, {"field": "receipt", "file": (io.BytesIO(PDF), "facture2.pdf")}, form_url=url
    )
    assert replaced.status_code == 302
    assert not (media / receipt.path).exists()
    db.session.expire_all()
    receipt = db.session.scalars(sa.select(DisputeFile).where(DisputeFile.field == "receipt")).one()
    assert receipt.filename == "facture2.pdf"
    for odd in (str(2**63), "-1", "abc"):  # no such file: nothing removed, no error
        assert client.submit(f"{url}/fichiers/retirer", {"file_id": odd}, form_url=url).status_code == 302
    assert (media / receipt.path).exists()
    removed = client.submit(f"{url}/fichiers/retirer", {"file_id": receipt.id}, form_url=url)
    assert removed.status_code == 302
    assert not (media / receipt.path).exists()
    db.session.expire_all()
    assert db.session.get(DisputeFile, receipt.id) is None
    logout(client)

    # The bakery can neither fill the field the bookshop filled nor read the bookshop's file.
    login(client, town.baker_owner_email)
    bakery_url = f"/vendeur/le-fournil/litiges/{dispute_id}"
    taken = client.submit(
        f"{bakery_url}/fichiers",
        {"field": "shipping_documentation", "file": (io.BytesIO(PDF), "bon.pdf")},
        form_url=bakery_url,
    )
    assert taken.status_code == 200
    assert "Une autre boutique a déjà donné ce type de document" in _text(taken.get_data(as_text=True))
    assert client.get(f"{bakery_url}/fichiers/{pdf_row.id}").status_code == 404
    client.submit(f"{bakery_url}/fichiers/retirer", {"file_id": pdf_row.id}, form_url=bakery_url)
    assert "Ce fichier n’existe plus." in _text(client.get(bakery_url).get_data(as_text=True))
    db.session.expire_all()
    assert db.session.get(DisputeFile, pdf_row.id) is not None
    assert (media / pdf_row.path).exists()
    logout(client)

    login_manager(client)
    detail = f"/gestion/litiges/{dispute_id}"
    assert "preuve_de_depot.pdf" in _text(client.get(detail).get_data(as_text=True))
    with client.get(f"{detail}/fichiers/{photo_row.id}") as served:
        assert (served.status_code, served.mimetype) == (200, "image/webp")
    assert client.submit(f"{detail}/envoyer", {}, form_url=detail).status_code == 302
    db.session.expire_all()
    assert _dispute().status == DisputeStatus.UNDER_REVIEW
    sent = {row.field: row.stripe_file_id for row in db.session.scalars(sa.select(DisputeFile))}
    assert all(sent.values())
    on_stripe: Any = gateway.client().v1.disputes.retrieve(stripe_id)
    assert on_stripe.evidence.shipping_documentation == sent["shipping_documentation"]
    assert on_stripe.evidence.customer_communication == sent["customer_communication"]
    assert on_stripe.evidence.receipt is None
    sent_pdf: Any = gateway.client().v1.files.retrieve(str(sent["shipping_documentation"]))
    assert (sent_pdf.purpose, sent_pdf.type, sent_pdf.size) == ("dispute_evidence", "pdf", len(PDF))
    assert sent_pdf.filename == "preuve_de_depot.pdf"
    sent_photo: Any = gateway.client().v1.files.retrieve(str(sent["customer_communication"]))
    assert (sent_photo.type, sent_photo.filename) == ("jpg", "sms.jpg")


# -- DISPUTE_SHOP_LIABILITY = "reverse" -------------------------------------------------------------


def _net(part: Any) -> int:
    return int(part.total_cents - part.commission_cents - part.commission_vat_cents)


def test_the_liability_setting_is_hold_or_reverse(tmp_path: Path) -> None:
    assert config.load(tmp_path, {"DISPUTE_SHOP_LIABILITY": "reverse"})["DISPUTE_SHOP_LIABILITY"] == "reverse"
    assert config.load(tmp_path)["DISPUTE_SHOP_LIABILITY"] == "hold"
    with pytest.raises(config.ConfigError, match="DISPUTE_SHOP_LIABILITY"):
        config.load(tmp_path, {"DISPUTE_SHOP_LIABILITY": "charge"})


def test_reverse_takes_back_a_transferred_part_at_once_holds_the_other_and_lost_charges_it(
    client: Client, town: Town, own_stripe_api: StripeEmulator, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "DISPUTE_SHOP_LIABILITY", "reverse")
    seen: set[str] = set()
    accounts = {shop_id: connect(shop_id, own_stripe_api) for shop_id in (town.baker_id, town.books_id)}
    order = _pay(town, "pm_card_visa")
    deliver(order, town.baker_id)
    with time_machine.travel(after_hold()):
        assert tasks.transfer_due() == 1
    bakery, books = part_of(order, town.baker_id), part_of(order, town.books_id)
    assert connected_balance(accounts[town.baker_id]) == _net(bakery)

    own_stripe_api.control("POST", f"charges/{order.charge_id}/dispute", {})
    _hand(client, own_stripe_api, seen, "charge.dispute.funds_withdrawn")
    dispute = _dispute()
    assert dispute.is_open
    rows = {row.shop_id: row for row in dispute.parts}
    # Transferred: taken back as soon as the funds are withdrawn.
    assert rows[town.baker_id].stripe_reversal_id is not None, rows[town.baker_id].reversal_error
    assert rows[town.baker_id].reversed_cents == _net(bakery)
    assert connected_balance(accounts[town.baker_id]) == 0
    assert ledger.balance(ledger.available(town.baker_id)) == 0
    # Not transferred: held, as with "hold".
    assert rows[town.books_id].stripe_reversal_id is None
    deliver(order, town.books_id)
    with time_machine.travel(after_hold()):
        assert tasks.transfer_due() == 0
    assert ledger.balance(ledger.DISPUTES) == order.total_cents - rows[town.baker_id].amount_cents
    _agrees()

    own_stripe_api.control("POST", f"disputes/{dispute.stripe_dispute_id}/close", {"status": "lost"})
    _hand(client, own_stripe_api, seen, "charge.dispute.closed")
    dispute = _dispute()
    assert dispute.status == DisputeStatus.LOST
    assert ledger.balance(ledger.DISPUTES) == 0
    reversals: Any = gateway.client().v1.transfers.reversals.list(
        str(
            db.session.scalars(
                sa.select(ShopTransfer.stripe_transfer_id).where(ShopTransfer.vendor_order_id == bakery.id)
            ).one()
        )
    )
    assert len(reversals.data) == 1, "lost, the part taken back already is not taken back twice"
    with time_machine.travel(after_hold()):
        tasks.transfer_due()
    books_transfer = db.session.scalars(
        sa.select(ShopTransfer).where(ShopTransfer.vendor_order_id == books.id)
    ).one()
    assert books_transfer.status == TransferStatus.NETTED
    assert ledger.balance(ledger.available(town.books_id)) == 0
    assert connected_balance(accounts[town.books_id]) == 0
    _agrees()


def test_reverse_won_gives_the_shares_back_with_one_new_transfer_each(
    client: Client, town: Town, own_stripe_api: StripeEmulator, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "DISPUTE_SHOP_LIABILITY", "reverse")
    seen: set[str] = set()
    order, accounts = _transferred(client, town, own_stripe_api)
    own_stripe_api.control("POST", f"charges/{order.charge_id}/dispute", {})
    _hand(client, own_stripe_api, seen, "charge.dispute.funds_withdrawn")
    for shop_id, account in accounts.items():
        assert connected_balance(account) == 0
        assert ledger.balance(ledger.available(shop_id)) == 0
    _agrees()

    dispute = _dispute()
    own_stripe_api.control("POST", f"disputes/{dispute.stripe_dispute_id}/close", {"status": "won"})
    _hand(client, own_stripe_api, seen, "charge.dispute.closed")
    dispute = _dispute()
    assert dispute.status == DisputeStatus.WON
    for row in dispute.parts:
        part = part_of(order, row.shop_id)
        assert row.returned_transfer_id is not None
        assert row.reversed_cents == _net(part)
        assert connected_balance(accounts[row.shop_id]) == _net(part)
        assert ledger.balance(ledger.available(row.shop_id)) == 0
        assert ledger.balance(ledger.COMMISSION, vendor_order_id=part.id) == part.commission_cents
    assert ledger.balance(ledger.DISPUTES) == 0
    _agrees()

    # Applied again, nothing is given back twice.
    count = db.session.scalar(sa.select(sa.func.count()).select_from(LedgerTransaction))
    disputes.sync(dispute.stripe_dispute_id)
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LedgerTransaction)) == count
    for shop_id, account in accounts.items():
        assert connected_balance(account) == _net(part_of(order, shop_id))
    _agrees()


def test_reverse_won_before_the_transfers_releases_the_held_parts_as_hold_does(
    client: Client, town: Town, own_stripe_api: StripeEmulator, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "DISPUTE_SHOP_LIABILITY", "reverse")
    seen: set[str] = set()
    order = _open_before_transfer(client, town, own_stripe_api, seen)
    assert all(row.stripe_reversal_id is None for row in _dispute().parts)
    with time_machine.travel(after_hold()):
        assert tasks.transfer_due() == 0
    own_stripe_api.control("POST", f"disputes/{_dispute().stripe_dispute_id}/close", {"status": "won"})
    _hand(client, own_stripe_api, seen, "charge.dispute.closed")
    assert all(row.returned_transfer_id is None for row in _dispute().parts)
    with time_machine.travel(after_hold()):
        assert tasks.transfer_due() == 2
    for part in order.vendor_orders:
        assert ledger.balance(ledger.available(part.shop_id)) == 0
    _agrees()
