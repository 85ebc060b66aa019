"""The shop's reviews in its back office (``/vendeur/<slug>/avis``): read them, answer each one
publicly, report one that breaks the rules. The buyer appears by first name and initial only."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from app.extensions import db, limiter
from app.permissions import Permission
from app.reviews import forms, services
from app.reviews.models import Review
from app.reviews.views import POST_LIMIT
from app.routing import parse_page
from vendors.backoffice import shop_member
from vendors.models import ShopMember

blueprint = Blueprint("reviews_backoffice", __name__, url_prefix="/vendeur")


@blueprint.route("/<slug>/avis")
@shop_member(Permission.REVIEWS)
def reviews(member: ShopMember) -> str:
    unanswered = request.args.get("filtre") == "sans-reponse"
    return render_template(
        "reviews/backoffice/list.html",
        member=member,
        shop=member.shop,
        unanswered=unanswered,
        page=services.shop_reviews(member, unanswered, request.args.get("page", 1, type=parse_page)),
        unanswered_count=services.unanswered_count(member),
        summary=services.summary(services.RatingSubject.SHOP, member.shop_id),
        reply_form=forms.ReplyForm(formdata=None),
        report_form=forms.ReasonForm(formdata=None),
    )


def _own_review(member: ShopMember, review_id: int) -> None:
    """Another shop's review (or none) under this shop's address is a 404, whatever the form says."""
    shop_id = db.session.scalar(sa.select(Review.shop_id).where(Review.id == review_id))
    if shop_id != member.shop_id:
        abort(404)


def _back(member: ShopMember, review_id: int) -> Response:
    unanswered = request.args.get("filtre") or None
    return redirect(url_for(".reviews", slug=member.shop.slug, filtre=unanswered) + f"#avis-{review_id}")


@blueprint.route("/<slug>/avis/<int:review_id>/reponse", methods=["POST"])
@shop_member(Permission.REVIEWS)
@limiter.limit(POST_LIMIT)
def reply(member: ShopMember, review_id: int) -> Response:
    _own_review(member, review_id)
    form = forms.ReplyForm()
    if not form.validate_on_submit():
        for error in form.body.errors or [_l("Écrivez votre réponse.")]:
            flash(error, "error")
        return _back(member, review_id)
    try:
        services.save_reply(member, review_id, form.body.data or "")
    except services.ReviewError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_l("Réponse publiée sous l’avis."), "success")
    return _back(member, review_id)


@blueprint.route("/<slug>/avis/<int:review_id>/signaler", methods=["POST"])
@shop_member(Permission.REVIEWS)
@limiter.limit(POST_LIMIT)
def report(member: ShopMember, review_id: int) -> Response:
    _own_review(member, review_id)
    form = forms.ReasonForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return _back(member, review_id)
    try:
        services.report(member.user, review_id, form.reason.data or "", form.note.data or "", member=member)
    except services.ReviewError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_l("Avis signalé : il est retiré le temps que l’équipe du site l’examine."), "success")
    return _back(member, review_id)
