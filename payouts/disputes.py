"""Disputes (chargebacks): an order's charge disputed by the cardholder's bank, followed from Stripe.

Every ``charge.dispute.*`` event re-reads the Dispute from Stripe (``sync``), and what Stripe's object
says is applied once, whatever the order the events come in:

- the money: each balance transaction of the dispute is written to the ledger under its own key and the
  dispute's id: a withdrawal moves the amount from the Stripe balance to ``platform:disputes`` (a
  receivable, until the outcome is known) and its fee to Stripe's fees (an expense: the platform bears
  it); a reinstatement (won) moves it back, with the fee when Stripe gives it back;
- the shops: the amount is shared over the order's shop parts in proportion to what each still holds
  (``DisputePart``); while the dispute is open their parts are not transferred (``services.due_parts``
  leaves them out); lost, each part bears its share, its commission given back in proportion as for a
  refund, and what was already transferred is taken back with a transfer reversal (what Stripe cannot
  take back stays owing, netted later). That is ``DISPUTE_SHOP_LIABILITY = "hold"``. With ``"reverse"``,
  a part already transferred bears its share as soon as the funds are withdrawn (reversed at once, as
  for a loss); won, its share is given back in the ledger and what was reversed sent again with a new
  transfer (``DisputePart.returned_transfer_id``). Parts not transferred yet are held as with "hold".
- the people: the shops are written to when a dispute opens and when it closes.

Each shop gives its evidence from its back office: a tracking number, a text, and files (photos, checked
and re-encoded by ``app.images``, and PDF documents), each under one of Stripe's file evidence fields;
Stripe takes one file per field, so each field holds one file per dispute. The manager submits it all
to Stripe in one go: the files first, uploaded as Stripe Files (photos as JPEG: Stripe takes no WebP),
then the evidence naming them.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import secrets
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import IO, Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from werkzeug.utils import secure_filename

from app import images, mail, money
from app.accounts.models import User
from app.audit import services as audit
from app.database import locked, utcnow
from app.errors import ServiceError
from app.extensions import db
from app.orders.models import Order, VendorOrder, VendorOrderStatus
from app.storage import MediaStorage, private_media_storage, valid_key
from app.urls import external_url
from payouts import gateway, ledger, services
from payouts.commission import given_back
from payouts.ledger import Line
from payouts.models import (
    Dispute,
    DisputeFile,
    DisputePart,
    DisputeStatus,
    LedgerTransaction,
    ShopTransfer,
    TransactionKind,
    TransferStatus,
)
from vendors import services as vendor_services
from vendors.models import Shop

log = logging.getLogger(__name__)

DISPUTES = ledger.DISPUTES

REASONS = {
    "bank_cannot_process": _l("La banque ne peut pas traiter le paiement"),
    "check_returned": _l("Chèque retourné"),
    "credit_not_processed": _l("Remboursement non reçu"),
    "customer_initiated": _l("Contesté par le client"),
    "debit_not_authorized": _l("Prélèvement non autorisé"),
    "duplicate": _l("Paiement en double"),
    "fraudulent": _l("Paiement frauduleux"),
    "general": _l("Motif général"),
    "incorrect_account_details": _l("Coordonnées bancaires erronées"),
    "insufficient_funds": _l("Provision insuffisante"),
    "product_not_received": _l("Produit non reçu"),
    "product_unacceptable": _l("Produit non conforme"),
    "subscription_canceled": _l("Abonnement résilié"),
    "unrecognized": _l("Paiement non reconnu"),
}
STATUS_LABELS = {
    DisputeStatus.WARNING_NEEDS_RESPONSE: _l("Alerte : réponse attendue"),
    DisputeStatus.WARNING_UNDER_REVIEW: _l("Alerte : en cours d’examen"),
    DisputeStatus.WARNING_CLOSED: _l("Alerte close"),
    DisputeStatus.NEEDS_RESPONSE: _l("Réponse attendue"),
    DisputeStatus.UNDER_REVIEW: _l("En cours d’examen par la banque"),
    DisputeStatus.WON: _l("Gagné"),
    DisputeStatus.LOST: _l("Perdu"),
}
MAX_EVIDENCE_TEXT = 20_000  # per shop: Stripe takes 150 000 characters for the whole dispute
# Stripe's evidence fields taking a File that a shop can fill, one file each per dispute.
FILE_FIELDS = {
    "shipping_documentation": _l("Preuve de livraison ou de remise"),
    "customer_communication": _l("Échanges avec le client"),
    "receipt": _l("Reçu ou facture"),
    "uncategorized_file": _l("Autre document"),
}
MAX_FILE_BYTES = 5 * 1024 * 1024  # Stripe's limit on a dispute evidence file
PDF_MAGIC = b"%PDF-"
PDF = "application/pdf"
PHOTO = "image/webp"
FILE_FOLDER = "disputes"


def reason_label(reason: str) -> Any:
    return REASONS.get(reason, reason)


def status_label(status: DisputeStatus) -> Any:
    return STATUS_LABELS[status]


def liability() -> str:
    """How shops answer for an open dispute: ``hold`` (their parts wait, taken back only when lost) or
    ``reverse`` (what was transferred is taken back when the funds are withdrawn, given back if won)."""
    policy = str(current_app.config.get("DISPUTE_SHOP_LIABILITY", "hold"))
    if policy not in ("hold", "reverse"):
        raise ValueError(f"DISPUTE_SHOP_LIABILITY must be 'hold' or 'reverse', not {policy!r}")
    return policy


# -- following Stripe -----------------------------------------------------------------------------


def retrieve(stripe_dispute_id: str) -> dict[str, Any]:
    """The Dispute as Stripe has it now."""
    return dict(gateway.client().v1.disputes.retrieve(stripe_dispute_id).to_dict())


def sync(stripe_dispute_id: str) -> Dispute:
    """Bring the dispute up to what Stripe says of it now, and apply its money and outcome once.

    Never commits. The dispute's row lock keeps two events of one dispute, delivered at once, from
    applying its outcome twice; the ledger's keys keep a replay from writing anything again.
    """
    found = retrieve(stripe_dispute_id)
    dispute = _row(found)
    dispute.status = DisputeStatus(found["status"])
    dispute.reason = str(found.get("reason") or "")[:40]
    due_by = (found.get("evidence_details") or {}).get("due_by")
    dispute.evidence_due_by = dt.datetime.fromtimestamp(int(due_by), tz=dt.UTC) if due_by else None
    transactions = found.get("balance_transactions") or []
    for transaction in transactions:
        _record_money(dispute, transaction)
    if dispute.status == DisputeStatus.LOST:
        _charge_shops(dispute)
    elif dispute.is_open and liability() == "reverse" and any(int(t["amount"]) < 0 for t in transactions):
        _charge_shops(dispute, transferred_only=True)
    elif dispute.status == DisputeStatus.WON:
        _give_back(dispute)
    if not dispute.is_open and dispute.closed_at is None:
        dispute.closed_at = utcnow()
    _notify(dispute)
    return dispute


def _row(found: dict[str, Any]) -> Dispute:
    """The dispute's row, locked; made (with its parts) the first time Stripe tells of it."""
    query = locked(sa.select(Dispute).where(Dispute.stripe_dispute_id == found["id"]))
    dispute = db.session.scalar(query)
    if dispute is not None:
        return dispute
    charge = found["charge"]["id"] if isinstance(found["charge"], dict) else str(found["charge"])
    intent = found.get("payment_intent")
    intent = intent["id"] if isinstance(intent, dict) else intent
    order = db.session.scalar(
        sa.select(Order).where(
            sa.or_(Order.charge_id == charge, Order.payment_intent_id == (intent or "-")),
        )
    )
    try:
        with db.session.begin_nested():
            dispute = Dispute(
                stripe_dispute_id=found["id"],
                order_id=order.id if order else None,
                charge_id=charge,
                amount_cents=int(found["amount"]),
                currency=str(found.get("currency") or "eur"),
                reason=str(found.get("reason") or "")[:40],
                status=DisputeStatus(found["status"]),
            )
            db.session.add(dispute)
            db.session.flush()
            if order is not None:
                _share(dispute, order)
    except IntegrityError:
        pass  # the same dispute made by a delivery running at once: use that one, under its lock
    return db.session.scalars(query).one()


