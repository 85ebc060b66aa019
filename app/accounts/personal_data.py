"""A person's data under the GDPR: the copy they can download (articles 15 and 20), the erasure of their
account (article 17) and the retention rules the daily jobs apply.

What the marketplace holds about a person is found by walking the schema: every table with a column
pointing at ``users.id`` belongs in the export, so a table added later is exported without anyone
remembering to list it here. The sections below give the common ones a readable shape.

Erasure pseudonymises rather than deletes: orders, invoices, the ledger and the audit trail point at the
account's row and must stay whole for accounting and tax law (invoices are kept 10 years, Code de
commerce L123-22 and Livre des procédures fiscales L102 B). What identifies the person is removed from
every table, except the buyer's name and address printed on an issued invoice.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import json
import logging
import secrets
import zipfile
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import orm

from app import jobs, mail
from app.accounts import services
from app.accounts.models import (
    Address,
    ExportStatus,
    LoginSession,
    PersonalDataExport,
    RecoveryCode,
    Role,
    User,
)
from app.database import lock, utcnow
from app.errors import ServiceError
from app.extensions import db
from app.storage import private_media_storage
from app.urls import external_url

log = logging.getLogger(__name__)

ERASED_EMAIL_DOMAIN = "erased.invalid"  # RFC 2606: a domain that can never receive mail
EXPORT_FOLDER = "personal-data"

# The buyer as an invoice names them (app/orders/documents.py): kept on invoiced orders only.
BILLING_COLUMNS = (
    "full_name",
    "street",
    "postcode",
    "city",
    "buyer_company",
    "buyer_siren",
    "buyer_vat_number",
)

# Columns never copied into an export: credentials, however hashed, say nothing the person needs.
SECRET_COLUMN_MARKERS = ("hash", "secret", "token", "password", "key")


class ErasureRefused(ServiceError):
    """The account cannot be erased yet; the message says why and what to do."""


class ExportLinkError(ServiceError):
    """An export link that is not (or no longer) usable; ``status`` is the HTTP answer (404 or 410)."""

    def __init__(self, message: Any, status: int) -> None:
        super().__init__(message)
        self.status = status


# -- the private store ----------------------------------------------------------------------------
# The archives live in the private media store (a folder or a bucket that no URL serves), under
# ``personal-data/<user id>/<random>.zip``; only the download view reads them.


def store_private(key: str, content: bytes) -> None:
    private_media_storage().put(key, content, content_type="application/zip")


def read_private(key: str) -> bytes | None:
    return private_media_storage().read(key) if key else None


def delete_private(key: str) -> None:
    private_media_storage().delete(key)


# -- what the marketplace holds about a person -----------------------------------------------------


def _plain(value: Any) -> Any:
    """A value as JSON carries it: dates in ISO 8601 (UTC), enums by their value."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _record(obj: Any, fields: Iterable[str], **extra: Any) -> dict[str, Any]:
    row = {name: _plain(getattr(obj, name)) for name in fields}
    row.update({name: _plain(value) for name, value in extra.items()})
    return row


def _account(user: User) -> list[dict[str, Any]]:
    fields = ("id", "email", "first_name", "last_name", "locale", "role", "created_at")
    return [
        _record(
            user,
            (*fields, "email_confirmed_at", "last_login_at"),
            two_factor_enabled=user.two_factor_enabled,
        )
    ]


