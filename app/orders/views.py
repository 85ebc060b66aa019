"""The shopper's side of orders: checkout, payment, the order pages, cancellation, withdrawal, documents.

Thin views: the form is validated, one service call does the work, the view commits once.
"""

from __future__ import annotations

import io
import secrets

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import login_required
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from app.accounts.auth import acting_user
from app.cart import services as cart_services
from app.extensions import db, limiter
from app.forms import commit_or_say, show_error
from app.orders import forms, services
from app.orders.models import Order, OrderStatus, VendorOrder
from app.urls import external_url
from payouts import gateway

blueprint = Blueprint("orders", __name__)


def _order(number: str, lock: bool = False) -> Order:
    try:
        return services.shopper_order(acting_user(), number, lock=lock)
    except services.OrderError:
        abort(404)


def _part(number: str, vendor_order_id: int, lock: bool = False) -> VendorOrder:
    try:
        return services.shopper_part(acting_user(), number, vendor_order_id, lock=lock)
    except services.OrderError:
        abort(404)


# -- checkout -------------------------------------------------------------------------------------


@blueprint.route("/commande", methods=["GET", "POST"])
@login_required
def checkout() -> Response | str:
    shopper = acting_user()
    cart = cart_services.find_cart(shopper, None)
    if request.method == "POST":
        # A form already used (a double click, a resent post) is answered with its order, whatever the
        # cart holds now. Looked up after reading the cart: the order and the emptied cart are committed
        # together, so a cart seen empty is always followed by the order found here. Else the cart is
        # read again under its lock: a checkout of this cart committing while it was read above may have
        # left its lines as they were and its deliveries as they are (two statements), and this answer
        # would then ask for a delivery rather than say it is empty.
        try:
            placed, cart = services.placed_or_locked(shopper, cart, request.form.get("checkout_token", ""))
        except services.OrderError as error:
            flash(error.message, "error")
            return redirect(url_for("cart.show"))
        if placed is not None:
            return _to_order(placed)
    summary = cart_services.summary(cart)
    if cart is None or not summary.ready:
        for problem in summary.problems or [_l("Votre panier est vide.")]:
            flash(problem, "warning")
        return redirect(url_for("cart.show"))
    address_needed = services.needs_address(part.chosen.method for part in summary.parts if part.chosen)
    addresses = services.saved_addresses(shopper)
    form = forms.CheckoutForm(address_needed=address_needed)
    form.address_id.choices = [SelectChoice(0, _l("Nouvelle adresse"))]
    form.address_id.choices += [SelectChoice(address.id, str(address)) for address in addresses]
    if request.method == "GET":
        form.checkout_token.data = secrets.token_urlsafe(32)
        form.email.data = shopper.email
        form.full_name.data = f"{shopper.first_name} {shopper.last_name}"
        if addresses:
            latest = addresses[0]
            form.address_id.data = latest.id
            form.full_name.data, form.phone.data = latest.full_name, latest.phone
            form.street.data, form.postcode.data = latest.street, latest.postcode
            form.city.data, form.country.data = latest.city, latest.country
        elif cart.postcode:
            form.postcode.data = cart.postcode
    if form.validate_on_submit():
        contact = services.Contact(
            email=form.email.data.lower(),
            full_name=form.full_name.data,
            phone=form.phone.data,
            street=form.street.data or "",
            postcode=form.postcode.data or "",
            city=form.city.data or "",
            country=form.country.data or "FR",
            company=form.company_name.data or "",
            siren=form.siren.data or "",
            vat_number=form.vat_number.data or "",
        )
        try:
            order = services.place_order(
                shopper, cart, contact, form.checkout_token.data or "", current_app.config["TERMS_VERSION"]
            )
            if address_needed and form.save_address.data:
                services.remember_address(shopper, contact)
        except services.OrderError as error:
            db.session.rollback()
            # The cart as it is now: another tab may have ordered it, or stock may have run out meanwhile.
            summary = cart_services.summary(cart_services.find_cart(shopper, None))
            if not summary.ready:
                flash(error.message, "warning")
                return redirect(url_for("cart.show"))
            show_error(form, error)
        else:
            db.session.commit()
            _start_payment(order)
            return _to_order(order)
    return render_template(
        "orders/checkout.html", form=form, summary=summary, address_needed=address_needed, addresses=addresses
    )