def _share(dispute: Dispute, order: Order) -> None:
    """The dispute's amount shared over the order's parts, in proportion to what each still holds."""
    parts = sorted(order.vendor_orders, key=lambda part: part.id)
    weights = [max(0, part.total_cents - _refunded(part)) for part in parts]
    if not any(weights):
        weights = [part.total_cents for part in parts]
    for part, share in zip(parts, money.allocate(dispute.amount_cents, weights), strict=True):
        db.session.add(
            DisputePart(dispute=dispute, vendor_order_id=part.id, shop_id=part.shop_id, amount_cents=share)
        )


def _refunded(part: VendorOrder) -> int:
    return part.refunded_cents


def _record_money(dispute: Dispute, transaction: dict[str, Any]) -> None:
    """One balance transaction of the dispute, written once: money withdrawn or reinstated, and its fee."""
    amount, fee = int(transaction["amount"]), int(transaction.get("fee") or 0)
    withdrawn = amount < 0
    kind = TransactionKind.REFUND if withdrawn else TransactionKind.SALE
    ledger.post(
        f"dispute-{transaction['id']}",
        kind,
        [Line(ledger.STRIPE, amount), Line(DISPUTES, -amount)],
        stripe_id=dispute.stripe_dispute_id,
        memo=f"dispute {dispute.stripe_dispute_id}",
    )
    ledger.record_stripe_fee(
        f"dispute-{transaction['id']}-fee", kind, fee, stripe_id=dispute.stripe_dispute_id
    )


