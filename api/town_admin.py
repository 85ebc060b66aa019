"""The manager's API key page in the console (``/gestion/api``): the town's read-only keys."""

from __future__ import annotations

from flask import Blueprint, render_template, url_for
from werkzeug.wrappers import Response

from api import forms, key_pages, services
from app.accounts.auth import acting_user, manager_required

blueprint = Blueprint("api_admin", __name__, url_prefix="/gestion")


@blueprint.route("/api", methods=["GET", "POST"])
@manager_required
def keys() -> Response | str:
    page = key_pages.handle(
        forms.TownKeyForm,
        create=lambda form: services.create_town_key(acting_user(), form.name.data or ""),
        revoke=lambda key_id: services.revoke_town_key(acting_user(), key_id),
        back=url_for(".keys"),
    )
    if isinstance(page, Response):
        return page
    return render_template(
        "api/town_keys.html",
        form=page.form,
        revoke_form=page.revoke_form,
        token=page.token,
        keys=services.town_keys(),
    )
