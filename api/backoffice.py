"""The shop's "Outils et API" page (``/vendeur/<slug>/outils``): its owner makes and revokes API keys.

One address for the page and both of its forms (``action`` = ``create`` or ``revoke``), so the page is a
single entry of the permission table (``shop.api``, the owner's). A new key's token is shown once, on
the answer to its creation, and never stored.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, url_for
from werkzeug.wrappers import Response

from api import forms, key_pages, services
from app import permissions
from app.permissions import Permission
from vendors.backoffice import shop_member
from vendors.models import ShopMember

blueprint = Blueprint("api_backoffice", __name__, url_prefix="/vendeur")


@blueprint.route("/<slug>/outils", methods=["GET", "POST"])
@shop_member(Permission.API_KEYS)
def tools(member: ShopMember) -> Response | str:
    page = key_pages.handle(
        forms.NewKeyForm,
        create=lambda form: services.create_shop_key(member, form.name.data or "", form.scopes.data or []),
        revoke=lambda key_id: services.revoke_shop_key(member, key_id),
        back=url_for(".tools", slug=member.shop.slug),
    )
    if isinstance(page, Response):
        return page
    return render_template(
        "api/tools.html",
        member=member,
        shop=member.shop,
        form=page.form,
        revoke_form=page.revoke_form,
        token=page.token,
        keys=services.shop_keys(member.shop_id),
        scope_labels=_scope_labels(),
    )


def _scope_labels() -> dict[str, Any]:
    return {scope.value: label for scope, label in permissions.API_SCOPE_LABELS.items()}