def _charge_shops(dispute: Dispute, *, transferred_only: bool = False) -> None:
    """Lost: each part bears its share (its commission given back in proportion, as for a refund), and
    what was already transferred is taken back from the shop. ``transferred_only``: the parts already
    transferred only (the ``reverse`` policy, while the dispute is open). A part charged once is not
    charged again (the ledger's keys)."""
    for part_row in dispute.parts:
        part = db.session.get(VendorOrder, part_row.vendor_order_id)
        assert part is not None
        key = _part_key(dispute, part_row)
        transfer = db.session.scalar(sa.select(ShopTransfer).where(ShopTransfer.vendor_order_id == part.id))
        if transferred_only and (transfer is None or transfer.status != TransferStatus.PAID):
            continue
        account = ledger.available(part.shop_id) if transfer else ledger.pending(part.shop_id)
        share = part_row.amount_cents
        if (
            ledger.post(
                key,
                TransactionKind.REFUND,
                [Line(account, share), Line(DISPUTES, -share)],
                shop_id=part.shop_id,
                vendor_order_id=part.id,
                stripe_id=None,
                memo=f"{part.order.number} dispute {dispute.stripe_dispute_id}",
            )
            is None
        ):
            continue
        commission, vat = _commission_back(part, share)
        ledger.post(
            f"{key}-commission",
            TransactionKind.COMMISSION_REFUND,
            [
                Line(ledger.COMMISSION, commission),
                Line(ledger.COMMISSION_VAT, vat),
                Line(account, -(commission + vat)),
            ],
            shop_id=part.shop_id,
            vendor_order_id=part.id,
            memo=part.order.number,
        )
        if (
            transfer is not None
            and transfer.status == TransferStatus.PAID
            and not part_row.stripe_reversal_id
        ):
            owed = share - commission - vat
            _take_back(part_row, transfer, min(owed, transfer.amount_cents - transfer.reversed_cents), key)


def _part_key(dispute: Dispute, part_row: DisputePart) -> str:
    return f"dispute-{dispute.id}-part-{part_row.vendor_order_id}"


def _give_back(dispute: Dispute) -> None:
    """Won, after parts were charged while it was open (``reverse``): each such part's share and
    commission are given back as written, and what was reversed is sent to the shop again, once."""
    for part_row in dispute.parts:
        key = _part_key(dispute, part_row)
        charged = db.session.scalar(sa.select(LedgerTransaction).where(LedgerTransaction.key == key))
        if charged is None:
            continue  # held while open: released by the transfers as usual
        commission = db.session.scalar(
            sa.select(LedgerTransaction).where(LedgerTransaction.key == f"{key}-commission")
        )
        # The share back to the shop, and the commission it had been given back charged again.
        for suffix, kind, written in (
            ("returned", TransactionKind.SALE, charged),
            ("commission-returned", TransactionKind.COMMISSION, commission),
        ):
            if written is None:
                continue
            ledger.post(
                f"{key}-{suffix}",
                kind,
                [Line(entry.account.code, -entry.amount_cents) for entry in written.entries],
                shop_id=part_row.shop_id,
                vendor_order_id=part_row.vendor_order_id,
                memo=f"dispute {dispute.stripe_dispute_id} won",
            )
        if part_row.reversed_cents > 0 and not part_row.returned_transfer_id:
            _send_back(dispute, part_row, key)


