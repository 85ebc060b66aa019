"""Public pages of the shops: the directory, each storefront, and joining a shop's team."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup
from werkzeug.wrappers import Response

from app.accounts.auth import acting_user
from app.caching import Fragments
from app.database import utcnow
from app.extensions import db
from app.routing import parse_page
from app.templating import de_shop
from app.visits import services as visits
from vendors import geo, hours, services

blueprint = Blueprint("vendors", __name__)

# The directory's shop cards drawn, by what they were drawn from (see directory_card).
shop_cards = Fragments(500)


@blueprint.app_template_global()
def directory_card(
    entry: services.DirectoryEntry, near: tuple[float, float] | None, brief: bool = False
) -> Markup:
    """A shop's card in the directory, or (``brief``) among a category page's shops
    (``vendors/_directory_card.html``), drawn once per process for the same shop, state, distance, link
    and language: a town's directory draws every shop on each view."""
    shop = entry.shop
    category = getattr(shop, "category", None)
    key = (
        shop.slug,
        shop.name,
        shop.banner_path,
        (category.name, category.name_en) if category is not None else None,
        tuple(getattr(shop, "delivery_methods", ())),
        entry.distance_km,
        entry.state,
        near,
        brief,
    )
    return shop_cards.macro(key, "vendors/_directory_card.html", "directory_card_html", entry, near, brief)


@blueprint.route("/boutiques")
def directory() -> str:
    category_slug = request.args.get("categorie", "")
    category = services.category_by_slug(category_slug) if category_slug else None
    if category_slug and category is None:
        abort(404)
    near, street = geo.point_from_args(request.args)
    return render_template(
        "vendors/directory.html",
        entries=services.directory(category, near, utcnow()),
        category=category,
        categories=services.directory_categories(),
        near=near,
        street=street,
        street_unknown=bool(street) and near is None,
        street_names=geo.street_names(),
    )


@blueprint.route("/boutiques/<slug>")
def storefront(slug: str) -> str:
    shop = services.public_shop(slug)
    preview = False
    if shop is None and current_user.is_authenticated:
        # Members and managers may look at a shop before it opens, with a banner saying so.
        member = services.membership(acting_user(), slug)
        if member is not None:
            shop, preview = member.shop, True
        elif acting_user().is_manager:
            shop = services.shop_by_slug(slug)
            preview = shop is not None
    if shop is None:
        abort(404)
    if not preview:
        visits.count_view(shop.id)
    near, street = geo.point_from_args(request.args)
    distance = geo.distance_from(near, shop.latitude, shop.longitude)
    now = utcnow()
    # Its week and its closures to come, as this process keeps them.
    opening, coming = services.shop_schedules([shop.id], now, fresh=False)[shop.id]
    from app.catalog import services as catalog

    return render_template(
        "vendors/storefront.html",
        shop=shop,
        products=catalog.public_products(shop=shop, page=request.args.get("page", 1, type=parse_page)),
        preview=preview,
        schedule=hours.week(opening),
        open_state=hours.open_state(opening, coming, now),
        upcoming_closures=coming,
        distance=distance,
        street=street,
    )


@blueprint.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> Response | str:
    try:
        invitation = services.invitation_from_token(token)
    except services.ShopError as error:
        return render_template("vendors/invitation_invalid.html", message=error.message), 400  # type: ignore[return-value]
    form = FlaskForm()
    if current_user.is_authenticated and form.validate_on_submit():
        try:
            member = services.accept_invitation(acting_user(), token)
        except services.ShopError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_l("Bienvenue dans l’équipe %(de_shop)s !", de_shop=de_shop(member.shop.name)), "success")
            return redirect(url_for("vendors_backoffice.dashboard", slug=member.shop.slug))
    return render_template("vendors/invitation.html", invitation=invitation, form=form, token=token)
