"""The manager's review queue (``/gestion/avis``): reviews held by a check or reported, each published
or refused with a reason. Every decision is in the audit log and e-mailed to the author."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from app.accounts.auth import acting_user, manager_required
from app.extensions import db
from app.reviews import forms, services

blueprint = Blueprint("reviews_admin", __name__, url_prefix="/gestion")


@blueprint.route("/avis")
@manager_required
def queue() -> str:
    return render_template(
        "reviews/admin/queue.html",
        reviews=services.moderation_queue(),
        form=forms.ReasonForm(formdata=None),
    )


@blueprint.route("/avis/<int:review_id>/publier", methods=["POST"])
@manager_required
def publish(review_id: int) -> Response:
    if not FlaskForm().validate_on_submit():
        flash(_l("Formulaire expiré : recommencez."), "error")
        return redirect(url_for(".queue"))
    try:
        services.publish(acting_user(), review_id)
    except services.ReviewError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_l("Avis publié ; son auteur est prévenu."), "success")
    return redirect(url_for(".queue"))


@blueprint.route("/avis/<int:review_id>/refuser", methods=["POST"])
@manager_required
def reject(review_id: int) -> Response:
    form = forms.ReasonForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect(url_for(".queue") + f"#avis-{review_id}")
    try:
        services.reject(acting_user(), review_id, form.reason.data or "", form.note.data or "")
    except services.ReviewError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_l("Avis refusé ; son auteur est prévenu."), "success")
    return redirect(url_for(".queue"))