def _send_back(dispute: Dispute, part_row: DisputePart, key: str) -> None:
    """A new transfer of what was reversed from the shop, drawn on the order's charge as its first
    transfer was (the reversal gave the charge that amount back)."""
    part = db.session.get(VendorOrder, part_row.vendor_order_id)
    shop = db.session.get(Shop, part_row.shop_id)
    assert part is not None
    assert shop is not None
    try:
        result = gateway.create_transfer(
            amount_cents=part_row.reversed_cents,
            currency=part.order.currency,
            destination=shop.stripe_account_id or "",
            source_transaction=part.order.charge_id,
            transfer_group=part.order.number,
            key=f"{key}-returned-transfer",
            metadata={"vendor_order_id": str(part.id), "dispute": dispute.stripe_dispute_id},
        )
    except gateway.StripeError as error:
        # Sent again by the next event of the dispute (same key); the ledger shows it still owed.
        log.warning("dispute won: transfer back for vendor order %d failed: %s", part.id, error)
        return
    part_row.returned_transfer_id = result.id
    services.record_transfer(part, f"{key}-returned-transfer", result.id, result.amount)


def _commission_back(part: VendorOrder, share: int) -> tuple[int, int]:
    """The commission (and its VAT) on ``share`` of the part, given back in proportion to what it held."""
    if not current_app.config.get("COMMISSION_REFUNDED", True) or not part.commission_cents:
        return 0, 0
    given, given_vat = given_back(part)  # dashboard refunds included, failed ones not
    left = part.commission_cents - given
    left_vat = part.commission_vat_cents - given_vat
    held = max(1, part.total_cents - _refunded(part))
    if share >= held:
        return max(0, left), max(0, left_vat)
    commission = min(left, money.round_cents(Decimal(left * share) / held))
    vat = min(left_vat, money.round_cents(Decimal(left_vat * share) / held))
    return max(0, commission), max(0, vat)


def _take_back(part_row: DisputePart, transfer: ShopTransfer, amount: int, key: str) -> None:
    if amount <= 0 or transfer.stripe_transfer_id is None:
        return
    try:
        result = gateway.reverse_transfer(
            transfer.stripe_transfer_id,
            amount_cents=amount,
            key=f"{key}-reversal",
            metadata={"dispute": part_row.dispute.stripe_dispute_id},
        )
    except gateway.StripeError as error:
        # The shop's Stripe balance could not cover it: it stays owing, netted by its next transfers.
        part_row.reversal_error = str(getattr(error, "user_message", None) or error)[:300]
        log.warning("dispute reversal for vendor order %d failed: %s", transfer.vendor_order_id, error)
        return
    part_row.stripe_reversal_id = result.id
    part_row.reversed_cents = result.amount
    part_row.reversal_error = ""
    transfer.reversed_cents += result.amount
    ledger.post(
        f"{key}-reversal",
        TransactionKind.TRANSFER_REVERSAL,
        [Line(ledger.STRIPE, result.amount), Line(ledger.available(transfer.shop_id), -result.amount)],
        shop_id=transfer.shop_id,
        vendor_order_id=transfer.vendor_order_id,
        stripe_id=result.id,
    )


# -- the shops are told ---------------------------------------------------------------------------


def _notify(dispute: Dispute) -> None:
    if dispute.opening_notified_at is None:
        dispute.opening_notified_at = utcnow()
        _write(dispute, "payouts/dispute_opened", _l("Litige bancaire sur une commande"))
    if not dispute.is_open and dispute.closing_notified_at is None:
        dispute.closing_notified_at = utcnow()
        _write(dispute, "payouts/dispute_closed", _l("Litige bancaire clos"))


def _write(dispute: Dispute, template: str, subject: Any) -> None:
    for part_row in dispute.parts:
        shop = db.session.get(Shop, part_row.shop_id)
        assert shop is not None
        people = [(shop.email, "fr")] if shop.email else []
        people += [
            (owner.email, owner.locale)
            for owner in vendor_services.owners(shop)
            if owner.email and owner.email != shop.email
        ]
        url = external_url("payouts_backoffice.dispute", slug=shop.slug, dispute_id=dispute.id)
        for address, locale in people:
            mail.send(
                address,
                subject,
                template,
                locale=locale,
                dispute=dispute,
                part=part_row,
                shop=shop,
                reason=reason_label(dispute.reason),
                url=url,
            )


