"""The shop's figures beside its dashboard: the chart of its sales per day, as an SVG image.

Guarded like every back-office page: only the shop's own people reach it, and only that shop's rows
are read (the shop comes from the membership, never from the request)."""

from __future__ import annotations

from flask import Blueprint, request
from werkzeug.wrappers import Response

from app.accounts.auth import acting_user
from app.extensions import talisman
from app.figures import charts, services
from app.permissions import Permission
from vendors.backoffice import shop_member
from vendors.models import ShopMember

blueprint = Blueprint("figures_backoffice", __name__, url_prefix="/vendeur")


@blueprint.route("/<slug>/chiffres/ventes.svg")
@talisman(content_security_policy=charts.SVG_POLICY)
@shop_member(Permission.DASHBOARD)
def sales_chart(member: ShopMember) -> Response:
    period = services.parse_period(request.args)
    return charts.svg_response(services.sales_per_day(period, member.shop_id), acting_user().locale)
