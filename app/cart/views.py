"""The cart page and its buttons. Guests keep their cart's token in their session."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, abort, flash, g, redirect, render_template, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, user_logged_in
from werkzeug.wrappers import Response

from app.accounts.auth import safe_next
from app.accounts.models import User
from app.cart import services, slots
from app.cart.forms import CartForm
from app.cart.models import Cart
from app.extensions import db
from app.forms import commit_or_say
from app.visits import services as visits

blueprint = Blueprint("cart", __name__)
TOKEN_KEY = "cart_token"  # noqa: S105 - the session key of a guest's cart, not a secret


def _shopper() -> User | None:
    return current_user if current_user.is_authenticated else None


def _cart(create: bool = False) -> Cart | None:
    token = session.get(TOKEN_KEY)
    if not create:
        return services.find_cart(_shopper(), token)
    cart = services.open_cart(_shopper(), token)
    if cart.token:
        session[TOKEN_KEY] = cart.token
    return cart


def _back() -> Response:
    """Back where the button was (a product page), or to the cart."""
    return redirect(safe_next(request.form.get("next"), "cart.show"))


def _posted() -> None:
    if not CartForm().validate_on_submit():
        abort(400)


@blueprint.route("/panier")
def show() -> str:
    cart = _cart()
    g.cart_count = sum(item.quantity for item in cart.items) if cart else 0  # the badge, without a query
    # Showing the cart: the pickup slots may come from the shops' hours as this process keeps them; the
    # choice of a slot and the checkout check it against the hours read afresh.
    summary = services.summary(cart, fresh=False)
    return render_template("cart/cart.html", summary=summary, form=CartForm())


@blueprint.route("/panier/ajouter", methods=["POST"])
def add() -> Response:
    _posted()
    cart = _cart(create=True)
    assert cart is not None
    item = commit_or_say(
        lambda: services.add(cart, request.form.get("variant_id"), request.form.get("quantity", "1"))
    )
    if item:
        flash(_l("« %(title)s » est dans votre panier.", title=item.variant.product.title), "success")
        visits.count_cart_add(item.variant.product.shop_id, item.variant.product_id)
    return _back()


@blueprint.route("/panier/ligne/<int:item_id>", methods=["POST"])
def change(item_id: int) -> Response:
    _posted()
    cart = _cart()
    if cart is not None:
        if "remove" in request.form:
            commit_or_say(lambda: services.remove(cart, item_id))
        else:
            commit_or_say(lambda: services.set_quantity(cart, item_id, request.form.get("quantity")))
    return redirect(url_for("cart.show"))


@blueprint.route("/panier/livraison/<int:shop_id>", methods=["POST"])
def delivery(shop_id: int) -> Response:
    _posted()
    cart = _cart()
    if cart is not None:
        method, relay = request.form.get("method", ""), request.form.get("relay_point")
        slot = request.form.get("pickup_slot")
        commit_or_say(lambda: services.choose_delivery(cart, shop_id, method, relay, slot))
    return redirect(url_for("cart.show") + f"#boutique-{shop_id}")


@blueprint.route("/panier/code-postal", methods=["POST"])
def postcode() -> Response:
    _posted()
    cart = _cart(create=True)
    assert cart is not None
    commit_or_say(lambda: services.set_postcode(cart, request.form.get("postcode", "")))
    return redirect(url_for("cart.show"))


def _cart_badge() -> dict[str, Any]:
    if "cart_count" in g:
        return {"cart_count": g.cart_count}
    return {"cart_count": services.item_count(_shopper(), session.get(TOKEN_KEY))}


def _merge_at_login(app: Flask, user: User, **extra: Any) -> None:
    """A guest's cart joins the account's cart when they log in."""
    token = session.pop(TOKEN_KEY, None)
    guest = services.find_cart(None, token) if token else None
    if guest is None:
        return
    account = services.open_cart(user, None)
    lowered = services.merge(guest, account)
    db.session.commit()
    for title in lowered:
        flash(
            _l("« %(title)s » : la quantité de votre panier a été ajustée au stock.", title=title), "warning"
        )


def init_app(app: Flask) -> None:
    app.context_processor(_cart_badge)
    app.add_template_filter(slots.pickup_days, "pickup_days")
    app.add_template_filter(slots.hours_label, "slot_hours")
    user_logged_in.connect(_merge_at_login, app)