# -- reading --------------------------------------------------------------------------------------


def all_disputes() -> list[Dispute]:
    """Every dispute, open ones first, then the newest."""
    return list(
        db.session.scalars(
            sa.select(Dispute).order_by(Dispute.closed_at.is_not(None), Dispute.created_at.desc(), Dispute.id)
        )
    )


def order_numbers(found: list[Dispute]) -> dict[int, str]:
    """The order number of each dispute that paid an order, in one query (for the console's list)."""
    ids = {dispute.order_id for dispute in found if dispute.order_id}
    if not ids:
        return {}
    rows = db.session.execute(sa.select(Order.id, Order.number).where(Order.id.in_(ids)))
    return dict(rows.all())


def of_shop(shop: Shop) -> list[DisputePart]:
    """The shop's parts of disputes, open ones first, then the newest."""
    return list(
        db.session.scalars(
            sa.select(DisputePart)
            .join(Dispute, DisputePart.dispute_id == Dispute.id)
            .where(DisputePart.shop_id == shop.id)
            .order_by(Dispute.closed_at.is_not(None), Dispute.created_at.desc(), DisputePart.id)
        )
    )


def part_of_shop(shop: Shop, dispute_id: int) -> DisputePart | None:
    """The shop's part of this dispute; None for a dispute that is not the shop's."""
    return db.session.scalar(
        sa.select(DisputePart).where(DisputePart.dispute_id == dispute_id, DisputePart.shop_id == shop.id)
    )


# -- evidence -------------------------------------------------------------------------------------


def save_evidence(user: User, part_row: DisputePart, *, tracking_number: str, text: str) -> DisputePart:
    """The shop's evidence for its part: kept until the manager submits the dispute's evidence."""
    dispute = db.session.scalars(locked(sa.select(Dispute).where(Dispute.id == part_row.dispute_id))).one()
    if dispute.status not in (DisputeStatus.NEEDS_RESPONSE, DisputeStatus.WARNING_NEEDS_RESPONSE):
        raise ServiceError(_l("Les preuves de ce litige ne peuvent plus être modifiées."))
    tracking_number, text = tracking_number.strip(), text.strip()
    if len(tracking_number) > 100:
        raise ServiceError(_l("100 caractères au plus."), field="tracking_number")
    if len(text) > MAX_EVIDENCE_TEXT:
        raise ServiceError(_l("%(count)d caractères au plus.", count=MAX_EVIDENCE_TEXT), field="text")
    if not tracking_number and not text:
        raise ServiceError(_l("Donnez un numéro de suivi ou un texte."), field="text")
    part_row.tracking_number = tracking_number
    part_row.evidence_text = text
    part_row.evidence_by_id = user.id
    part_row.evidence_at = utcnow()
    return part_row


def file_label(field: str) -> Any:
    return FILE_FIELDS.get(field, field)


def evidence_storage() -> MediaStorage:
    """Where evidence files are kept: the private store, which no public address serves."""
    return private_media_storage()


def _read_limited(stream: IO[bytes]) -> bytes:
    data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ServiceError(_l("Ce fichier dépasse 5 Mo."), field="file")
    return data


def _store_pdf(data: bytes) -> str:
    """A PDF written under a random name; its path relative to the evidence folder."""
    stem = secrets.token_hex(16)
    relative = f"{FILE_FOLDER}/{stem[:2]}/{stem}.pdf"
    evidence_storage().put(relative, data, content_type=PDF)
    return relative


def delete_stored_file(path: str) -> None:
    """Remove a stored evidence file (after the commit that let go of it); a bad path removes nothing."""
    if path.endswith(".webp"):
        images.delete_image(path, storage=evidence_storage())
        return
    parts = PurePosixPath(path)
    if valid_key(path) and parts.suffix == ".pdf" and parts.parent.parent.name == FILE_FOLDER:
        evidence_storage().delete(path)


def _editable(part_row: DisputePart) -> Dispute:
    dispute = db.session.scalars(locked(sa.select(Dispute).where(Dispute.id == part_row.dispute_id))).one()
    if dispute.status not in (DisputeStatus.NEEDS_RESPONSE, DisputeStatus.WARNING_NEEDS_RESPONSE):
        raise ServiceError(_l("Les preuves de ce litige ne peuvent plus être modifiées."))
    return dispute