def _orders(user: User) -> dict[str, list[dict[str, Any]]]:
    from app.orders.models import Order

    orders = db.session.scalars(sa.select(Order).where(Order.user_id == user.id).order_by(Order.id))
    sections: dict[str, list[dict[str, Any]]] = {
        "orders": [],
        "order_parts": [],
        "order_lines": [],
        "refunds": [],
        "returns": [],
    }
    order_fields: tuple[str, ...] = (
        "number", "created_at", "status", "paid_at", "currency", "items_cents", "delivery_cents",
        "total_cents", "email", "phone", "full_name", "street", "postcode", "city", "country",
        "terms_version", "locale",
    )  # fmt: skip
    part_fields = (
        "status", "delivery_method", "items_cents", "delivery_fee_cents", "total_cents",
        "refunded_cents", "pickup_slot", "carrier", "tracking_number", "accepted_at", "shipped_at",
        "received_at", "cancelled_at", "completed_at", "invoice_number", "invoiced_at",
    )  # fmt: skip
    line_fields = (
        "title", "variant_label", "sku", "unit_price_cents", "quantity", "vat_bps", "total_cents",
        "returned_quantity",
    )  # fmt: skip
    # The company a buyer gave at checkout, where orders record one.
    given = (name for name in BILLING_COLUMNS if name in Order.__table__.columns)
    order_fields = tuple(dict.fromkeys((*order_fields, *given)))
    for order in orders:
        sections["orders"].append(_record(order, order_fields))
        for part in order.vendor_orders:
            about = {"order_number": order.number, "shop": part.shop.name}
            sections["order_parts"].append(_record(part, part_fields, **about))
            sections["order_lines"].extend(_record(line, line_fields, **about) for line in part.lines)
            sections["refunds"].extend(
                _record(refund, ("created_at", "amount_cents", "reason", "status"), **about)
                for refund in part.refunds
            )
            sections["returns"].extend(
                _record(request, ("created_at", "status", "reason", "received_at"), **about)
                for request in part.returns
            )
    return sections


def _reviews(user: User) -> dict[str, list[dict[str, Any]]]:
    from app.reviews.models import Review, ReviewReport

    reviews = db.session.scalars(sa.select(Review).where(Review.author_id == user.id).order_by(Review.id))
    fields = (
        "kind", "product_title", "rating", "title", "body", "status", "created_at", "published_at",
        "edited_at",
    )  # fmt: skip
    reports = db.session.scalars(
        sa.select(ReviewReport).where(ReviewReport.reporter_id == user.id).order_by(ReviewReport.id)
    )
    return {
        "reviews": [
            _record(
                review,
                fields,
                shop=review.shop.name,
                photos=len(review.photos),
                shop_reply=review.reply.body if review.reply else "",
            )
            for review in reviews
        ],
        "review_reports": [
            _record(report, ("created_at", "reason", "note"), review_title=report.review.title)
            for report in reports
        ],
    }


def _favourites(user: User) -> dict[str, list[dict[str, Any]]]:
    from app.favourites.models import FollowedShop, SavedProduct, WeeklyDigest

    saved = db.session.scalars(
        sa.select(SavedProduct).where(SavedProduct.user_id == user.id).order_by(SavedProduct.id)
    )
    followed = db.session.scalars(
        sa.select(FollowedShop).where(FollowedShop.user_id == user.id).order_by(FollowedShop.id)
    )
    digest = db.session.get(WeeklyDigest, user.id)
    return {
        "saved_products": [
            _record(item, ("created_at", "price_seen_cents"), product=item.product.title) for item in saved
        ],
        "followed_shops": [_record(item, ("created_at",), shop=item.shop.name) for item in followed],
        # Consents and choices: the weekly e-mail (off unless ticked) and the language of messages.
        "preferences": [
            {
                "weekly_email": bool(digest and digest.enabled),
                "weekly_email_changed_at": _plain(digest.updated_at) if digest else None,
                "language": user.locale,
            }
        ],
    }


def _mail_log(user: User) -> list[dict[str, Any]]:
    from app.audit.models import SentEmail

    sent = db.session.scalars(
        sa.select(SentEmail).where(SentEmail.recipient == user.email).order_by(SentEmail.id)
    )
    return [_record(item, ("sent_at", "subject", "template")) for item in sent]


def _cart(user: User) -> list[dict[str, Any]]:
    from app.cart.models import Cart

    cart = db.session.scalar(sa.select(Cart).where(Cart.user_id == user.id))
    if cart is None:
        return []
    return [
        _record(item, ("added_at", "quantity", "price_seen_cents"), product=item.variant.product.title)
        for item in cart.items
    ]


# Tables the sections above cover (or that hold only credentials); every other table with a column
# pointing at the account is exported as it is, by ``_other_tables``.
COVERED_TABLES = frozenset(
    {
        "users", "addresses", "orders", "reviews", "review_reports", "saved_products", "followed_shops",
        "favourite_digests", "carts", "recovery_codes", "login_sessions", "personal_data_exports",
    }
)  # fmt: skip


