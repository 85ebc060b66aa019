"""The manager's figures beside the dashboard (``/gestion/``, in ``app.manager.views``): each chart as
an SVG image, the page as a spreadsheet, and the month's report for the town council."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, request
from werkzeug.wrappers import Response

from app.accounts.auth import acting_user, manager_required
from app.extensions import talisman
from app.figures import charts, services

blueprint = Blueprint("figures_admin", __name__, url_prefix="/gestion")


@blueprint.route("/graphiques/<name>.svg")
@talisman(content_security_policy=charts.SVG_POLICY)
@manager_required
def chart(name: str) -> Response:
    build = services.TOWN_CHARTS.get(name)
    if build is None:
        abort(404)
    return charts.svg_response(build(services.parse_period(request.args)), acting_user().locale)


@blueprint.route("/chiffres.csv")
@manager_required
def export_csv() -> Response:
    from app.figures import documents  # with fpdf: not loaded by every worker

    period = services.parse_period(request.args)
    content = documents.dashboard_csv(services.town_dashboard(period), locale=acting_user().locale)
    name = f"chiffres-{period.start:%Y%m%d}-{period.end:%Y%m%d}.csv"
    return Response(
        content, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@blueprint.route("/rapport-<month>.pdf")
@manager_required
def monthly_report(month: str) -> Response:
    from app.figures import documents
    from app.pdf import download

    period = services.parse_month(month)
    if period is None:
        abort(404)
    last_day = period.start - dt.timedelta(days=1)
    previous = services.month_period(last_day.year, last_day.month)
    if period.end > services.today():
        period = services.Period(period.start, services.today(), "mois")
    dashboard = services.town_dashboard(period, previous)
    content = documents.monthly_report_pdf(dashboard, locale=acting_user().locale)
    return download(content, f"rapport-{month}.pdf")