def add_file(
    user: User, part_row: DisputePart, *, field: str, stream: IO[bytes], filename: str
) -> tuple[DisputeFile, str | None]:
    """A file of the shop's evidence for ``field``: a photo (JPEG, PNG or WebP, checked and re-encoded) or
    a PDF (told by its first bytes), 5 MB at most, stored under a random name. Each field takes one file
    per dispute (Stripe's rule): another shop's file there is refused; the shop's own is replaced, and
    path of the file it replaces is returned with the new one, for the caller to delete once committed."""
    dispute = _editable(part_row)
    if field not in FILE_FIELDS:
        raise ServiceError(_l("Choisissez le type de document."), field="field")
    taken = db.session.scalar(
        sa.select(DisputeFile).where(DisputeFile.dispute_id == dispute.id, DisputeFile.field == field)
    )
    if taken is not None and taken.dispute_part_id != part_row.id:
        raise ServiceError(
            _l("Une autre boutique a déjà donné ce type de document : choisissez-en un autre."), field="field"
        )
    data = _read_limited(stream)
    if data.startswith(PDF_MAGIC):
        path, content_type = _store_pdf(data), PDF
    else:
        try:
            stored = images.store_image(
                io.BytesIO(data),
                folder=FILE_FOLDER,
                max_bytes=MAX_FILE_BYTES,
                main_size=(2000, 2000),
                min_size=(64, 64),
                storage=evidence_storage(),
            )
        except images.ImageRejected as rejected:
            if rejected.reason in ("not_an_image", "unsupported_format"):
                message = _l("Envoyez une photo (JPEG, PNG ou WebP) ou un document PDF.")
            else:
                message = images.rejection_message(rejected)
            raise ServiceError(message, field="file") from rejected
        path, content_type = stored.path, PHOTO
    name = secure_filename(filename)[:200] or ("document.pdf" if content_type == PDF else "photo.webp")
    try:
        with db.session.begin_nested():
            if taken is not None:
                db.session.delete(taken)
                db.session.flush()
            added = DisputeFile(
                dispute_id=dispute.id,
                dispute_part_id=part_row.id,
                field=field,
                path=path,
                filename=name,
                content_type=content_type,
                size_bytes=len(data),
                uploaded_by_id=user.id,
            )
            db.session.add(added)
    except BaseException:
        delete_stored_file(path)
        raise
    return added, taken.path if taken is not None else None


def remove_file(part_row: DisputePart, file_id: int) -> str:
    """The shop takes back one of its files before the evidence is sent; the stored file's path is
    returned, for the caller to delete once committed."""
    _editable(part_row)
    found = db.session.scalar(
        sa.select(DisputeFile).where(DisputeFile.id == file_id, DisputeFile.dispute_part_id == part_row.id)
    )
    if found is None:
        raise ServiceError(_l("Ce fichier n’existe plus."))
    path = found.path
    db.session.delete(found)
    return path


def _stripe_upload(found: DisputeFile) -> str:
    """The file as a Stripe File for dispute evidence, uploaded once (its own idempotency key)."""
    if found.stripe_file_id:
        return found.stripe_file_id
    data = evidence_storage().read(found.path)
    if data is None:
        raise ServiceError(_l("Le fichier « %(name)s » est introuvable.", name=found.filename))
    name = found.filename
    if found.content_type == PHOTO:
        # Kept as WebP (what app.images writes), which Stripe does not take as evidence: sent as JPEG.
        from PIL import Image

        with Image.open(io.BytesIO(data)) as picture:
            output = io.BytesIO()
            picture.convert("RGB").save(output, "JPEG", quality=88)
        data, name = output.getvalue(), f"{Path(name).stem or 'photo'}.jpg"
    upload = io.BytesIO(data)
    upload.name = name
    created = gateway.client().v1.files.create(
        params={"purpose": "dispute_evidence", "file": upload},
        options={"idempotency_key": f"dispute-file-{found.id}"},
    )
    found.stripe_file_id = str(created.id)
    return found.stripe_file_id


def files_of(dispute: Dispute) -> list[DisputeFile]:
    """The dispute's evidence files, in the order of Stripe's fields."""
    order = list(FILE_FIELDS)
    found = db.session.scalars(sa.select(DisputeFile).where(DisputeFile.dispute_id == dispute.id))
    return sorted(found, key=lambda row: (order.index(row.field) if row.field in order else 99, row.id))


