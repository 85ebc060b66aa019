"""Review use cases: who may review what and until when, writing and editing, moderation, reports,
the shop's reply, the ratings summed up, and the "how was it?" e-mail.

Only the buyer reviews, once the goods are in their hands: a product review per order line, a shop
review per shop's part of an order, within 12 months of receipt, editable for 30 days (the previous
versions are kept). The e-mail's link is signed for one shop's part and one buyer: it opens the
review pages without logging in, for that buyer only.

Every function takes the acting person explicitly and never commits.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from app import events, images, jobs, mail
from app.accounts.models import User
from app.audit import services as audit
from app.database import utcnow
from app.errors import ServiceError
from app.extensions import db
from app.orders.models import Order, OrderLine, VendorOrder, VendorOrderStatus
from app.pagination import listing_page
from app.reviews import moderation
from app.reviews.models import (
    BODY_MAX,
    REPLY_MAX,
    TITLE_MAX,
    RatingSubject,
    RatingSummary,
    RejectionReason,
    ReporterKind,
    Review,
    ReviewKind,
    ReviewPhoto,
    ReviewReply,
    ReviewReport,
    ReviewRequest,
    ReviewRevision,
    ReviewStatus,
)
from app.urls import external_url
from vendors.models import ShopMember

S = VendorOrderStatus
# The goods reached the buyer (delivered or collected), whatever happened since; never a cancelled part.
REVIEWABLE = (S.DELIVERED, S.COLLECTED, S.COMPLETED, S.RETURN_REQUESTED, S.RETURNED, S.REFUNDED)
REVIEW_MONTHS = 12
EDIT_DAYS = 30
MAX_PHOTOS = 3
PHOTO_SIZES = {"thumb": (240, 240, "crop")}
# The e-mail goes a few days after receipt, and never for parts received long before (a first deploy).
REQUEST_DELAY = dt.timedelta(days=3)
REQUEST_MAX_AGE = dt.timedelta(days=30)
SALT = "reviews.request"  # itsdangerous: keeps these tokens apart from the accounts' ones
TOKEN_MAX_AGE = 400 * 24 * 3600  # longer than the 12 months of the window, which is checked apart
PER_PAGE = 10
SUBJECT = "review"  # the audit log's subject type

REASON_LABELS = {
    RejectionReason.ABUSIVE: _l("Contenu injurieux"),
    RejectionReason.OFF_TOPIC: _l("Hors sujet"),
    RejectionReason.PERSONAL_DATA: _l("Données personnelles"),
    RejectionReason.ADVERTISING: _l("Publicité"),
    RejectionReason.OTHER: _l("Autre"),
}


class ReviewError(ServiceError):
    """A refused review use case."""


@dataclass(frozen=True)
class ReviewData:
    rating: int | None
    title: str
    body: str


# -- the signed link --------------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def review_token(part: VendorOrder) -> str:
    """The link's token: this shop's part of the order, and its buyer."""
    return str(_serializer().dumps({"vo": part.id, "u": part.order.user_id}))


def read_token(token: str) -> tuple[int, int]:
    """(vendor order id, buyer id) of a token, or ReviewError for a forged, altered or expired one."""
    try:
        data = _serializer().loads(token, max_age=TOKEN_MAX_AGE)
    except SignatureExpired as error:
        raise ReviewError(_l("Ce lien a expiré.")) from error
    except BadSignature as error:
        raise ReviewError(_l("Ce lien n’est pas valide.")) from error
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("vo"), int)
        or not isinstance(data.get("u"), int)
    ):
        raise ReviewError(_l("Ce lien n’est pas valide."))
    return data["vo"], data["u"]


def review_url(part: VendorOrder) -> str:
    return external_url("reviews.order", token=review_token(part))


# -- who may review what, until when ---------------------------------------------------------------


def _add_months(moment: dt.datetime, months: int) -> dt.datetime:
    month = moment.month - 1 + months
    year, month = moment.year + month // 12, month % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def review_deadline(part: VendorOrder) -> dt.datetime | None:
    """Until when the buyer may review this part: 12 months after receiving it."""
    return _add_months(part.received_at, REVIEW_MONTHS) if part.received_at else None


def edit_deadline(review: Review) -> dt.datetime:
    return review.created_at + dt.timedelta(days=EDIT_DAYS)


def can_edit(review: Review, now: dt.datetime | None = None) -> bool:
    return (now or utcnow()) <= edit_deadline(review)


def reviewable(part: VendorOrder, now: dt.datetime | None = None) -> bool:
    try:
        check_reviewable(part, now)
    except ReviewError:
        return False
    return True


def check_reviewable(part: VendorOrder, now: dt.datetime | None = None) -> None:
    """Refuse unless the goods were delivered or collected (never cancelled) less than 12 months ago."""
    deadline = review_deadline(part)
    if part.status not in REVIEWABLE or deadline is None:
        raise ReviewError(_l("Vous pourrez donner votre avis une fois la commande reçue."))
    if (now or utcnow()) > deadline:
        raise ReviewError(
            _l(
                "Les avis se donnent dans les 12 mois qui suivent la réception : c’était possible "
                "jusqu’au %(date)s.",
                date=deadline.strftime("%d/%m/%Y"),
            )
        )


def buyer_part(buyer: User, vendor_order_id: int) -> VendorOrder:
    """The buyer's part of an order; anyone else's is refused as if it did not exist."""
    part = db.session.get(VendorOrder, vendor_order_id)
    if part is None or part.order.user_id != buyer.id:
        raise ReviewError(_l("Seule la personne qui a acheté peut donner son avis sur cette commande."))
    return part


@dataclass(frozen=True)
class Item:
    """Something the buyer of a part may review: a line (a product) or the shop itself."""

    line: OrderLine | None
    review: Review | None
    editable: bool

    @property
    def kind(self) -> ReviewKind:
        return ReviewKind.PRODUCT if self.line is not None else ReviewKind.SHOP


def items(buyer: User, part: VendorOrder) -> list[Item]:
    """The lines of the part and the shop, each with the buyer's review if there is one."""
    buyer_part(buyer, part.id)
    written = {
        review.order_line_id: review
        for review in db.session.scalars(
            sa.select(Review).where(Review.vendor_order_id == part.id).options(selectinload(Review.photos))
        )
    }
    now = utcnow()
    found = [Item(line, written.get(line.id), False) for line in part.lines]
    found.append(Item(None, written.get(None), False))
    return [
        Item(item.line, item.review, item.review is not None and can_edit(item.review, now)) for item in found
    ]


