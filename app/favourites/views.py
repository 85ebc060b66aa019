"""The favourites page and its buttons (hearts on products, "Suivre" on shops), the weekly e-mail's
setting and its unsubscribe link. Guests keep their favourites in their session until they log in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, user_logged_in
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from werkzeug.wrappers import Response

from app.accounts.auth import acting_user, safe_next
from app.accounts.models import User
from app.caching import macro_html
from app.extensions import csrf, db
from app.favourites import services
from app.forms import commit_or_say

blueprint = Blueprint("favourites", __name__)
GUEST_KEY = "favourites"


def _shopper() -> User | None:
    return acting_user() if current_user.is_authenticated else None


def _posted() -> None:
    if not FlaskForm().validate_on_submit():
        abort(400)


def _back() -> Response:
    return redirect(safe_next(request.form.get("next"), "favourites.show"))


def _guest_change(change: Any) -> Any:
    """Run a guest's change on their session's favourites; a refusal is flashed. Returns the subject
    (a product or a shop), True when there is none, or None when refused."""
    try:
        result = change(session.get(GUEST_KEY))
    except services.FavouriteError as error:
        flash(error.message, "error")
        return None
    kept, subject = result if isinstance(result, tuple) else (result, True)
    session[GUEST_KEY] = kept
    return subject


@blueprint.route("/favoris")
def show() -> str:
    user = _shopper()
    return render_template(
        "favourites/favourites.html",
        favourites=services.favourites(user, session.get(GUEST_KEY)),
        weekly=services.weekly_enabled(user) if user is not None else False,
        form=FlaskForm(),
    )


@blueprint.route("/favoris/produits/<int:product_id>", methods=["POST"])
def product(product_id: int) -> Response:
    """Save a product, or take it out (``action=retirer``)."""
    _posted()
    user = _shopper()
    removing = request.form.get("action") == "retirer"
    if removing:
        if user is not None:
            commit_or_say(lambda: services.remove_product(user, product_id))
        else:
            _guest_change(lambda guest: services.guest_remove_product(guest, product_id))
        flash(_l("Retiré de vos favoris."), "success")
        return _back()
    if user is not None:
        saved = commit_or_say(lambda: services.save_product(user, product_id))
    else:
        saved = _guest_change(lambda guest: services.guest_save_product(guest, product_id))
    if saved:
        flash(_l("« %(title)s » est dans vos favoris.", title=saved.title), "success")
    return _back()


@blueprint.route("/favoris/boutiques/<int:shop_id>", methods=["POST"])
def shop(shop_id: int) -> Response:
    """Follow a shop, or stop following it (``action=retirer``)."""
    _posted()
    user = _shopper()
    if request.form.get("action") == "retirer":
        if user is not None:
            commit_or_say(lambda: services.unfollow_shop(user, shop_id))
        else:
            _guest_change(lambda guest: services.guest_unfollow_shop(guest, shop_id))
        flash(_l("Vous ne suivez plus cette boutique."), "success")
        return _back()
    if user is not None:
        followed = commit_or_say(lambda: services.follow_shop(user, shop_id))
    else:
        followed = _guest_change(lambda guest: services.guest_follow_shop(guest, shop_id))
    if followed:
        flash(_l("Vous suivez %(name)s.", name=followed.name), "success")
    return _back()


@blueprint.route("/favoris/lettre", methods=["POST"])
@login_required
def weekly() -> Response:
    """The account's checkbox: the weekly e-mail of favourites, on or off."""
    _posted()
    enabled = request.form.get("weekly") == "1"
    commit_or_say(
        lambda: services.set_weekly(acting_user(), enabled),
        _l("Vous recevrez chaque semaine les nouveautés de vos favoris.")
        if enabled
        else _l("Vous ne recevrez plus l’e-mail hebdomadaire de vos favoris."),
    )
    return redirect(safe_next(request.form.get("next"), "favourites.show"))


@blueprint.route("/favoris/desabonnement/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed token is the proof; mail clients post here for one-click unsubscribe (RFC 8058)
def unsubscribe(token: str) -> str | tuple[str, int]:
    """GET shows one button (link checkers open links: a GET changes nothing); POST unsubscribes."""
    if request.method == "GET":
        try:
            services.token_user(token)
        except services.FavouriteError as error:
            return render_template("favourites/unsubscribe.html", error=error.message), 400
        return render_template("favourites/unsubscribe.html", token=token, done=False)
    try:
        services.unsubscribe(token)
    except services.FavouriteError as error:
        db.session.rollback()
        return render_template("favourites/unsubscribe.html", error=error.message), 400
    db.session.commit()
    return render_template("favourites/unsubscribe.html", done=True)


# -- what every page needs --------------------------------------------------------------------------


def favourite_ids() -> services.FavouriteIds:
    """The ids the current visitor saved or follows, read once per request (for the buttons)."""
    if "favourite_ids" not in g:
        g.favourite_ids = services.favourite_ids(_shopper(), session.get(GUEST_KEY))
    ids: services.FavouriteIds = g.favourite_ids
    return ids


@dataclass(frozen=True)
class HeartForm:
    """What every heart of a page shares (its token, where it comes back, its words): worked out once
    per request rather than once per card, as a listing draws a few dozen of them."""

    token: str
    back: str
    title_saved: str
    title_unsaved: str
    text_saved: str
    text_unsaved: str


def heart_form() -> HeartForm:
    if "heart_form" not in g:
        g.heart_form = HeartForm(
            token=generate_csrf(),
            back=request.full_path.rstrip("?"),
            title_saved=_("Retirer de mes favoris"),
            title_unsaved=_("Ajouter à mes favoris"),
            text_saved=_("Dans mes favoris"),
            text_unsaved=_("Ajouter à mes favoris"),
        )
    form: HeartForm = g.heart_form
    return form


@dataclass(frozen=True)
class _Placeholder:
    id: int = 9007199254740993  # no product's: stands for the id in a heart drawn once per request


def card_heart(product_id: int) -> Markup:
    """A product card's heart (``save_button``, compact). A listing draws dozens that differ only by
    the product's id and whether it is saved: each of the two is drawn once per request, the id put in."""
    saved = product_id in favourite_ids().products
    drawn: dict[bool, str] = g.setdefault("card_hearts", {})
    if saved not in drawn:
        drawn[saved] = str(
            macro_html("favourites/_buttons.html", "save_button", _Placeholder(), compact=True, saved=saved)
        )
    # Our template, autoescaped; an integer put in.
    return Markup(drawn[saved].replace(str(_Placeholder.id), str(int(product_id))))  # noqa: S704


def _merge_at_login(app: Flask, user: User, **extra: Any) -> None:
    """A guest's favourites join the account when they log in."""
    guest = session.pop(GUEST_KEY, None)
    if not guest:
        return
    services.merge_guest(user, guest)
    db.session.commit()


def init_app(app: Flask) -> None:
    app.jinja_env.globals["favourite_ids"] = favourite_ids
    app.jinja_env.globals["heart_form"] = heart_form
    app.jinja_env.globals["card_heart"] = card_heart
    app.jinja_env.globals["weekly_favourites"] = lambda: (
        services.weekly_enabled(acting_user()) if current_user.is_authenticated else False
    )
    user_logged_in.connect(_merge_at_login, app)
