"""The manager's orders (``/gestion/commandes``): find an order by its number, the shopper, a shop, a state
or dates; see all of it (parts, payment, transfers, refunds, returns, e-mails sent, audit trail); send an
e-mail again, cancel a part on the shop's behalf, give a goodwill refund, allocate a refund made on
Stripe's dashboard, offer a failed refund again."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from app.accounts.auth import acting_user, manager_required
from app.database import locked
from app.extensions import db
from app.forms import commit_or_say, show_error
from app.orders import forms, services
from app.orders.models import ExternalRefund, Order, Refund, RefundStatus, ReturnStatus, VendorOrder
from app.routing import parse_id, parse_page
from payouts.models import TransferStatus
from vendors.models import Shop

blueprint = Blueprint("orders_admin", __name__, url_prefix="/gestion")

MAX_QUERY = 254  # an e-mail address at most
# Dates the search accepts: any order of the marketplace lies well within, and the town's midnight of
# each is a datetime Python can hold (the year 1 or 9999 cannot be moved to UTC).
FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2099, 12, 31)

REFUND_STATUS_LABELS = {
    RefundStatus.PENDING: _l("en cours chez Stripe"),
    RefundStatus.SUCCEEDED: _l("effectué"),
    RefundStatus.FAILED: _l("échoué"),
}
# A PaymentIntent's states, as Stripe names them.
PAYMENT_STATUS_LABELS = {
    "requires_payment_method": _l("en attente d’un moyen de paiement"),
    "requires_confirmation": _l("à confirmer"),
    "requires_action": _l("en attente d’authentification (3-D Secure)"),
    "processing": _l("en cours"),
    "requires_capture": _l("autorisé, à encaisser"),
    "canceled": _l("annulé"),
    "succeeded": _l("encaissé"),
}
TRANSFER_STATUS_LABELS = {
    TransferStatus.WAITING: _l("en attente : la boutique ne peut pas encore recevoir de virement"),
    TransferStatus.PAID: _l("versé à la boutique"),
    TransferStatus.FAILED: _l("refusé par Stripe, sera retenté"),
    TransferStatus.NETTED: _l("rien à verser : compensé par des remboursements"),
}
RETURN_STATUS_LABELS = {
    ReturnStatus.REQUESTED: _l("demandée, articles en retour"),
    ReturnStatus.RECEIVED: _l("articles reçus"),
    ReturnStatus.REFUNDED: _l("close"),
}
AUDIT_LABELS = {
    "order.goodwill_refund": _l("Geste commercial"),
    "order.cancelled_for_shop": _l("Annulée au nom de la boutique"),
    "order.email_resent": _l("E-mail renvoyé au client"),
    "order.refund_retried": _l("Remboursement échoué proposé à nouveau"),
    "order.external_refund_allocated": _l("Remboursement fait sur Stripe réparti"),
}
EMAIL_LABELS = {
    **services.RESENDABLE,
    "orders/late_payment": _l("Paiement arrivé trop tard, remboursé"),
    "orders/return_closed": _l("Retour reçu, sans remboursement"),
    "orders/new_order": _l("Nouvelle commande (à la boutique)"),
    "orders/return_requested": _l("Rétractation (à la boutique)"),
    "orders/cancelled_for_shop": _l("Annulation par la gestion (à la boutique)"),
    "reviews/request": _l("Demande d’avis"),
}


def _order(number: str) -> Order:
    order = services.console_order(number[:40])
    if order is None:
        abort(404)
    return order


def _part(order: Order, vendor_order_id: int, lock: bool = False) -> VendorOrder:
    query = sa.select(VendorOrder).where(VendorOrder.id == vendor_order_id, VendorOrder.order_id == order.id)
    part = db.session.scalar(locked(query) if lock else query)
    if part is None:
        abort(404)
    return part


def _day(args: MultiDict[str, str], name: str, notices: list[Any]) -> dt.date | None:
    raw = (args.get(name) or "").strip()
    if not raw:
        return None
    try:
        day = dt.date.fromisoformat(raw[:10]) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None or not FIRST_DAY <= day <= LAST_DAY:
        notices.append(_l("Date « %(value)s » non reconnue : ignorée.", value=raw[:20]))
        return None
    return day


def _search(args: MultiDict[str, str]) -> tuple[services.OrderSearch, list[Any]]:
    """The criteria of the query string, each checked: what cannot be used is left out, and said."""
    notices: list[Any] = []
    shop_id = args.get("boutique", type=parse_id)
    if args.get("boutique") and (shop_id is None or db.session.get(Shop, shop_id) is None):
        notices.append(_l("Boutique inconnue : filtre ignoré."))
        shop_id = None
    state = args.get("etat") or None
    if state is not None and state not in dict(services.order_states()):
        notices.append(_l("État inconnu : filtre ignoré."))
        state = None
    created_from, created_to = _day(args, "du", notices), _day(args, "au", notices)
    if created_from and created_to and created_from > created_to:
        created_from, created_to = created_to, created_from
        notices.append(_l("Les dates étaient inversées : elles ont été remises dans l’ordre."))
    search = services.OrderSearch(
        text=(args.get("q") or "").strip()[:MAX_QUERY],
        shop_id=shop_id,
        state=state,
        created_from=created_from,
        created_to=created_to,
    )
    return search, notices


@blueprint.route("/commandes")
@manager_required
def orders() -> str:
    search, notices = _search(request.args)
    page = services.find_orders(search, request.args.get("page", 1, type=parse_page))
    return render_template(
        "orders/admin/list.html",
        search=search,
        notices=notices,
        page=page,
        shops=services.console_shops(),
        states=services.order_states(),
        queue=services.external_queue(),
        failed=services.failed_refund_list(),
        status_label=services.status_label,
    )


@blueprint.route("/commandes/<number>")
@manager_required
def order(number: str) -> str:
    return _show(_order(number))


def _show(
    order: Order,
    refund_forms: dict[int, forms.RefundForm] | None = None,
    cancel_forms: dict[int, forms.CancelForShopForm] | None = None,
) -> str:
    from app.orders.documents import REFUND_REASONS  # with fpdf: not loaded by every worker

    refund_forms = dict(refund_forms or {})
    cancel_forms = dict(cancel_forms or {})
    for part in order.vendor_orders:
        if part.id not in refund_forms:
            form = forms.RefundForm(prefix=f"part-{part.id}", formdata=None)
            form.token.data = services.new_refund_token()
            refund_forms[part.id] = form
        if part.id not in cancel_forms:
            cancel_forms[part.id] = forms.CancelForShopForm(prefix=f"cancel-{part.id}", formdata=None)
    resend_form = forms.ResendForm(formdata=None)
    resend_form.token.data = services.new_refund_token()
    return render_template(
        "orders/admin/order.html",
        order=order,
        file=services.order_file(order),
        refund_forms=refund_forms,
        cancel_forms=cancel_forms,
        resend_form=resend_form,
        form=forms.ActionForm(formdata=None),
        status_label=services.status_label,
        refund_reasons=REFUND_REASONS,
        refund_statuses=REFUND_STATUS_LABELS,
        payment_statuses=PAYMENT_STATUS_LABELS,
        transfer_statuses=TRANSFER_STATUS_LABELS,
        return_statuses=RETURN_STATUS_LABELS,
        audit_labels=AUDIT_LABELS,
        email_labels=EMAIL_LABELS,
        resendable=services.RESENDABLE,
        refundable=services.refundable_cents,
        cancellable=services.cancellable_for_shop,
    )


@blueprint.route("/commandes/<number>/parties/<int:vendor_order_id>/rembourser", methods=["POST"])
@manager_required
def goodwill(number: str, vendor_order_id: int) -> Response | tuple[str, int]:
    order = _order(number)
    _part(order, vendor_order_id)
    form = forms.RefundForm(prefix=f"part-{vendor_order_id}")
    if form.validate_on_submit():
        part = _part(order, vendor_order_id, lock=True)
        try:
            services.refund_goodwill(
                acting_user(),
                part,
                token=form.token.data or "",
                note=form.note.data or "",
                amount_cents=form.amount.data,
            )
        except services.OrderError as error:
            db.session.rollback()
            form.amount.errors = [*form.amount.errors, error.message]
        else:
            db.session.commit()
            flash(_l("Geste commercial fait : le client est prévenu."), "success")
            return redirect(url_for(".order", number=number))
    return _show(_order(number), refund_forms={vendor_order_id: form}), 400


@blueprint.route("/commandes/<number>/parties/<int:vendor_order_id>/annuler", methods=["POST"])
@manager_required
def cancel(number: str, vendor_order_id: int) -> Response | tuple[str, int]:
    order = _order(number)
    _part(order, vendor_order_id)
    form = forms.CancelForShopForm(prefix=f"cancel-{vendor_order_id}")
    if form.validate_on_submit():
        try:
            services.cancel_for_shop(acting_user(), vendor_order_id, form.reason.data or "")
        except services.OrderError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_l("Commande annulée au nom de la boutique : le client est remboursé."), "success")
            return redirect(url_for(".order", number=number))
    return _show(_order(number), cancel_forms={vendor_order_id: form}), 400


@blueprint.route("/commandes/<number>/emails/<int:email_id>/renvoyer", methods=["POST"])
@manager_required
def resend(number: str, email_id: int) -> Response:
    order = _order(number)
    form = forms.ResendForm()
    if not form.validate_on_submit():
        abort(400)
    commit_or_say(
        lambda: services.resend_email(acting_user(), order, email_id, form.token.data or ""),
        _l("E-mail renvoyé à %(email)s.", email=order.email),
    )
    return redirect(url_for(".order", number=number))


@blueprint.route("/commandes/remboursements-stripe/<int:outside_id>", methods=["POST"])
@manager_required
def allocate(outside_id: int) -> Response:
    outside = db.session.get(ExternalRefund, outside_id)
    if outside is None or not forms.ActionForm().validate_on_submit():
        abort(404 if outside is None else 400)
    number = outside.order.number
    amounts: dict[int, Any] = {
        part.id: request.form.get(f"part-{part.id}", "") for part in outside.order.vendor_orders
    }
    commit_or_say(
        lambda: services.allocate_external(acting_user(), outside_id, amounts),
        _l("Remboursement réparti entre les boutiques."),
    )
    return redirect(url_for(".order", number=number))


@blueprint.route("/commandes/remboursements/<int:refund_id>/relancer", methods=["POST"])
@manager_required
def retry(refund_id: int) -> Response:
    failed = db.session.scalar(locked(sa.select(Refund).where(Refund.id == refund_id)))
    if failed is None:
        abort(404)
    if not forms.ActionForm().validate_on_submit():
        abort(400)
    number = failed.vendor_order.order.number
    commit_or_say(
        lambda: services.retry_refund(acting_user(), failed), _l("Remboursement proposé à nouveau.")
    )
    return redirect(url_for(".order", number=number))