def find_review(buyer: User, vendor_order_id: int, order_line_id: int | None) -> Review | None:
    part = buyer_part(buyer, vendor_order_id)
    query = sa.select(Review).where(Review.vendor_order_id == part.id)
    if order_line_id is None:
        query = query.where(Review.kind == ReviewKind.SHOP)
    else:
        query = query.where(Review.order_line_id == order_line_id)
    return db.session.scalar(query)


# -- writing and editing ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cleaned:
    rating: int
    title: str
    body: str


def _clean(data: ReviewData) -> _Cleaned:
    """The rating, title and text as stored, or ReviewError naming the field (forms say the same)."""
    if not isinstance(data.rating, int) or isinstance(data.rating, bool) or not 1 <= data.rating <= 5:
        raise ReviewError(_l("Choisissez une note de 1 à 5 étoiles."), "rating")
    title = " ".join((data.title or "").split())
    body = (data.body or "").replace("\r\n", "\n").strip()
    if not title:
        raise ReviewError(_l("Donnez un titre à votre avis."), "title")
    if len(title) > TITLE_MAX:
        raise ReviewError(
            _l("Le titre fait %(length)d caractères : %(max)d au plus.", length=len(title), max=TITLE_MAX),
            "title",
        )
    if not body:
        raise ReviewError(_l("Écrivez votre avis."), "body")
    if len(body) > BODY_MAX:
        raise ReviewError(
            _l("Votre avis fait %(length)d caractères : %(max)d au plus.", length=len(body), max=BODY_MAX),
            "body",
        )
    return _Cleaned(data.rating, title, body)


