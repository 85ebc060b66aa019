"""The webhooks pages of a shop's back office (``/vendeur/<slug>/webhooks``), next to its API keys.

The same pages serve the town's console (``admin.py``) through ``Place``: where they live, whose
endpoints they show. An endpoint or a delivery of another shop is a 404, whatever the action.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from api.webhooks import forms, services
from api.webhooks.models import WebhookEndpoint
from app.accounts.auth import acting_user
from app.errors import ServiceError
from app.extensions import db
from app.forms import show_error
from app.permissions import Permission
from vendors.backoffice import shop_member
from vendors.models import ShopMember

blueprint = Blueprint("webhooks_backoffice", __name__, url_prefix="/vendeur")

T = TypeVar("T")


@dataclass(frozen=True)
class Place:
    """Where the webhooks pages are shown, and whose endpoints they manage (a shop's, or the town's)."""

    blueprint: str
    layout: str
    shop_id: int | None
    url_values: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)

    def url(self, page: str, **values: Any) -> str:
        return url_for(f"{self.blueprint}.{page}", **self.url_values, **values)

    def render(self, template: str, **values: Any) -> str:
        return render_template(
            f"webhooks/{template}", place=self, layout=self.layout, **self.context, **values
        )


def _data(form: forms.EndpointForm) -> services.EndpointData:
    return services.EndpointData(
        url=form.url.data or "", description=form.description.data or "", events=form.events.data or []
    )


def show_list(place: Place) -> Response | str:
    form = forms.EndpointForm()
    if form.validate_on_submit():
        try:
            made = services.create_endpoint(acting_user(), place.shop_id, _data(form))
        except ServiceError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(
                _l("Adresse enregistrée. Copiez son secret maintenant : il ne sera plus affiché."), "success"
            )
            return _endpoint(place, made, secret=made.secret)
    return place.render("endpoints.html", form=form, endpoints=services.endpoints(place.shop_id))


def _endpoint(
    place: Place, found: WebhookEndpoint, form: forms.EndpointForm | None = None, secret: str = ""
) -> str:
    if form is None:
        form = forms.EndpointForm(obj=found)
    return place.render(
        "endpoint.html",
        endpoint=found,
        form=form,
        action_form=forms.ActionForm(),
        deliveries=services.deliveries(found),
        secret=secret,
        reasons=services.DISABLED_REASONS,
        labels=services.EVENT_LABELS,
    )


def _found(place: Place, endpoint_id: int) -> WebhookEndpoint:
    try:
        return services.endpoint(place.shop_id, endpoint_id)
    except services.NotFound:
        abort(404)


def show_endpoint(place: Place, endpoint_id: int) -> Response | str:
    found = _found(place, endpoint_id)
    form = forms.EndpointForm(obj=found)
    if form.validate_on_submit():
        try:
            services.update_endpoint(acting_user(), place.shop_id, endpoint_id, _data(form))
        except ServiceError as error:
            db.session.rollback()
            show_error(form, error)
            return _endpoint(place, _found(place, endpoint_id), form)
        db.session.commit()
        flash(_l("Modifications enregistrées."), "success")
        return redirect(place.url("endpoint_page", endpoint_id=endpoint_id))
    return _endpoint(place, found, form)


class _Expired(Exception):
    """The button's form came without a valid CSRF token (a page left open too long)."""


def _run(change: Callable[[], T], done: Any = None) -> T | None:
    """Run one button's use case: 404 for what is not this place's; refused, its message flashed and
    None; else committed, ``done`` flashed, and its result."""
    if not forms.ActionForm().validate_on_submit():
        raise _Expired()
    try:
        result = change()
    except services.NotFound:
        db.session.rollback()
        abort(404)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return None
    db.session.commit()
    if done:
        flash(done, "success")
    return result


def _back(place: Place, endpoint_id: int | None = None) -> Response:
    return redirect(
        place.url("endpoint_page", endpoint_id=endpoint_id) if endpoint_id else place.url("endpoints")
    )


def _expired(place: Place, endpoint_id: int | None = None) -> Response:
    flash(_l("La page a expiré : recommencez."), "error")
    return _back(place, endpoint_id)