def _other_tables(user: User) -> dict[str, list[dict[str, Any]]]:
    """Rows of every other table that point at the account (shop memberships, audit events it made,
    stock movements, and whatever tables come later), credentials left out."""
    sections: dict[str, list[dict[str, Any]]] = {}
    for table in db.metadata.sorted_tables:
        if table.name in COVERED_TABLES:
            continue
        links = [column for column in table.columns if _points_at_users(column)]
        if not links:
            continue
        # Credentials are left out, and so are JSON payloads: an audit event's details may name the
        # other people the person acted on (the staff member they invited), who are not theirs to get.
        columns = [
            column
            for column in table.columns
            if not _is_secret(column.name) and not isinstance(column.type, sa.JSON)
        ]
        query = sa.select(*columns).where(sa.or_(*(column == user.id for column in links)))
        rows = db.session.execute(query.order_by(*table.primary_key.columns)).mappings()
        found = [{name: _plain(value) for name, value in row.items()} for row in rows]
        if found:
            sections[table.name] = found
    return sections


def _points_at_users(column: sa.Column[Any]) -> bool:
    return any(key.column.table.name == "users" for key in column.foreign_keys)


def _is_secret(name: str) -> bool:
    return any(marker in name for marker in SECRET_COLUMN_MARKERS)


def collect(user: User) -> dict[str, list[dict[str, Any]]]:
    """Everything the marketplace holds about ``user``, section by section (name -> rows)."""
    sections: dict[str, list[dict[str, Any]]] = {"account": _account(user)}
    sections["addresses"] = [
        _record(address, ("full_name", "street", "postcode", "city", "country", "phone", "last_used_at"))
        for address in db.session.scalars(
            sa.select(Address).where(Address.user_id == user.id).order_by(Address.id)
        )
    ]
    sections.update(_orders(user))
    sections.update(_reviews(user))
    sections.update(_favourites(user))
    sections["cart"] = _cart(user)
    sections["login_sessions"] = [
        {"started_at": _plain(started)}
        for started in db.session.scalars(
            sa.select(LoginSession.created_at).where(LoginSession.user_id == user.id)
        )
    ]
    sections["emails_sent"] = _mail_log(user)
    sections.update(_other_tables(user))
    return sections


README = """Vos données personnelles — {name}
Export du {date} (UTC) pour le compte {email}.

Chaque rubrique est fournie en JSON (tout dans donnees.json) et en CSV (un fichier par rubrique,
séparateur virgule, UTF-8). Les montants sont en centimes, les dates en UTC (ISO 8601).

Your personal data: every section in JSON (all of them in donnees.json) and as one CSV file each.
Amounts are in cents, dates in UTC (ISO 8601).
"""


