"""The manager's pages for shops: the review queue, every shop's file, decisions, relay points."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from app.accounts.auth import acting_user, manager_required
from app.audit import services as audit
from app.extensions import db
from app.routing import parse_id
from vendors import forms, hours, services
from vendors.models import RelayPoint, Shop, ShopStatus

blueprint = Blueprint("vendors_admin", __name__, url_prefix="/gestion")

ACTIONS = {
    "approuver": "approved",
    "refuser": "rejected",
    "suspendre": "suspended",
    "retablir": "reinstated",
}


def _shop(shop_id: int) -> Shop:
    shop = db.session.get(Shop, shop_id)
    if shop is None:
        abort(404)
    return shop


@blueprint.route("/boutiques")
@manager_required
def shops() -> str:
    status_value = request.args.get("statut", "")
    status = ShopStatus(status_value) if status_value in {s.value for s in ShopStatus} else None
    text = request.args.get("q", "")[:100]
    category_id = request.args.get("categorie", type=parse_id)
    return render_template(
        "vendors/admin/shops.html",
        shops=services.search_shops(status, text, category_id),
        status=status,
        text=text,
        category_id=category_id,
        counts=services.status_counts(),
        categories=services.active_categories(),
    )


@blueprint.route("/boutiques/a-valider")
@manager_required
def queue() -> str:
    return render_template("vendors/admin/queue.html", shops=services.review_queue())


@blueprint.route("/boutiques/<int:shop_id>")
@manager_required
def shop(shop_id: int) -> str:
    shop = _shop(shop_id)
    return render_template(
        "vendors/admin/shop.html",
        shop=shop,
        form=forms.ReviewForm(),
        history=audit.history(services.SUBJECT, shop.id),
        schedule=hours.week(shop.opening_hours),
        weekday_names=forms.WEEKDAY_NAMES,
        missing=services.missing_steps(shop),
        actions=[
            (slug, action)
            for slug, action in ACTIONS.items()
            if shop.status in services.TRANSITIONS[action][0]
        ],
    )


@blueprint.route("/boutiques/<int:shop_id>/<action>", methods=["POST"])
@manager_required
def decide(shop_id: int, action: str) -> Response | str:
    if action not in ACTIONS:
        abort(404)
    shop = _shop(shop_id)
    form = forms.ReviewForm()
    if form.validate_on_submit():
        try:
            services.review(acting_user(), shop, ACTIONS[action], form.reason.data)
        except services.ShopError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_l("Décision enregistrée ; la boutique est prévenue par e-mail."), "success")
            return redirect(
                url_for(".queue" if ACTIONS[action] in {"approved", "rejected"} else ".shop", shop_id=shop.id)
            )
    return redirect(url_for(".shop", shop_id=shop.id))


# -- relay points ---------------------------------------------------------------------------------


@blueprint.route("/points-relais", methods=["GET", "POST"])
@manager_required
def relay_points() -> Response | str:
    form = forms.RelayPointForm()
    if form.validate_on_submit():
        services.save_relay_point(acting_user(), None, _relay_data(form))
        db.session.commit()
        flash(_l("Point relais ajouté."), "success")
        return redirect(url_for(".relay_points"))
    points = services.all_relay_points()
    return render_template(
        "vendors/admin/relay_points.html",
        form=form,
        points=points,
        usage={point.id: services.shops_using(point) for point in points},
        action_form=forms.ReviewForm(),
    )


@blueprint.route("/points-relais/<int:point_id>", methods=["GET", "POST"])
@manager_required
def relay_point(point_id: int) -> Response | str:
    point = db.session.get(RelayPoint, point_id)
    if point is None:
        abort(404)
    form = forms.RelayPointForm(obj=point)
    if form.validate_on_submit():
        services.save_relay_point(acting_user(), point, _relay_data(form))
        db.session.commit()
        flash(_l("Point relais enregistré."), "success")
        return redirect(url_for(".relay_points"))
    return render_template("vendors/admin/relay_point.html", form=form, point=point)


@blueprint.route("/points-relais/<int:point_id>/archiver", methods=["POST"])
@manager_required
def archive_relay_point(point_id: int) -> Response:
    point = db.session.get(RelayPoint, point_id)
    if point is None:
        abort(404)
    if forms.ReviewForm().validate_on_submit() and point.archived_at is None:
        services.archive_relay_point(acting_user(), point)
        db.session.commit()
        flash(_l("Point relais retiré : les boutiques ne le proposent plus."), "success")
    return redirect(url_for(".relay_points"))


def _relay_data(form: forms.RelayPointForm) -> services.RelayPointData:
    return services.RelayPointData(
        name=form.name.data,
        street=form.street.data,
        postcode=form.postcode.data,
        city=form.city.data,
        latitude=form.latitude.data,
        longitude=form.longitude.data,
        opening_notes=form.opening_notes.data or "",
    )