def _to_order(order: Order) -> Response:
    """Where a placed order takes the shopper: its payment while it awaits one, else the order itself."""
    if order.status == OrderStatus.PENDING_PAYMENT:
        return redirect(url_for(".payment", number=order.number))
    return redirect(url_for(".detail", number=order.number))


def _start_payment(order: Order) -> None:
    """Create the PaymentIntent now if Stripe answers; otherwise the payment page tries again."""
    try:
        services.start_payment(order)
    except gateway.StripeError:
        db.session.rollback()
        current_app.logger.warning("PaymentIntent for %s not created yet", order.number, exc_info=True)
    else:
        db.session.commit()


# -- payment --------------------------------------------------------------------------------------


def _payment_form() -> forms.PaymentForm:
    return forms.EmulatorCardForm() if gateway.emulated() else forms.PaymentForm()


@blueprint.route("/commandes/<number>/paiement", methods=["GET", "POST"])
@login_required
@limiter.limit("20 per minute", methods=["POST"])
def payment(number: str) -> Response | str:
    order = _order(number)
    if order.status == OrderStatus.PAID:
        if request.method == "POST":
            # The form posted again (a double click, a tab left open) is answered as the post that paid.
            return redirect(url_for(".detail", number=number, merci=1))
        return redirect(url_for(".detail", number=number))
    if order.status != OrderStatus.PENDING_PAYMENT:
        flash(_l("Cette commande n’est plus en attente de paiement."), "warning")
        return redirect(url_for(".detail", number=number))
    form = _payment_form()
    if form.validate_on_submit():
        return_url = external_url("orders.payment_return", number=number)
        try:
            outcome = services.pay(
                acting_user(), number, form.payment_method.data, return_url, form.attempt.data or ""
            )
        except services.OrderError as error:
            db.session.rollback()
            flash(error.message, "error")
            return redirect(url_for(".payment", number=number))
        db.session.commit()
        if outcome.redirect_url:
            return redirect(outcome.redirect_url)
        if outcome.error:  # the payment page says why, and offers to try again
            return redirect(url_for(".payment", number=number))
        return redirect(url_for(".detail", number=number, merci=1))
    if not order.payment_intent_id:
        _start_payment(order)
    form.attempt.data = secrets.token_urlsafe(16)
    return render_template(
        "orders/payment.html",
        order=order,
        form=form,
        emulated=gateway.emulated(),
        error=services.payment_error_message(order.payment_error) if order.payment_error else None,
    )


@blueprint.route("/commandes/<number>/paiement/retour")
@login_required
def payment_return(number: str) -> Response:
    """Back from the bank's authentication page: the PaymentIntent says how it went."""
    order = _order(number, lock=True)
    try:
        services.refresh_payment(order)
    except gateway.StripeError:
        db.session.rollback()
        flash(
            _l("Nous n’avons pas encore la réponse de la banque : rechargez la page dans un instant."),
            "warning",
        )
        return redirect(url_for(".detail", number=number))
    db.session.commit()
    if order.status == OrderStatus.PAID:
        return redirect(url_for(".detail", number=number, merci=1))
    return redirect(url_for(".payment", number=number))


# -- the shopper's orders -------------------------------------------------------------------------


@blueprint.route("/compte/commandes")
@login_required
def history() -> str:
    shopper = acting_user()
    return render_template(
        "orders/history.html",
        orders=services.shopper_orders(shopper),
        addresses=services.saved_addresses(shopper),
        form=forms.ActionForm(),
        status_label=services.status_label,
    )


@blueprint.route("/compte/adresses/<int:address_id>/supprimer", methods=["POST"])
@login_required
def forget_address(address_id: int) -> Response:
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    try:
        services.forget_address(acting_user(), address_id)
    except services.OrderError:
        abort(404)  # another shopper's address, or one already deleted: as if it never existed
    db.session.commit()
    flash(_l("Adresse supprimée."), "success")
    return redirect(url_for(".history") + "#adresses")


@blueprint.route("/commandes/<number>")
@login_required
def detail(number: str) -> str:
    order = _order(number)
    return render_template(
        "orders/detail.html",
        order=order,
        thanks=request.args.get("merci") == "1" and order.status == OrderStatus.PAID,
        form=forms.ActionForm(),
        services=services,
        status_label=services.status_label,
    )