def archive(user: User, sections: Mapping[str, list[dict[str, Any]]], when: dt.datetime) -> bytes:
    """The ZIP the person downloads: a README, all sections in one JSON file, one CSV per section."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        readme = README.format(
            name=current_app.config["MARKETPLACE_NAME"], date=when.isoformat(), email=user.email
        )
        zipped.writestr("LISEZMOI.txt", readme)
        zipped.writestr("donnees.json", json.dumps(sections, ensure_ascii=False, indent=2, default=str))
        for name, rows in sections.items():
            zipped.writestr(f"csv/{name}.csv", _csv(rows))
    return buffer.getvalue()


def _csv(rows: list[dict[str, Any]]) -> str:
    columns: list[str] = []
    for row in rows:
        columns.extend(name for name in row if name not in columns)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                name: json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
                for name, value in row.items()
            }
        )
    return out.getvalue()


# -- the export: asked for, built by a job, mailed as a link ---------------------------------------


def _export_days() -> int:
    return int(current_app.config["DATA_EXPORT_DAYS"])


def _export_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="accounts.data-export")


def request_export(user: User) -> PersonalDataExport:
    """Ask for a copy of one's data. A request still being built is reused (a double click, or asking
    again before the mail came), so one archive is built at a time."""
    locked = lock(User, user.id)
    if locked is None or locked.erased_at is not None:
        raise services.AccountError(_l("Ce compte n’existe plus."))
    pending = db.session.scalar(
        sa.select(PersonalDataExport).where(
            PersonalDataExport.user_id == user.id, PersonalDataExport.status == ExportStatus.PENDING
        )
    )
    if pending is not None:
        return pending
    export = PersonalDataExport(user_id=user.id, status=ExportStatus.PENDING)
    db.session.add(export)
    db.session.flush()
    from app.accounts import tasks

    jobs.enqueue(tasks.build_data_export, export.id)
    return export


def build_export(export_id: int) -> bool:
    """Build the archive of a pending request, store it and mail its link; False if there was nothing
    to do (already built, or the account was erased meanwhile)."""
    export = lock(PersonalDataExport, export_id)
    if export is None or export.status != ExportStatus.PENDING:
        return False
    user = export.user
    if user.erased_at is not None:
        export.status = ExportStatus.FAILED
        return False
    now = utcnow()
    content = archive(user, collect(user), now)
    key = f"{EXPORT_FOLDER}/{user.id}/{secrets.token_hex(16)}.zip"
    store_private(key, content)
    export.file_key = key
    export.size_bytes = len(content)
    export.status = ExportStatus.READY
    export.ready_at = now
    export.expires_at = now + dt.timedelta(days=_export_days())
    token = _export_serializer().dumps({"x": export.id, "u": user.id})
    mail.send(
        user.email,
        _l("Vos données sont prêtes"),
        "accounts/data_export_ready",
        locale=user.locale,
        user=user,
        link=external_url("accounts.download_data_export", token=token),
        days=_export_days(),
    )
    return True


def export_for_download(user: User, token: str) -> tuple[PersonalDataExport, bytes]:
    """The export a link names and its archive, for the person it belongs to only.

    An expired link answers 410 (gone); a forged link, or another person's, answers 404 exactly as a
    link that never existed would, so it tells nothing about whose it is.
    """
    not_found = ExportLinkError(_l("Ce lien n’est pas valide."), 404)
    gone = ExportLinkError(_l("Ce lien a expiré : demandez un nouvel export depuis « Mes données »."), 410)
    try:
        data = _export_serializer().loads(token, max_age=_export_days() * 24 * 3600)
    except SignatureExpired as exc:
        raise gone from exc
    except BadSignature as exc:
        raise not_found from exc
    if not isinstance(data, dict) or data.get("u") != user.id:
        raise not_found
    export = db.session.get(PersonalDataExport, data.get("x"))
    if export is None or export.user_id != user.id:
        raise not_found
    if export.status != ExportStatus.READY or export.expires_at is None or export.expires_at <= utcnow():
        raise gone
    content = read_private(export.file_key or "")
    if content is None:
        raise gone
    return export, content


def exports_of(user: User) -> list[PersonalDataExport]:
    return list(
        db.session.scalars(
            sa.select(PersonalDataExport)
            .where(PersonalDataExport.user_id == user.id)
            .order_by(PersonalDataExport.id.desc())
            .limit(5)
        )
    )


# -- erasure ---------------------------------------------------------------------------------------


def erasure_blockers(user: User) -> list[str]:
    """Why the account cannot be erased now (empty when it can): orders still under way, a shop it
    alone answers for, or the town's last manager."""
    reasons = [str(reason) for reason in _open_orders(user)]
    reasons.extend(str(reason) for reason in _owned_shops(user))
    if user.role == Role.MANAGER and _other_managers(user) == 0:
        reasons.append(str(_l("Vous êtes le seul manager de commerce : nommez-en un autre avant de partir.")))
    return reasons


def _open_orders(user: User) -> list[Any]:
    from app.orders.models import Order, OrderStatus, VendorOrder, VendorOrderStatus

    closed = (VendorOrderStatus.COMPLETED, VendorOrderStatus.CANCELLED, VendorOrderStatus.REFUNDED)
    rows = db.session.execute(
        sa.select(Order.number, VendorOrder.status)
        .join(VendorOrder, VendorOrder.order_id == Order.id)
        .where(
            Order.user_id == user.id,
            Order.status.not_in((OrderStatus.EXPIRED, OrderStatus.CANCELLED)),
            VendorOrder.status.not_in(closed),
        )
        .order_by(Order.id)
    )
    numbers = list(dict.fromkeys(number for number, _status in rows))
    return [
        _l(
            "La commande %(number)s est encore en cours : vous pourrez supprimer votre compte une fois "
            "qu’elle sera terminée (délai de rétractation passé), annulée ou remboursée.",
            number=number,
        )
        for number in numbers
    ]