def submit_review(
    buyer: User,
    vendor_order_id: int,
    order_line_id: int | None,
    data: ReviewData,
    photos: Sequence[IO[bytes]] = (),
) -> Review:
    """The buyer's review of one line (``order_line_id``) or of the shop (None).

    Published at once unless an automatic check holds it for the manager.
    """
    part = buyer_part(buyer, vendor_order_id)
    check_reviewable(part)
    line = None
    if order_line_id is not None:
        line = next((line for line in part.lines if line.id == order_line_id), None)
        if line is None:
            raise ReviewError(_l("Cet article ne fait pas partie de cette commande."))
    if find_review(buyer, part.id, order_line_id) is not None:
        raise ReviewError(_l("Vous avez déjà donné votre avis : vous pouvez le modifier."))
    clean = _clean(data)
    if len(photos) > MAX_PHOTOS:
        raise ReviewError(_l("%(count)d photos au plus.", count=MAX_PHOTOS), "photos")
    flags = moderation.check(clean.title, clean.body)
    now = utcnow()
    review = Review(
        kind=ReviewKind.PRODUCT if line is not None else ReviewKind.SHOP,
        author_id=buyer.id,
        vendor_order_id=part.id,
        order_line_id=line.id if line is not None else None,
        shop_id=part.shop_id,
        product_id=line.product_id if line is not None else None,
        product_title=line.title if line is not None else "",
        rating=clean.rating,
        title=clean.title,
        body=clean.body,
        fingerprint=moderation.fingerprint(clean.body),
        flags=flags,
        status=ReviewStatus.PENDING if flags else ReviewStatus.PUBLISHED,
        published_at=None if flags else now,
        purchased_at=part.order.created_at,
        created_at=now,
        updated_at=now,
    )
    try:
        with db.session.begin_nested():  # two posts at once: the unique constraints decide
            db.session.add(review)
            db.session.flush()
    except IntegrityError:
        raise ReviewError(_l("Vous avez déjà donné votre avis : vous pouvez le modifier.")) from None
    _add_photos(review, photos)
    _refresh_for(review)
    audit.record(buyer, SUBJECT, review.id, "submitted", status=review.status.value, flags=flags)
    if review.status == ReviewStatus.PUBLISHED:
        _announce_published(review)
    return review


def edit_review(
    buyer: User,
    review_id: int,
    data: ReviewData,
    photos: Sequence[IO[bytes]] = (),
    remove_photos: Iterable[int] = (),
) -> Review:
    """Change one's review within 30 days; the previous version is kept and the checks run again."""
    review = db.session.get(Review, review_id)
    if review is None or review.author_id != buyer.id:
        raise ReviewError(_l("Seule la personne qui l’a écrit peut modifier cet avis."))
    now = utcnow()
    if not can_edit(review, now):
        raise ReviewError(
            _l(
                "Un avis se modifie pendant %(days)d jours : celui-ci ne pouvait plus l’être après le "
                "%(date)s.",
                days=EDIT_DAYS,
                date=edit_deadline(review).strftime("%d/%m/%Y"),
            )
        )
    clean = _clean(data)
    removed = [photo for photo in review.photos if photo.id in set(remove_photos)]
    if len(review.photos) - len(removed) + len(photos) > MAX_PHOTOS:
        raise ReviewError(_l("%(count)d photos au plus.", count=MAX_PHOTOS), "photos")
    review.revisions.append(
        ReviewRevision(
            rating=review.rating,
            title=review.title,
            body=review.body,
            status=review.status,
            written_at=review.edited_at or review.created_at,
            replaced_at=now,
        )
    )
    before = review.status
    review.rating, review.title, review.body = clean.rating, clean.title, clean.body
    review.fingerprint = moderation.fingerprint(clean.body)
    review.edited_at = now
    flags = moderation.check(clean.title, clean.body, review_id=review.id)
    if before == ReviewStatus.REJECTED:
        # The manager refused it once: they see it again before it goes online.
        flags.append("edited_after_rejection")
    review.flags = flags
    if flags or review.open_reports:
        review.status = ReviewStatus.PENDING
    else:
        review.status = ReviewStatus.PUBLISHED
        review.published_at = review.published_at or now
    for photo in removed:
        review.photos.remove(photo)
        jobs.enqueue(images.delete_stored, photo.path)
    _add_photos(review, photos)
    db.session.flush()
    _refresh_for(review)
    audit.record(buyer, SUBJECT, review.id, "edited", status=review.status.value, flags=flags)
    if before != ReviewStatus.PUBLISHED and review.status == ReviewStatus.PUBLISHED:
        _announce_published(review)
    return review


def _announce_published(review: Review) -> None:
    """Tell the shop's own systems (``app.events``) that a review of it is online: what the storefront
    shows, without the author's name."""
    events.record(
        events.REVIEW_PUBLISHED,
        review.shop_id,
        {
            "review_id": review.id,
            "kind": review.kind.value,
            "product_id": review.product_id,
            "vendor_order_id": review.vendor_order_id,
            "rating": review.rating,
            "title": review.title,
            "body": review.body,
            "published_at": events.iso(review.published_at),
        },
    )


