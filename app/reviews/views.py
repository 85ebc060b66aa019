"""Public review pages: the buyer's pages behind the e-mail's signed link, reporting a review, how
reviews are collected and checked, and the reviews shown on product pages and storefronts."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any, NoReturn
from urllib.parse import urlencode

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import format_decimal, get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from app import pagecache
from app.accounts.auth import acting_user, safe_next
from app.accounts.models import User
from app.caching import TTLCache
from app.extensions import db, limiter
from app.forms import show_error
from app.orders.models import VendorOrder
from app.pagination import ListingPage
from app.reviews import forms, moderation, services
from app.reviews.models import RatingSubject, RatingSummary, Review, ReviewKind
from app.routing import parse_page

blueprint = Blueprint("reviews", __name__)

POST_LIMIT = "10 per minute; 60 per hour"


# -- what product pages and storefronts show --------------------------------------------------------


@dataclass(frozen=True)
class ShownRating:
    """A rating summary's figures as pages show them: plain data, kept per process (``shown_summary``)."""

    review_count: int
    rating_sum: int
    stars: tuple[int, int, int, int, int]  # how many reviews gave 1, 2, 3, 4 and 5 stars

    @property
    def average(self) -> float:
        return self.rating_sum / self.review_count if self.review_count else 0.0

    @property
    def distribution(self) -> list[tuple[int, int]]:
        """(stars, count) from 5 down to 1."""
        return [(stars, self.stars[stars - 1]) for stars in (5, 4, 3, 2, 1)]

    @classmethod
    def of(cls, summary: RatingSummary | None) -> ShownRating | None:
        if summary is None:
            return None
        stars = (summary.stars_1, summary.stars_2, summary.stars_3, summary.stars_4, summary.stars_5)
        return cls(summary.review_count, summary.rating_sum, stars)


# The summaries pages showed, by subject, following the pages' generation: publishing, withdrawing or
# editing a review recounts its summary in a public table, which moves the generation on. Every product
# page and storefront shows one.
shown_ratings = TTLCache(ttl=60.0, maxsize=5000, follows=pagecache.current_generation)


@dataclass
class ReviewSection:
    subject: RatingSubject
    summary: ShownRating | None
    page: Any  # the published reviews, a page at a time

    @property
    def count(self) -> int:
        return self.summary.review_count if self.summary else 0

    @cached_property
    def report_form(self) -> forms.ReasonForm:
        """The form that reports a review, beside each one a signed-in reader may report: built when
        the first is drawn (a visitor who is not signed in is shown a link instead)."""
        return forms.ReasonForm(formdata=None)


def shown_summary(subject: RatingSubject | str, subject_id: int) -> ShownRating | None:
    """A rating summary as pages show it: as this process keeps it (``shown_ratings``), and the same
    however many places of a page show it."""
    kind = RatingSubject(subject)
    read: dict[tuple[RatingSubject, int], ShownRating | None] = g.setdefault("rating_summaries", {})
    if (kind, subject_id) not in read:
        read[kind, subject_id] = shown_ratings.get(
            (kind, subject_id), lambda: ShownRating.of(services.summary(kind, subject_id))
        )
    return read[kind, subject_id]


def review_section(subject: str, subject_id: int) -> ReviewSection:
    kind = RatingSubject(subject)
    summary = shown_summary(kind, subject_id)
    number = request.args.get("avis", 1, type=parse_page)
    # The summary is recounted in the transaction that publishes or withdraws a review: without any
    # counted, there is none to list.
    if summary is None or not summary.review_count:
        page: Any = ListingPage([], number, services.PER_PAGE, 0)
    else:
        page = services.public_reviews(kind, subject_id, number)
    return ReviewSection(subject=kind, summary=summary, page=page)


def review_link(part: VendorOrder) -> str | None:
    """For the buyer's order page: the link to review this part, while it can be reviewed."""
    if not services.reviewable(part):
        return None
    return url_for("reviews.order", token=services.review_token(part))


def reviews_page_url(page: int) -> str:
    """This page with another page of its reviews (its other arguments kept)."""
    args = request.args.to_dict()
    args["avis"] = str(page)
    return f"{request.path}?{urlencode(args)}#avis"


@blueprint.app_template_filter("rating")
def rating_filter(value: float) -> str:
    """An average rating as the reader writes numbers: 4,5 in French, 4.5 in English."""
    return format_decimal(round(value or 0.0, 1), format="0.0")


@blueprint.app_context_processor
def _globals() -> dict[str, Any]:
    return {
        "review_section": review_section,
        "reviews_page_url": reviews_page_url,
        "review_link": review_link,
        "rating_summary": shown_summary,
        "reviews_pending": services.pending_count,
        "check_labels": moderation.labels,
        "reason_labels": services.REASON_LABELS,
    }


# -- how reviews work --------------------------------------------------------------------------------


@blueprint.route("/avis/comment-ca-marche")
def how_it_works() -> str:
    """What the law asks us to say: who may review, how reviews are checked and moderated."""
    return render_template(
        [f"reviews/how_it_works.{get_locale()}.html", "reviews/how_it_works.fr.html"],
        months=services.REVIEW_MONTHS,
        edit_days=services.EDIT_DAYS,
        max_photos=services.MAX_PHOTOS,
    )