@blueprint.route("/commandes/<number>/boutique/<int:vendor_order_id>/retrait.svg")
@login_required
def pickup_qr(number: str, vendor_order_id: int) -> Response:
    """The pickup code as a QR code, for the shop to scan or read at the counter."""
    import segno

    part = _part(number, vendor_order_id)
    if not part.pickup_code:
        abort(404)
    buffer = io.BytesIO()
    segno.make(f"{part.order.number} {part.pickup_code}", error="m").save(
        buffer, kind="svg", scale=6, border=2
    )
    return Response(
        buffer.getvalue(), mimetype="image/svg+xml", headers={"Cache-Control": "private, no-store"}
    )


@blueprint.route("/commandes/<number>/boutique/<int:vendor_order_id>/annuler", methods=["POST"])
@login_required
def cancel(number: str, vendor_order_id: int) -> Response:
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    part = _part(number, vendor_order_id, lock=True)
    commit_or_say(lambda: services.cancel_by_shopper(part), _l("Commande annulée : vous êtes remboursé."))
    return redirect(url_for(".detail", number=number))


@blueprint.route("/commandes/<number>/boutique/<int:vendor_order_id>/retractation", methods=["GET", "POST"])
@login_required
def withdraw(number: str, vendor_order_id: int) -> Response | str:
    part = _part(number, vendor_order_id, lock=request.method == "POST")
    form = forms.WithdrawalForm()
    if form.validate_on_submit():
        quantities = {line.id: request.form.get(f"quantity-{line.id}", "0") for line in part.lines}
        if commit_or_say(
            lambda: services.request_withdrawal(part, quantities, form.reason.data or ""),
            _l("Rétractation enregistrée : renvoyez les articles à la boutique, le remboursement suivra."),
        ):
            return redirect(url_for(".detail", number=number))
    return render_template(
        "orders/withdraw.html",
        part=part,
        form=form,
        left=services.returnable(part),
        deadline=services.withdrawal_deadline(part),
        open=services.can_withdraw(part),
    )


@blueprint.route("/commandes/<number>/commander-a-nouveau", methods=["POST"])
@login_required
def reorder(number: str) -> Response:
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    order = _order(number)
    cart = cart_services.open_cart(acting_user(), None)
    skipped = services.reorder(order, cart)
    db.session.commit()
    for message in skipped:
        flash(message, "warning")
    flash(_l("Les articles de la commande sont dans votre panier."), "success")
    return redirect(url_for("cart.show"))


# -- documents ------------------------------------------------------------------------------------


@blueprint.route("/commandes/<number>/boutique/<int:vendor_order_id>/facture.pdf")
@login_required
def invoice(number: str, vendor_order_id: int) -> Response:
    from app.orders import documents  # fpdf, loaded by the first PDF asked for, not by every worker
    from app.pdf import download

    part = _part(number, vendor_order_id)
    if not part.invoice_number:
        abort(404)
    return download(documents.invoice_pdf(part), f"facture-{part.invoice_number}.pdf")


@blueprint.route("/commandes/<number>/boutique/<int:vendor_order_id>/avoirs/<int:credit_note_id>.pdf")
@login_required
def credit_note(number: str, vendor_order_id: int, credit_note_id: int) -> Response:
    from app.orders import documents
    from app.pdf import download

    note = services.part_credit_note(_part(number, vendor_order_id), credit_note_id)
    if note is None:
        abort(404)
    return download(documents.credit_note_pdf(note), f"avoir-{note.number}.pdf")


@blueprint.route("/commandes/<number>/boutique/<int:vendor_order_id>/formulaire-retractation.pdf")
@login_required
def withdrawal_form(number: str, vendor_order_id: int) -> Response:
    from app.orders import documents
    from app.pdf import download

    part = _part(number, vendor_order_id)
    return download(documents.withdrawal_form_pdf(part), f"retractation-{part.order.number}.pdf")


@blueprint.route("/formulaire-retractation.pdf")
def blank_withdrawal_form() -> Response:
    from app.orders import documents
    from app.pdf import download

    return download(documents.withdrawal_form_pdf(None), "formulaire-retractation.pdf")