def _add_photos(review: Review, streams: Sequence[IO[bytes]]) -> None:
    """Each photo checked by its content and re-encoded; on a refusal, nothing of this call is kept."""
    stored: list[images.StoredImage] = []
    try:
        for stream in streams:
            stored.append(
                images.store_image(
                    stream,
                    folder="reviews",
                    max_bytes=current_app.config["MAX_IMAGE_BYTES"],
                    sizes=PHOTO_SIZES,
                    main_size=(1600, 1600),
                    min_size=(200, 200),
                )
            )
    except images.ImageRejected as rejected:
        for image in stored:
            images.delete_image(image.path)
        raise ReviewError(images.rejection_message(rejected), "photos") from rejected
    start = max((photo.position for photo in review.photos), default=-1) + 1
    for offset, image in enumerate(stored):
        review.photos.append(
            ReviewPhoto(
                path=image.path,
                thumbnails=image.thumbnails,
                width=image.width,
                height=image.height,
                position=start + offset,
            )
        )


# -- the ratings summed up --------------------------------------------------------------------------


def _summary_row(subject: RatingSubject, subject_id: int) -> RatingSummary:
    """The summary row, created if missing, locked until the transaction ends (no lost update)."""
    locked = (
        sa.select(RatingSummary)
        .where(RatingSummary.subject == subject, RatingSummary.subject_id == subject_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    row = db.session.scalar(locked)
    if row is None:
        try:
            with db.session.begin_nested():
                db.session.add(RatingSummary(subject=subject, subject_id=subject_id))
        except IntegrityError:
            pass  # created meanwhile by another transaction
        row = db.session.scalars(locked).one()
    return row


def refresh_summary(subject: RatingSubject, subject_id: int) -> RatingSummary:
    """Recount the published reviews of a product or a shop (a shop's are its shop reviews)."""
    row = _summary_row(subject, subject_id)
    query = sa.select(Review.rating, sa.func.count()).where(Review.status == ReviewStatus.PUBLISHED)
    if subject == RatingSubject.PRODUCT:
        query = query.where(Review.kind == ReviewKind.PRODUCT, Review.product_id == subject_id)
    else:
        query = query.where(Review.kind == ReviewKind.SHOP, Review.shop_id == subject_id)
    counts = {int(stars): int(count) for stars, count in db.session.execute(query.group_by(Review.rating))}
    for stars in range(1, 6):
        setattr(row, f"stars_{stars}", int(counts.get(stars, 0)))
    row.review_count = sum(int(count) for count in counts.values())
    row.rating_sum = sum(stars * int(count) for stars, count in counts.items())
    row.updated_at = utcnow()
    db.session.flush()
    return row


def _refresh_for(review: Review) -> None:
    db.session.flush()
    if review.kind == ReviewKind.PRODUCT:
        if review.product_id is not None:
            refresh_summary(RatingSubject.PRODUCT, review.product_id)
    else:
        refresh_summary(RatingSubject.SHOP, review.shop_id)


def summary(subject: RatingSubject, subject_id: int) -> RatingSummary | None:
    return db.session.get(RatingSummary, (subject, subject_id))


def summaries(subject: RatingSubject, subject_ids: Iterable[int]) -> dict[int, RatingSummary]:
    ids = sorted(set(subject_ids))
    if not ids:
        return {}
    rows = db.session.scalars(
        sa.select(RatingSummary).where(RatingSummary.subject == subject, RatingSummary.subject_id.in_(ids))
    )
    return {row.subject_id: row for row in rows}


# -- reading ------------------------------------------------------------------------------------------

PUBLIC_LOADING = (
    joinedload(Review.author),
    selectinload(Review.photos),
    joinedload(Review.reply),
)


def public_reviews(subject: RatingSubject, subject_id: int, page: int = 1) -> Any:
    """The published reviews of a product or a shop, newest first, a page at a time."""
    query = sa.select(Review).where(Review.status == ReviewStatus.PUBLISHED)
    if subject == RatingSubject.PRODUCT:
        query = query.where(Review.kind == ReviewKind.PRODUCT, Review.product_id == subject_id)
    else:
        query = query.where(Review.kind == ReviewKind.SHOP, Review.shop_id == subject_id)
    query = query.options(*PUBLIC_LOADING).order_by(Review.published_at.desc(), Review.id.desc())
    return listing_page(query, page, PER_PAGE)


def shop_reviews(member: ShopMember, unanswered: bool = False, page: int = 1) -> Any:
    """The shop's published reviews (its products' and its own), newest first, for its back office."""
    query = sa.select(Review).where(Review.shop_id == member.shop_id, Review.status == ReviewStatus.PUBLISHED)
    if unanswered:
        query = query.where(~Review.reply.has())
    query = query.options(*PUBLIC_LOADING).order_by(Review.published_at.desc(), Review.id.desc())
    return db.paginate(query, page=max(page, 1), per_page=PER_PAGE, error_out=False)


def unanswered_count(member: ShopMember) -> int:
    query = sa.select(sa.func.count()).select_from(Review)
    query = query.where(
        Review.shop_id == member.shop_id, Review.status == ReviewStatus.PUBLISHED, ~Review.reply.has()
    )
    return int(db.session.scalar(query) or 0)


def moderation_queue() -> list[Review]:
    """What waits for the manager, oldest first."""
    return list(
        db.session.scalars(
            sa.select(Review)
            .where(Review.status == ReviewStatus.PENDING)
            .options(
                joinedload(Review.author),
                joinedload(Review.shop),
                joinedload(Review.reply),
                joinedload(Review.vendor_order).joinedload(VendorOrder.order),
                selectinload(Review.photos),
                selectinload(Review.reports),
                selectinload(Review.revisions),
            )
            .order_by(Review.updated_at, Review.id)
        )
    )


def pending_count() -> int:
    query = sa.select(sa.func.count()).select_from(Review).where(Review.status == ReviewStatus.PENDING)
    return int(db.session.scalar(query) or 0)


def history(review: Review) -> list[Any]:
    return audit.history(SUBJECT, review.id)


# -- moderation --------------------------------------------------------------------------------------


def _require_manager(actor: User) -> None:
    if not actor.is_manager:
        raise ReviewError(_l("Réservé à la gestion de la place de marché."))


def _review(review_id: int) -> Review:
    review = db.session.get(Review, review_id)
    if review is None:
        raise ReviewError(_l("Avis introuvable."))
    return review


def _resolve_reports(review: Review) -> None:
    now = utcnow()
    for report in review.open_reports:
        report.resolved_at = now


def publish(manager: User, review_id: int) -> Review:
    """The manager publishes a held or reported review; its author is told."""
    _require_manager(manager)
    review = _review(review_id)
    if review.status != ReviewStatus.PENDING:
        raise ReviewError(_l("Cet avis n’attend pas de décision."))
    now = utcnow()
    review.status = ReviewStatus.PUBLISHED
    review.published_at = review.published_at or now
    review.decided_at, review.decided_by_id = now, manager.id
    review.rejection_reason, review.rejection_note = None, ""
    _resolve_reports(review)
    _refresh_for(review)
    audit.record(manager, SUBJECT, review.id, "published")
    _tell_author(review, "reviews/published", _l("Votre avis est en ligne"))
    _announce_published(review)
    return review


def reject(manager: User, review_id: int, reason: RejectionReason | str, note: str = "") -> Review:
    """The manager refuses a review (held, reported or online) with a reason; its author is told."""
    _require_manager(manager)
    review = _review(review_id)
    if review.status == ReviewStatus.REJECTED:
        raise ReviewError(_l("Cet avis est déjà refusé."))
    reason, note = _reason(reason, note)
    now = utcnow()
    review.status = ReviewStatus.REJECTED
    review.rejection_reason, review.rejection_note = reason, note
    review.decided_at, review.decided_by_id = now, manager.id
    _resolve_reports(review)
    _refresh_for(review)
    audit.record(manager, SUBJECT, review.id, "rejected", reason=note or None, rejection=reason.value)
    _tell_author(review, "reviews/rejected", _l("Votre avis n’a pas été publié"))
    return review


def _reason(reason: RejectionReason | str, note: str) -> tuple[RejectionReason, str]:
    try:
        chosen = RejectionReason(reason)
    except ValueError:
        raise ReviewError(_l("Choisissez un motif."), "reason") from None
    note = " ".join((note or "").split())[:500]
    if chosen == RejectionReason.OTHER and not note:
        raise ReviewError(_l("Précisez le motif."), "note")
    return chosen, note


def _tell_author(review: Review, template: str, subject: Any) -> None:
    author = review.author
    target = (
        external_url("catalog.product", product_id=review.product_id) + "#avis"
        if review.kind == ReviewKind.PRODUCT and review.product_id
        else external_url("vendors.storefront", slug=review.shop.slug) + "#avis"
    )
    mail.send(
        author.email,
        subject,
        template,
        locale=author.locale,
        review=review,
        author=author,
        reason_label=REASON_LABELS.get(review.rejection_reason) if review.rejection_reason else None,
        page_url=target,
        how_url=external_url("reviews.how_it_works"),
    )


def report(
    reporter: User,
    review_id: int,
    reason: RejectionReason | str,
    note: str = "",
    member: ShopMember | None = None,
) -> ReviewReport:
    """A shopper, or the shop through ``member``, reports a published review: it leaves the site until
    the manager decides."""
    review = _review(review_id)
    if member is not None and (member.user_id != reporter.id or member.shop_id != review.shop_id):
        raise ReviewError(_l("Avis introuvable."))
    if review.status != ReviewStatus.PUBLISHED:
        raise ReviewError(_l("Cet avis est déjà en cours de vérification."))
    if review.author_id == reporter.id:
        raise ReviewError(_l("Vous ne pouvez pas signaler votre propre avis : modifiez-le."))
    reason, note = _reason(reason, note)
    filed = ReviewReport(
        reporter_id=reporter.id,
        reporter_kind=ReporterKind.SHOP if member is not None else ReporterKind.SHOPPER,
        reason=reason,
        note=note,
    )
    review.reports.append(filed)
    review.status = ReviewStatus.PENDING
    _refresh_for(review)
    audit.record(
        reporter,
        SUBJECT,
        review.id,
        "reported",
        reason=note or None,
        by=filed.reporter_kind.value,
        report=reason.value,
    )
    return filed


# -- the shop's reply ----------------------------------------------------------------------------------


def save_reply(member: ShopMember, review_id: int, body: str) -> ReviewReply:
    """The shop's public answer to one of its reviews: written once, then edited."""
    review = db.session.get(Review, review_id)
    if review is None or review.shop_id != member.shop_id or review.status == ReviewStatus.REJECTED:
        raise ReviewError(_l("Avis introuvable."))
    text = (body or "").replace("\r\n", "\n").strip()
    if not text:
        raise ReviewError(_l("Écrivez votre réponse."), "body")
    if len(text) > REPLY_MAX:
        raise ReviewError(
            _l(
                "Votre réponse fait %(length)d caractères : %(max)d au plus.", length=len(text), max=REPLY_MAX
            ),
            "body",
        )
    reply = review.reply
    if reply is None:
        reply = ReviewReply(body=text, author_id=member.user_id)
        review.reply = reply
        action = "replied"
    else:
        reply.body, reply.author_id, reply.edited_at = text, member.user_id, utcnow()
        action = "reply_edited"
    db.session.flush()
    audit.record(member.user, SUBJECT, review.id, action, shop_id=member.shop_id)
    return reply


# -- the "how was it?" e-mail ---------------------------------------------------------------------------


def due_requests(now: dt.datetime | None = None, limit: int = 200) -> list[VendorOrder]:
    """Parts received a few days ago whose buyer has neither been asked nor reviewed yet."""
    now = now or utcnow()
    asked = sa.select(ReviewRequest.vendor_order_id)
    reviewed = sa.select(Review.vendor_order_id)
    query = (
        sa.select(VendorOrder)
        .where(
            VendorOrder.status.in_(REVIEWABLE),
            VendorOrder.received_at <= now - REQUEST_DELAY,
            VendorOrder.received_at >= now - REQUEST_MAX_AGE,
            VendorOrder.id.not_in(asked),
            VendorOrder.id.not_in(reviewed),
        )
        .order_by(VendorOrder.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def send_request(part: VendorOrder) -> bool:
    """E-mail the buyer the link to review this part, once (a second call sends nothing)."""
    try:
        with db.session.begin_nested():
            db.session.add(ReviewRequest(vendor_order_id=part.id))
            db.session.flush()
    except IntegrityError:
        return False
    order: Order = part.order
    mail.send(
        order.email,
        _l("Votre avis sur %(shop)s ?", shop=part.shop.name),
        "reviews/request",
        locale=order.locale,
        order=order,
        part=part,
        buyer=order.user,
        link=review_url(part),
        how_url=external_url("reviews.how_it_works"),
    )
    return True