def _owned_shops(user: User) -> list[Any]:
    from vendors.models import MemberRole, Shop, ShopMember, ShopStatus

    active = (ShopStatus.SUBMITTED, ShopStatus.APPROVED, ShopStatus.SUSPENDED)
    co_owner = orm.aliased(ShopMember)
    other_owner = (
        sa.select(co_owner.id)
        .where(
            co_owner.shop_id == Shop.id,
            co_owner.role == MemberRole.OWNER,
            co_owner.user_id != user.id,
        )
        .exists()
    )
    names = db.session.scalars(
        sa.select(Shop.name)
        .join(ShopMember, ShopMember.shop_id == Shop.id)
        .where(
            ShopMember.user_id == user.id,
            ShopMember.role == MemberRole.OWNER,
            Shop.status.in_(active),
            ~other_owner,
        )
        .order_by(Shop.name)
    )
    return [
        _l(
            "Vous êtes le seul propriétaire de la boutique %(shop)s : transférez-en la propriété à un "
            "autre membre de l’équipe, ou demandez sa fermeture au manager de commerce. Ses factures et "
            "documents comptables seront conservés.",
            shop=name,
        )
        for name in names
    ]


def _other_managers(user: User) -> int:
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(User)
            .where(User.role == Role.MANAGER, User.is_active.is_(True), User.id != user.id)
        )
        or 0
    )


def request_erasure(user: User, password: str, keep_reviews: bool) -> None:
    """The person closes their account: their password again, then the erasure (refused with the
    reasons while something still needs them)."""
    if not services.check_password(user, password):
        raise services.AccountError(_l("Mot de passe incorrect."), field="password")
    erase(user.id, keep_reviews=keep_reviews, actor=user)


def erase(user_id: int, *, keep_reviews: bool, actor: User | None) -> User:
    """Close the account and pseudonymise its personal data (see the module's docstring); ``actor`` is
    the person themself, or None for the inactivity rule. Refused while ``erasure_blockers`` says so;
    an account already erased is left as it is."""
    user = lock(User, user_id)
    if user is None:
        raise ErasureRefused(_l("Ce compte n’existe plus."))
    if user.erased_at is not None:
        return user
    reasons = erasure_blockers(user)
    if reasons:
        raise ErasureRefused(" ".join(reasons))
    old_email = user.email
    pseudonym = f"erased-{user.id}-{secrets.token_hex(4)}@{ERASED_EMAIL_DOMAIN}"
    _forget_orders(user, pseudonym)
    _forget_reviews(user, keep=keep_reviews)
    _delete_owned_rows(user)
    _rewrite_email_elsewhere(old_email, pseudonym)
    user.email = pseudonym
    user.first_name = ""
    user.last_name = ""
    user.password_hash = f"!erased-{secrets.token_hex(16)}"  # no password can ever match it
    user.is_active = False
    user.email_confirmed_at = None
    user.last_login_at = None
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.inactivity_warned_at = None
    user.erased_at = utcnow()
    services.log_out_everywhere(user)
    from app.audit import services as audit

    audit.record(
        actor,
        "user",
        user.id,
        "account_erased",
        reviews="kept" if keep_reviews else "deleted",
        by="person" if actor is not None else "inactivity",
    )
    db.session.flush()
    return user


def _forget_orders(user: User, pseudonym: str) -> None:
    """The contact details go; the name and address stay on orders a shop has invoiced (the invoice
    names its buyer and is kept 10 years), and go from the others."""
    from app.orders.models import Order, VendorOrder

    invoiced = (
        sa.select(VendorOrder.id)
        .where(VendorOrder.order_id == Order.id, VendorOrder.invoice_number.is_not(None))
        .exists()
    )
    db.session.execute(
        sa.update(Order).where(Order.user_id == user.id).values(email=pseudonym, phone=""),
        execution_options={"synchronize_session": False},
    )
    billing = {name: "" for name in BILLING_COLUMNS if name in Order.__table__.columns}
    db.session.execute(
        sa.update(Order).where(Order.user_id == user.id, ~invoiced).values(**billing),
        execution_options={"synchronize_session": False},
    )


