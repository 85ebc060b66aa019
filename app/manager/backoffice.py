"""The manager's announcements as shops see them: a banner in the back office, closed per member."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from app.accounts.auth import local_path
from app.catalog.text import render_markdown
from app.extensions import db
from app.manager import services
from app.permissions import Permission
from app.routing import parse_id
from vendors.backoffice import shop_member
from vendors.models import ShopMember

blueprint = Blueprint("manager_backoffice", __name__, url_prefix="/vendeur")


@blueprint.app_context_processor
def _banner() -> dict[str, Any]:
    # Called by the back office's layout: one query per page.
    return {"current_announcements": services.current_for, "announcement_body": render_markdown}


@blueprint.route("/<slug>/annonces/masquer", methods=["POST"])
@shop_member(Permission.DASHBOARD)
def dismiss(member: ShopMember) -> Response:
    """Close an announcement's banner for this member (the announcement's id is in the form: it is the
    town's, not the shop's, so the address names only the shop)."""
    back = local_path(request.form.get("next")) or url_for(
        "vendors_backoffice.dashboard", slug=member.shop.slug
    )
    announcement_id = request.form.get("announcement_id", type=parse_id)
    try:
        if announcement_id is None:
            raise services.NotFound(_l("Cette annonce n’existe pas."))
        services.dismiss(member, announcement_id)
    except services.NotFound as error:
        db.session.rollback()
        flash(error.message, "info")
        return redirect(back)
    db.session.commit()
    return redirect(back)