def evidence_of(dispute: Dispute) -> dict[str, str]:
    """Stripe's text evidence fields from what the order and the shops say (the files come at submit)."""
    order = db.session.get(Order, dispute.order_id) if dispute.order_id else None
    evidence: dict[str, str] = {}
    texts: list[str] = []
    tracking: list[str] = []
    carriers: list[str] = []
    lines: list[str] = []
    dates: list[str] = []
    for part_row in dispute.parts:
        part = db.session.get(VendorOrder, part_row.vendor_order_id)
        assert part is not None
        shop = db.session.get(Shop, part_row.shop_id)
        name = shop.name if shop else str(part_row.shop_id)
        number = part_row.tracking_number or part.tracking_number
        if number:
            tracking.append(number)
        if part.carrier:
            carriers.append(part.carrier)
        if part.status == VendorOrderStatus.COLLECTED and part.received_at is not None:
            # Handed over only against the code the shopper received: the proof of collection.
            texts.append(
                f"{name}: collected on {part.received_at:%Y-%m-%d %H:%M} UTC against its pickup code"
            )
        if part.shipped_at is not None:
            dates.append(f"{part.shipped_at:%Y-%m-%d}")
        if part_row.evidence_text:
            texts.append(f"{name}: {part_row.evidence_text}")
        lines += [f"{line.quantity} x {line.title} ({name})" for line in part.lines]
    if order is not None:
        evidence["customer_name"] = order.full_name
        evidence["customer_email_address"] = order.email
    if tracking:
        evidence["shipping_tracking_number"] = ", ".join(tracking)
    if carriers:
        evidence["shipping_carrier"] = ", ".join(sorted(set(carriers)))
    if dates:
        evidence["shipping_date"] = min(dates)
    if lines:
        evidence["product_description"] = "\n".join(lines)[:20_000]
    if texts:
        evidence["uncategorized_text"] = "\n\n".join(texts)[:100_000]
    return {name: value for name, value in evidence.items() if value}


def submit(manager: User, dispute_id: int) -> Dispute:
    """The manager sends the shops' evidence to Stripe for the bank to review; recorded in the audit log."""
    dispute = db.session.scalars(locked(sa.select(Dispute).where(Dispute.id == dispute_id))).one()
    if dispute.status not in (DisputeStatus.NEEDS_RESPONSE, DisputeStatus.WARNING_NEEDS_RESPONSE):
        raise ServiceError(_l("Ce litige n’attend plus de preuves."))
    evidence = evidence_of(dispute)
    files = files_of(dispute)
    if not evidence and not files:
        raise ServiceError(_l("Aucune preuve à envoyer : les boutiques n’ont encore rien donné."))
    try:
        for evidence_file in files:
            evidence[evidence_file.field] = _stripe_upload(evidence_file)
        found = gateway.client().v1.disputes.update(
            dispute.stripe_dispute_id,
            params={"evidence": evidence, "submit": True},  # type: ignore[arg-type]
            options={"idempotency_key": f"dispute-{dispute.id}-submit"},
        )
    except gateway.StripeError as error:
        raise ServiceError(
            _l(
                "Stripe a refusé les preuves : %(message)s",
                message=getattr(error, "user_message", None) or error,
            )
        ) from None
    dispute.status = DisputeStatus(found["status"])
    dispute.submitted_at = utcnow()
    dispute.submitted_by_id = manager.id
    audit.record(
        manager,
        "dispute",
        dispute.id,
        "dispute.evidence_submitted",
        stripe_dispute_id=dispute.stripe_dispute_id,
        fields=sorted(evidence),
    )
    return dispute


def accept(manager: User, dispute_id: int) -> Dispute:
    """The manager accepts the dispute on Stripe (it is then lost); the outcome comes with its events."""
    dispute = db.session.scalars(locked(sa.select(Dispute).where(Dispute.id == dispute_id))).one()
    if not dispute.is_open:
        raise ServiceError(_l("Ce litige est déjà clos."))
    try:
        gateway.client().v1.disputes.close(
            dispute.stripe_dispute_id, options={"idempotency_key": f"dispute-{dispute.id}-accept"}
        )
    except gateway.StripeError as error:
        raise ServiceError(
            _l("Stripe a refusé : %(message)s", message=getattr(error, "user_message", None) or error)
        ) from None
    audit.record(
        manager, "dispute", dispute.id, "dispute.accepted", stripe_dispute_id=dispute.stripe_dispute_id
    )
    return sync(dispute.stripe_dispute_id)