# -- the buyer's pages -------------------------------------------------------------------------------


def _refuse(message: Any, status: int) -> NoReturn:
    abort(make_response(render_template("reviews/link_refused.html", message=message), status))


def _buyer(token: str) -> tuple[User, VendorOrder]:
    """The buyer and the part the link is for; a forged link, or someone else logged in, is refused."""
    try:
        vendor_order_id, buyer_id = services.read_token(token)
    except services.ReviewError as error:
        _refuse(error.message, 404)
    if current_user.is_authenticated and acting_user().id != buyer_id:
        _refuse(
            _l(
                "Ce lien est celui de la personne qui a passé la commande : déconnectez-vous, ou "
                "connectez-vous avec son compte."
            ),
            403,
        )
    buyer = db.session.get(User, buyer_id)
    if buyer is None or not buyer.is_active:
        _refuse(_l("Ce lien n’est pas valide."), 404)
    try:
        return buyer, services.buyer_part(buyer, vendor_order_id)
    except services.ReviewError as error:
        _refuse(error.message, 404)


def _closed_reason(part: VendorOrder) -> Any:
    try:
        services.check_reviewable(part)
    except services.ReviewError as error:
        return error.message
    return None


@blueprint.route("/avis/commande/<token>")
def order(token: str) -> str:
    buyer, part = _buyer(token)
    return render_template(
        "reviews/order.html",
        token=token,
        buyer=buyer,
        part=part,
        items=services.items(buyer, part),
        closed=_closed_reason(part),
        edit_days=services.EDIT_DAYS,
    )


@blueprint.route("/avis/commande/<token>/article/<int:line_id>", methods=["GET", "POST"])
@limiter.limit(POST_LIMIT, methods=["POST"])
def write_product(token: str, line_id: int) -> Response | str:
    return _write(token, line_id)


@blueprint.route("/avis/commande/<token>/boutique", methods=["GET", "POST"])
@limiter.limit(POST_LIMIT, methods=["POST"])
def write_shop(token: str) -> Response | str:
    return _write(token, None)


def _write(token: str, line_id: int | None) -> Response | str:
    buyer, part = _buyer(token)
    line = None
    if line_id is not None:
        line = next((line for line in part.lines if line.id == line_id), None)
        if line is None:
            _refuse(_l("Cet article ne fait pas partie de cette commande."), 404)
    existing = services.find_review(buyer, part.id, line_id)
    if request.method == "GET" and existing is not None:
        form = forms.ReviewForm(
            data={"rating": existing.rating, "title": existing.title, "body": existing.body}
        )
    else:
        form = forms.ReviewForm()
    if existing is not None:
        form.remove_photos.choices = [
            SelectChoice(photo.id, str(index + 1)) for index, photo in enumerate(existing.photos)
        ]
    if form.validate_on_submit():
        uploads = [upload for upload in (form.photos.data or []) if getattr(upload, "filename", "")]
        data = services.ReviewData(form.rating.data, form.title.data or "", form.body.data or "")
        try:
            if existing is None:
                review = services.submit_review(
                    buyer, part.id, line_id, data, [upload.stream for upload in uploads]
                )
            else:
                review = services.edit_review(
                    buyer,
                    existing.id,
                    data,
                    [upload.stream for upload in uploads],
                    form.remove_photos.data or [],
                )
        except services.ReviewError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            if review.status.value == "published":
                flash(_l("Merci ! Votre avis est en ligne."), "success")
            else:
                flash(
                    _l("Merci ! Votre avis sera publié après une vérification par l’équipe du site."), "info"
                )
            return redirect(url_for(".order", token=token))
    return render_template(
        "reviews/write.html",
        token=token,
        part=part,
        line=line,
        existing=existing,
        form=form,
        closed=_closed_reason(part) if existing is None else None,
        editable=existing is None or services.can_edit(existing),
        edit_deadline=services.edit_deadline(existing) if existing is not None else None,
        max_photos=services.MAX_PHOTOS,
    )


# -- reporting a review ------------------------------------------------------------------------------


def _review_page(review: Review) -> str:
    if review.kind == ReviewKind.PRODUCT and review.product_id:
        return url_for("catalog.product", product_id=review.product_id)
    return url_for("vendors.storefront", slug=review.shop.slug)


@blueprint.route("/avis/<int:review_id>/signaler", methods=["POST"])
@login_required
@limiter.limit(POST_LIMIT)
def report(review_id: int) -> Response:
    """A shopper reports a published review: it leaves the page until the manager has looked at it."""
    review = db.session.get(Review, review_id)
    if review is None:
        abort(404)
    back = safe_next(request.form["next"]) if request.form.get("next") else _review_page(review)
    form = forms.ReasonForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect(back + "#avis")
    try:
        services.report(acting_user(), review.id, form.reason.data or "", form.note.data or "")
    except services.ReviewError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_l("Merci : cet avis est retiré le temps que l’équipe du site l’examine."), "success")
    return redirect(back + "#avis")
