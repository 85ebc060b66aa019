"""The manager's orders (``/gestion/commandes``): find an order, see its shop parts and refunds, give a
goodwill refund, allocate a refund made on Stripe's dashboard, offer a failed refund again."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from app.accounts.auth import acting_user, manager_required
from app.database import locked
from app.extensions import db
from app.forms import commit_or_say
from app.orders import forms, services
from app.orders.documents import REFUND_REASONS
from app.orders.models import ExternalRefund, Order, Refund, RefundStatus, VendorOrder

blueprint = Blueprint("orders_admin", __name__, url_prefix="/gestion")

MAX_QUERY = 254  # an e-mail address at most

REFUND_STATUS_LABELS = {
    RefundStatus.PENDING: _l("en cours chez Stripe"),
    RefundStatus.SUCCEEDED: _l("effectué"),
    RefundStatus.FAILED: _l("échoué"),
}


def _order(number: str) -> Order:
    order = db.session.scalar(sa.select(Order).where(Order.number == number))
    if order is None:
        abort(404)
    return order


def _part(order: Order, vendor_order_id: int, lock: bool = False) -> VendorOrder:
    query = sa.select(VendorOrder).where(VendorOrder.id == vendor_order_id, VendorOrder.order_id == order.id)
    part = db.session.scalar(locked(query) if lock else query)
    if part is None:
        abort(404)
    return part


@blueprint.route("/commandes")
@manager_required
def orders() -> str:
    query = (request.args.get("q") or "").strip()[:MAX_QUERY]
    return render_template(
        "orders/admin/list.html",
        query=query,
        found=services.search_orders(query) if query else [],
        queue=services.external_queue(),
        failed=services.failed_refund_list(),
        form=forms.ActionForm(),
        status_label=services.status_label,
    )


@blueprint.route("/commandes/<number>")
@manager_required
def order(number: str) -> str:
    return _show(_order(number))


def _show(order: Order, refund_forms: dict[int, forms.RefundForm] | None = None) -> str:
    refund_forms = dict(refund_forms or {})
    for part in order.vendor_orders:
        if part.id not in refund_forms:
            form = forms.RefundForm(prefix=f"part-{part.id}")
            form.token.data = services.new_refund_token()
            refund_forms[part.id] = form
    outside = list(
        db.session.scalars(
            sa.select(ExternalRefund).where(ExternalRefund.order_id == order.id).order_by(ExternalRefund.id)
        )
    )
    return render_template(
        "orders/admin/order.html",
        order=order,
        refund_forms=refund_forms,
        outside=outside,
        form=forms.ActionForm(),
        status_label=services.status_label,
        refund_reasons=REFUND_REASONS,
        refund_statuses=REFUND_STATUS_LABELS,
        refundable=services.refundable_cents,
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
    return _show(_order(number), {vendor_order_id: form}), 400


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
