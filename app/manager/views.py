"""The console's home: the town's figures for a period, and what waits for the manager."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, render_template, request

from app.accounts.auth import manager_required
from app.extensions import db

blueprint = Blueprint("manager", __name__, url_prefix="/gestion")


@blueprint.route("/")
@manager_required
def home() -> str:
    # Each domain contributes its figures; the console itself owns no data.
    from app.figures import services as figures
    from vendors import services as shops

    period = figures.parse_period(request.args)
    if figures.refresh_today(period):
        db.session.commit()
    today = figures.today()
    last_month = today.replace(day=1) - dt.timedelta(days=1)
    return render_template(
        "manager/home.html",
        shop_counts=shops.status_counts(),
        queue=shops.review_queue()[:5],
        dashboard=figures.town_dashboard(period),
        reports=(f"{last_month:%Y-%m}", f"{today:%Y-%m}"),
    )
