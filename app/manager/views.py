"""The console's home: what waits for the manager."""

from __future__ import annotations

from flask import Blueprint, render_template

from app.accounts.auth import manager_required

blueprint = Blueprint("manager", __name__, url_prefix="/gestion")


@blueprint.route("/")
@manager_required
def home() -> str:
    # Each domain contributes its figures; the console itself owns no data.
    from vendors import services as shops

    return render_template(
        "manager/home.html", shop_counts=shops.status_counts(), queue=shops.review_queue()[:5]
    )
