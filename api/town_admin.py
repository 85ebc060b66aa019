"""The manager's API key page in the console (``/gestion/api``): the town's read-only keys."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from api import forms, services
from app.accounts.auth import acting_user, manager_required
from app.extensions import db
from app.forms import show_error
from app.routing import parse_id

blueprint = Blueprint("api_admin", __name__, url_prefix="/gestion")


@blueprint.route("/api", methods=["GET", "POST"])
@manager_required
def keys() -> Response | str:
    form = forms.TownKeyForm(prefix="new")
    revoke_form = forms.RevokeForm(prefix="revoke")
    token = None
    if request.method == "POST" and request.form.get("action") == "revoke":
        if revoke_form.validate_on_submit() and (key_id := _key_id(revoke_form.key_id.data)):
            try:
                services.revoke_town_key(acting_user(), key_id)
            except services.ApiKeyError as error:
                db.session.rollback()
                flash(error.message, "error")
            else:
                db.session.commit()
                flash(_l("Clé révoquée : elle ne donne plus accès à rien."), "success")
        return redirect(url_for(".keys"))
    if request.method == "POST" and form.validate_on_submit():
        try:
            made = services.create_town_key(acting_user(), form.name.data or "")
        except services.ApiKeyError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            token = made.token
            form = forms.TownKeyForm(prefix="new", formdata=None)
    return render_template(
        "api/town_keys.html", form=form, revoke_form=revoke_form, token=token, keys=services.town_keys()
    )


def _key_id(raw: Any) -> int | None:
    try:
        return parse_id(str(raw or ""))
    except ValueError:
        return None
