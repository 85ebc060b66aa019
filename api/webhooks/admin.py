"""The town's webhooks in the manager's console (``/gestion/webhooks``): endpoints that hear every shop.

The pages are the back office's (``backoffice.py``), shown in the console for the town's endpoints.
"""

from __future__ import annotations

from flask import Blueprint, request
from werkzeug.wrappers import Response

from api.webhooks import backoffice as pages
from app.accounts.auth import manager_required

blueprint = Blueprint("webhooks_admin", __name__, url_prefix="/gestion")

TOWN = pages.Place(blueprint="webhooks_admin", layout="webhooks/console_layout.html", shop_id=None)


@blueprint.route("/webhooks", methods=["GET", "POST"])
@manager_required
def endpoints() -> Response | str:
    return pages.show_list(TOWN)


@blueprint.route("/webhooks/<int:endpoint_id>", methods=["GET", "POST"])
@manager_required
def endpoint_page(endpoint_id: int) -> Response | str:
    return pages.show_endpoint(TOWN, endpoint_id)


@blueprint.route("/webhooks/<int:endpoint_id>/secret", methods=["POST"])
@manager_required
def rotate_secret(endpoint_id: int) -> Response | str:
    return pages.rotate_page(TOWN, endpoint_id)


@blueprint.route("/webhooks/<int:endpoint_id>/activer", methods=["POST"])
@manager_required
def enable(endpoint_id: int) -> Response:
    return pages.switch_page(TOWN, endpoint_id, True)


@blueprint.route("/webhooks/<int:endpoint_id>/desactiver", methods=["POST"])
@manager_required
def disable(endpoint_id: int) -> Response:
    return pages.switch_page(TOWN, endpoint_id, False)


@blueprint.route("/webhooks/<int:endpoint_id>/supprimer", methods=["POST"])
@manager_required
def delete_endpoint(endpoint_id: int) -> Response:
    return pages.delete_page(TOWN, endpoint_id, request.form.get("confirm") == "oui")


@blueprint.route("/webhooks/envois/<int:delivery_id>/renvoyer", methods=["POST"])
@manager_required
def replay_delivery(delivery_id: int) -> Response:
    return pages.replay_page(TOWN, delivery_id)