def _forget_reviews(user: User, *, keep: bool) -> None:
    """Kept reviews stay published under "Client vérifié" without their past versions; deleted ones go
    with their photos, and the ratings they counted in are recomputed."""
    from app.images import delete_stored
    from app.reviews import services as reviews
    from app.reviews.models import RatingSubject, Review, ReviewKind, ReviewRevision

    written = list(db.session.scalars(sa.select(Review).where(Review.author_id == user.id)))
    if keep:
        ids = [review.id for review in written]
        if ids:
            db.session.execute(sa.delete(ReviewRevision).where(ReviewRevision.review_id.in_(ids)))
        return
    subjects: set[tuple[RatingSubject, int]] = set()
    for review in written:
        if review.kind == ReviewKind.PRODUCT and review.product_id is not None:
            subjects.add((RatingSubject.PRODUCT, review.product_id))
        if review.kind == ReviewKind.SHOP:
            subjects.add((RatingSubject.SHOP, review.shop_id))
        for photo in review.photos:
            jobs.enqueue(delete_stored, photo.path)
        db.session.delete(review)
    db.session.flush()
    for subject, subject_id in sorted(subjects):
        reviews.refresh_summary(subject, subject_id)


def _delete_owned_rows(user: User) -> None:
    """What exists only for the person: addresses, cart, favourites, sessions, codes, memberships,
    exports (and their files)."""
    from app.cart.models import Cart
    from app.favourites.models import FollowedShop, SavedProduct, WeeklyDigest
    from vendors.models import ShopMember

    for export in db.session.scalars(
        sa.select(PersonalDataExport).where(PersonalDataExport.user_id == user.id)
    ):
        if export.file_key:
            jobs.enqueue(delete_export_file, export.file_key)
    for model in (
        Address, Cart, SavedProduct, FollowedShop, WeeklyDigest, LoginSession, RecoveryCode,
        ShopMember, PersonalDataExport,
    ):  # fmt: skip
        db.session.execute(
            sa.delete(model).where(model.user_id == user.id),
            execution_options={"synchronize_session": False},
        )
    db.session.expire(user, ["recovery_codes"])


