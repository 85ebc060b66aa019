"""The shop's "Outils et API" page (``/vendeur/<slug>/outils``): its owner makes and revokes API keys.

One address for the page and both of its forms (``action`` = ``create`` or ``revoke``), so the page is a
single entry of the permission table (``shop.api``, the owner's). A new key's token is shown once, on
the answer to its creation, and never stored.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from api import forms, services
from app import permissions
from app.extensions import db
from app.forms import show_error
from app.permissions import Permission
from app.routing import parse_id
from vendors.backoffice import shop_member
from vendors.models import ShopMember

blueprint = Blueprint("api_backoffice", __name__, url_prefix="/vendeur")


@blueprint.route("/<slug>/outils", methods=["GET", "POST"])
@shop_member(Permission.API_KEYS)
def tools(member: ShopMember) -> Response | str:
    form = forms.NewKeyForm(prefix="new")
    revoke_form = forms.RevokeForm(prefix="revoke")
    token = None
    if request.method == "POST" and request.form.get("action") == "revoke":
        if revoke_form.validate_on_submit() and (key_id := _key_id(revoke_form.key_id.data)):
            try:
                services.revoke_shop_key(member, key_id)
            except services.ApiKeyError as error:
                db.session.rollback()
                flash(error.message, "error")
            else:
                db.session.commit()
                flash(_l("Clé révoquée : elle ne donne plus accès à rien."), "success")
        return redirect(url_for(".tools", slug=member.shop.slug))
    if request.method == "POST" and form.validate_on_submit():
        try:
            made = services.create_shop_key(member, form.name.data or "", form.scopes.data or [])
        except services.ApiKeyError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            token = made.token
            form = forms.NewKeyForm(prefix="new", formdata=None)
    return render_template(
        "api/tools.html",
        member=member,
        shop=member.shop,
        form=form,
        revoke_form=revoke_form,
        token=token,
        keys=services.shop_keys(member.shop_id),
        scope_labels=_scope_labels(),
    )


def _key_id(raw: Any) -> int | None:
    try:
        return parse_id(str(raw or ""))
    except ValueError:
        return None


def _scope_labels() -> dict[str, Any]:
    return {scope.value: label for scope, label in permissions.API_SCOPE_LABELS.items()}