def rotate_page(place: Place, endpoint_id: int) -> Response | str:
    try:
        rotated = _run(lambda: services.rotate_secret(acting_user(), place.shop_id, endpoint_id))
    except _Expired:
        return _expired(place, endpoint_id)
    if rotated is None:
        return _back(place, endpoint_id)
    flash(
        _l("Nouveau secret : copiez-le maintenant. L’ancien signe encore les envois pendant 24 heures."),
        "success",
    )
    return _endpoint(place, rotated, secret=rotated.secret)


def switch_page(place: Place, endpoint_id: int, enabled: bool) -> Response:
    done = _l("Adresse réactivée.") if enabled else _l("Adresse désactivée : plus aucun envoi.")
    try:
        _run(lambda: services.set_enabled(acting_user(), place.shop_id, endpoint_id, enabled), done)
    except _Expired:
        return _expired(place, endpoint_id)
    return _back(place, endpoint_id)


def delete_page(place: Place, endpoint_id: int, confirmed: bool) -> Response:
    _found(place, endpoint_id)
    if not confirmed:
        flash(_l("Cochez la case pour confirmer la suppression."), "error")
        return _back(place, endpoint_id)
    try:
        deleted = _run(lambda: services.delete_endpoint(acting_user(), place.shop_id, endpoint_id))
    except _Expired:
        return _expired(place, endpoint_id)
    if deleted:
        flash(_l("Adresse supprimée."), "success")
        return _back(place)
    return _back(place, endpoint_id)


def replay_page(place: Place, delivery_id: int) -> Response:
    try:
        original = services.delivery(place.shop_id, delivery_id)
    except services.NotFound:
        abort(404)
    endpoint_id = original.endpoint_id
    try:
        _run(
            lambda: services.replay(acting_user(), place.shop_id, delivery_id),
            _l("Événement renvoyé : le résultat apparaît dans le journal."),
        )
    except _Expired:
        return _expired(place, endpoint_id)
    return _back(place, endpoint_id)


# -- the shop's back office -----------------------------------------------------------------------


def _shop_place(member: ShopMember) -> Place:
    return Place(
        blueprint="webhooks_backoffice",
        layout="vendors/backoffice/layout.html",
        shop_id=member.shop_id,
        url_values={"slug": member.shop.slug},
        context={"member": member, "shop": member.shop},
    )


@blueprint.route("/<slug>/webhooks", methods=["GET", "POST"])
@shop_member(Permission.API_KEYS)
def endpoints(member: ShopMember) -> Response | str:
    return show_list(_shop_place(member))


@blueprint.route("/<slug>/webhooks/<int:endpoint_id>", methods=["GET", "POST"])
@shop_member(Permission.API_KEYS)
def endpoint_page(member: ShopMember, endpoint_id: int) -> Response | str:
    return show_endpoint(_shop_place(member), endpoint_id)


@blueprint.route("/<slug>/webhooks/<int:endpoint_id>/secret", methods=["POST"])
@shop_member(Permission.API_KEYS)
def rotate_secret(member: ShopMember, endpoint_id: int) -> Response | str:
    return rotate_page(_shop_place(member), endpoint_id)


@blueprint.route("/<slug>/webhooks/<int:endpoint_id>/activer", methods=["POST"])
@shop_member(Permission.API_KEYS)
def enable(member: ShopMember, endpoint_id: int) -> Response:
    return switch_page(_shop_place(member), endpoint_id, True)


@blueprint.route("/<slug>/webhooks/<int:endpoint_id>/desactiver", methods=["POST"])
@shop_member(Permission.API_KEYS)
def disable(member: ShopMember, endpoint_id: int) -> Response:
    return switch_page(_shop_place(member), endpoint_id, False)


@blueprint.route("/<slug>/webhooks/<int:endpoint_id>/supprimer", methods=["POST"])
@shop_member(Permission.API_KEYS)
def delete_endpoint(member: ShopMember, endpoint_id: int) -> Response:
    return delete_page(_shop_place(member), endpoint_id, request.form.get("confirm") == "oui")


@blueprint.route("/<slug>/webhooks/envois/<int:delivery_id>/renvoyer", methods=["POST"])
@shop_member(Permission.API_KEYS)
def replay_delivery(member: ShopMember, delivery_id: int) -> Response:
    return replay_page(_shop_place(member), delivery_id)