def _rewrite_email_elsewhere(old_email: str, pseudonym: str) -> None:
    """The address also sits in the mail log, in staff invitations and in some audit events' details:
    the pseudonym replaces it there, so the rows keep their meaning without naming anyone."""
    from app.audit.models import AuditEvent, SentEmail
    from vendors.models import StaffInvitation

    db.session.execute(
        sa.update(SentEmail).where(SentEmail.recipient == old_email).values(recipient=pseudonym),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(
        sa.update(StaffInvitation).where(StaffInvitation.email == old_email).values(email=pseudonym),
        execution_options={"synchronize_session": False},
    )
    mentioned = db.session.scalars(
        sa.select(AuditEvent).where(sa.cast(AuditEvent.details, sa.Text).contains(old_email))
    )
    for event in mentioned:
        event.details = _replaced(event.details, old_email, pseudonym)


def _replaced(value: Any, old: str, new: str) -> Any:
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {key: _replaced(item, old, new) for key, item in value.items()}
    if isinstance(value, list):
        return [_replaced(item, old, new) for item in value]
    return value


def delete_export_file(key: str) -> None:
    """Job: remove an archive once the change that dropped it is committed."""
    delete_private(key)


# -- retention -------------------------------------------------------------------------------------


def _last_activity() -> sa.ColumnElement[Any]:
    # A login session cannot outlive its cookies (30 days), so the last login bounds the last visit.
    return sa.func.coalesce(User.last_login_at, User.created_at)


def warn_inactive_accounts(now: dt.datetime | None = None, limit: int = 500) -> int:
    """Tell the owners of accounts unused for INACTIVE_ACCOUNT_DAYS that theirs will be erased in
    INACTIVE_ACCOUNT_NOTICE_DAYS unless they log in. Each account is warned once per idle spell."""
    now = now or utcnow()
    config = current_app.config
    idle_since = now - dt.timedelta(days=int(config["INACTIVE_ACCOUNT_DAYS"]))
    notice = dt.timedelta(days=int(config["INACTIVE_ACCOUNT_NOTICE_DAYS"]))
    query = (
        sa.select(User)
        .where(
            User.erased_at.is_(None),
            _last_activity() < idle_since,
            sa.or_(User.inactivity_warned_at.is_(None), User.inactivity_warned_at < _last_activity()),
        )
        .order_by(User.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    warned = 0
    for user in db.session.scalars(query):
        user.inactivity_warned_at = now
        mail.send(
            user.email,
            _l("Votre compte va être supprimé faute d’utilisation"),
            "accounts/inactivity_warning",
            locale=user.locale,
            user=user,
            erase_on=now + notice,
            years=int(config["INACTIVE_ACCOUNT_DAYS"]) // 365,
            login_link=external_url("accounts.login"),
        )
        warned += 1
    return warned


def erase_inactive_accounts(now: dt.datetime | None = None, limit: int = 200) -> int:
    """Erase the accounts warned INACTIVE_ACCOUNT_NOTICE_DAYS ago that have not logged in since. Their
    reviews are kept under "Client vérifié"; an account with an open order or an active shop waits."""
    now = now or utcnow()
    notice = dt.timedelta(days=int(current_app.config["INACTIVE_ACCOUNT_NOTICE_DAYS"]))
    ids = db.session.scalars(
        sa.select(User.id)
        .where(
            User.erased_at.is_(None),
            User.inactivity_warned_at <= now - notice,
            _last_activity() < User.inactivity_warned_at,
        )
        .order_by(User.id)
        .limit(limit)
    ).all()
    erased = 0
    for user_id in ids:
        try:
            with db.session.begin_nested():
                erase(user_id, keep_reviews=True, actor=None)
        except ErasureRefused as refused:
            log.info("inactive account %s kept: %s", user_id, refused.message)
            continue
        erased += 1
    return erased


def purge_guest_carts(now: dt.datetime | None = None) -> int:
    """Guests' carts untouched for GUEST_CART_DAYS (their session cookie is long gone)."""
    from app.cart.models import Cart

    before = (now or utcnow()) - dt.timedelta(days=int(current_app.config["GUEST_CART_DAYS"]))
    result = db.session.execute(
        sa.delete(Cart).where(Cart.user_id.is_(None), Cart.updated_at < before),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def purge_expired_tokens(now: dt.datetime | None = None) -> int:
    """Login sessions older than the cookies that carried them, and staff invitations left unanswered
    a month past their expiry (they hold the invitee's address)."""
    from vendors.models import StaffInvitation

    now = now or utcnow()
    sessions = db.session.execute(
        sa.delete(LoginSession).where(LoginSession.created_at < now - services.session_lifetime()),
        execution_options={"synchronize_session": False},
    )
    invitations = db.session.execute(
        sa.delete(StaffInvitation).where(
            StaffInvitation.accepted_at.is_(None),
            StaffInvitation.expires_at < now - dt.timedelta(days=30),
        ),
        execution_options={"synchronize_session": False},
    )
    return int(sessions.rowcount or 0) + int(invitations.rowcount or 0)  # type: ignore[attr-defined]


def prune_mail_log(now: dt.datetime | None = None) -> int:
    """The log of e-mails sent keeps recipients' addresses: it is kept MAIL_LOG_DAYS."""
    from app.audit.models import SentEmail

    before = (now or utcnow()) - dt.timedelta(days=int(current_app.config["MAIL_LOG_DAYS"]))
    result = db.session.execute(
        sa.delete(SentEmail).where(SentEmail.sent_at < before),
        execution_options={"synchronize_session": False},
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def delete_expired_exports(now: dt.datetime | None = None) -> int:
    """Archives whose link has expired: the file goes, the row stays as a record of the request."""
    now = now or utcnow()
    expired = db.session.scalars(
        sa.select(PersonalDataExport)
        .where(
            PersonalDataExport.status.in_((ExportStatus.READY, ExportStatus.FAILED)),
            PersonalDataExport.expires_at < now,
        )
        .with_for_update(skip_locked=True)
    ).all()
    for export in expired:
        if export.file_key:
            delete_private(export.file_key)
        export.file_key = None
        export.status = ExportStatus.DELETED
    return len(expired)
