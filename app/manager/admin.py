"""The console's follow-up lists (``/gestion/suivi``) and announcements to shops (``/gestion/annonces``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from app.accounts.auth import acting_user, manager_required
from app.database import utcnow
from app.errors import ServiceError
from app.extensions import db
from app.forms import show_error
from app.manager import followup, forms, services
from app.routing import parse_page

blueprint = Blueprint("manager_admin", __name__, url_prefix="/gestion")


@blueprint.app_context_processor
def _globals() -> dict[str, Any]:
    # Called by the console's home page only: one query for every list's count.
    return {"followup_counts": followup.counts, "followup_lists": followup.LISTS}


def _list(name: str) -> followup.FollowUpList:
    found = followup.find(name)
    if found is None:
        abort(404)
    return found


@blueprint.route("/suivi")
@manager_required
def followups() -> str:
    return render_template("manager/followups.html", counts=followup.counts())


@blueprint.route("/suivi/<name>")
@manager_required
def followup_list(name: str) -> str:
    found = _list(name)
    number = request.args.get("page", 1, type=parse_page)
    return render_template(
        "manager/followup_list.html",
        followup=found,
        page=followup.page(found, number),
        counts=followup.counts(),
        form=forms.ActionForm(),
        now=utcnow(),
    )


@blueprint.route("/suivi/<name>/<int:shop_id>/relancer", methods=["POST"])
@manager_required
def remind(name: str, shop_id: int) -> Response:
    found = _list(name)
    if not forms.ActionForm().validate_on_submit():
        flash(_l("La page a expiré : recommencez."), "error")
        return redirect(url_for(".followup_list", name=found.name))
    try:
        shop = services.send_reminder(acting_user(), found.name, shop_id)
    except services.NotFound:
        db.session.rollback()
        abort(404)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "info")
    else:
        db.session.commit()
        flash(_l("Relance envoyée à %(shop)s.", shop=shop.name), "success")
    page = request.args.get("page", 1, type=parse_page)
    return redirect(url_for(".followup_list", name=found.name, page=page if page > 1 else None))


@blueprint.route("/annonces", methods=["GET", "POST"])
@manager_required
def announcements() -> Response | str:
    form = forms.AnnouncementForm()
    if form.validate_on_submit():
        data = services.AnnouncementData(
            title=form.title.data or "",
            body=form.body.data or "",
            starts_at=form.starts_at.utc(),
            ends_at=form.ends_at.utc(),
        )
        try:
            services.publish(acting_user(), data)
        except ServiceError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_l("Annonce publiée : les boutiques la reçoivent par e-mail."), "success")
            return redirect(url_for(".announcements"))
    return render_template(
        "manager/announcements.html",
        form=form,
        action_form=forms.ActionForm(),
        announcements=services.announcements(),
        now=utcnow(),
    )


@blueprint.route("/annonces/<int:announcement_id>/terminer", methods=["POST"])
@manager_required
def end_announcement(announcement_id: int) -> Response:
    if not forms.ActionForm().validate_on_submit():
        flash(_l("La page a expiré : recommencez."), "error")
        return redirect(url_for(".announcements"))
    try:
        services.end_now(acting_user(), announcement_id)
    except services.NotFound:
        db.session.rollback()
        abort(404)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "info")
    else:
        db.session.commit()
        flash(_l("Annonce terminée : elle ne s’affiche plus."), "success")
    return redirect(url_for(".announcements"))
