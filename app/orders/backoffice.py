"""The shop's orders in its back office (``/vendeur/<slug>/commandes``).

Every page resolves the shop through the person's membership; an order of another shop is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from app.extensions import db
from app.forms import commit_or_say
from app.orders import forms, services
from app.orders.models import VendorOrder, VendorOrderStatus
from app.permissions import Permission
from vendors.backoffice import shop_member
from vendors.models import ShopMember

blueprint = Blueprint("orders_backoffice", __name__, url_prefix="/vendeur")

# The list's tabs: what needs the shop now first.
TABS = {
    "a-traiter": (VendorOrderStatus.PAID, _l("À accepter")),
    "en-preparation": (VendorOrderStatus.ACCEPTED, _l("En préparation")),
    "a-retirer": (VendorOrderStatus.READY_FOR_PICKUP, _l("À retirer")),
    "expediees": (VendorOrderStatus.SHIPPED, _l("Expédiées")),
    "retours": (VendorOrderStatus.RETURN_REQUESTED, _l("Retours")),
}


def _part(member: ShopMember, vendor_order_id: int, lock: bool = False) -> VendorOrder:
    try:
        return services.shop_part(member.shop, vendor_order_id, lock=lock)
    except services.OrderError:
        abort(404)


@blueprint.app_context_processor
def _badge() -> dict[str, Any]:
    """The back office's "new orders" badge, counted only on back-office pages."""

    def count(shop: Any) -> int:
        return services.awaiting_count(shop)

    return {"orders_awaiting": count}


@blueprint.route("/<slug>/commandes")
@shop_member(Permission.ORDERS)
def orders(member: ShopMember) -> str:
    tab = request.args.get("etat", "")
    status = TABS[tab][0] if tab in TABS else None
    return render_template(
        "orders/backoffice/list.html",
        member=member,
        shop=member.shop,
        parts=services.shop_orders(member.shop, status),
        tabs=TABS,
        tab=tab,
        status_label=services.status_label,
    )


@blueprint.route("/<slug>/commandes/<int:vendor_order_id>")
@shop_member(Permission.ORDERS)
def detail(member: ShopMember, vendor_order_id: int) -> str:
    return _detail(member, _part(member, vendor_order_id))


def _detail(
    member: ShopMember,
    part: VendorOrder,
    refund_form: forms.RefundForm | None = None,
    cancel_form: forms.CancelForm | None = None,
) -> str:
    if refund_form is None:
        refund_form = forms.RefundForm()
        refund_form.token.data = services.new_refund_token()
    return render_template(
        "orders/backoffice/detail.html",
        member=member,
        shop=member.shop,
        part=part,
        open_return=services.open_return(part),
        form=forms.ActionForm(),
        refuse_form=forms.RefuseForm(),
        ship_form=forms.ShipForm(),
        collect_form=forms.CollectForm(),
        cancel_form=cancel_form or forms.CancelForm(),
        refund_form=refund_form,
        quantities={key: request.form.get(key, "") for key in request.form if key.startswith("quantity-")},
        failed_refunds=services.failed_refunds(part),
        status_label=services.status_label,
        deadline=services.withdrawal_deadline(part),
        refundable=services.refundable_cents(part),
    )


def _act(
    member: ShopMember, vendor_order_id: int, form: Any, change: Callable[[VendorOrder], Any], success: Any
) -> Response:
    _part(member, vendor_order_id)  # another shop's order is a 404, whatever the form holds
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
    else:
        part = _part(member, vendor_order_id, lock=True)
        commit_or_say(lambda: change(part), success)
    return redirect(url_for(".detail", slug=member.shop.slug, vendor_order_id=vendor_order_id))


@blueprint.route("/<slug>/commandes/<int:vendor_order_id>/accepter", methods=["POST"])
@shop_member(Permission.ORDERS)
def accept(member: ShopMember, vendor_order_id: int) -> Response:
    return _act(member, vendor_order_id, forms.ActionForm(), services.accept, _l("Commande acceptée."))


@blueprint.route("/<slug>/commandes/<int:vendor_order_id>/refuser", methods=["POST"])
@shop_member(Permission.ORDERS)
def refuse(member: ShopMember, vendor_order_id: int) -> Response:
    form = forms.RefuseForm()
    return _act(
        member,
        vendor_order_id,
        form,
        lambda part: services.refuse(part, form.reason.data or ""),
        _l("Commande refusée : le client est remboursé."),
    )


@blueprint.route("/<slug>/commandes/<int:vendor_order_id>/annuler", methods=["POST"])
@shop_member(Permission.ORDERS)
def cancel(member: ShopMember, vendor_order_id: int) -> Response:
    form = forms.CancelForm()
    return _act(
        member,
        vendor_order_id,
        form,
        lambda part: services.cancel_by_shop(part, form.reason.data or ""),
        _l("Commande annulée : le client est remboursé et prévenu."),
    )


@blueprint.route("/<slug>/commandes/<int:vendor_order_id>/rembourser", methods=["POST"])
@shop_member(Permission.ORDERS)
def refund(member: ShopMember, vendor_order_id: int) -> Response | tuple[str, int]:
    """A partial refund of the shop's part: by lines (``quantity-<line id>``) or by amount."""
    _part(member, vendor_order_id)  # another shop's order is a 404, whatever the form holds
    form = forms.RefundForm()
    if form.validate_on_submit():
        part = _part(member, vendor_order_id, lock=True)
        quantities = {
            line.id: request.form.get(f"quantity-{line.id}", "")
            for line in part.lines
            if request.form.get(f"quantity-{line.id}", "").strip() not in ("", "0")
        }
        try:
            services.refund_partial(
                part,
                token=form.token.data or "",
                note=form.note.data or "",
                amount_cents=None if quantities else form.amount.data,
                quantities=quantities or None,
            )
        except services.OrderError as error:
            db.session.rollback()
            form.amount.errors = [*form.amount.errors, error.message]
        else:
            db.session.commit()
            flash(_l("Remboursement fait : le client est prévenu."), "success")
            return redirect(url_for(".detail", slug=member.shop.slug, vendor_order_id=vendor_order_id))
    return _detail(member, _part(member, vendor_order_id), refund_form=form), 400


@blueprint.route("/<slug>/commandes/<int:vendor_order_id>/expedier", methods=["POST"])
@shop_member(Permission.ORDERS)
def ship(member: ShopMember, vendor_order_id: int) -> Response:
    form = forms.ShipForm()
    return _act(
        member,
        vendor_order_id,
        form,
        lambda part: services.ship(part, form.carrier.data or "", form.tracking_number.data or ""),
        _l("Commande expédiée : le client est prévenu."),
    )


@blueprint.route("/<slug>/commandes/<int:vendor_order_id>/prete", methods=["POST"])
@shop_member(Permission.ORDERS)
def ready(member: ShopMember, vendor_order_id: int) -> Response:
    return _act(
        member,
        vendor_order_id,
        forms.ActionForm(),
        services.ready_for_pickup,
        _l("Commande prête : le client a reçu son code de retrait."),
    )


@blueprint.route("/<slug>/commandes/<int:vendor_order_id>/livree", methods=["POST"])
@shop_member(Permission.ORDERS)
def delivered(member: ShopMember, vendor_order_id: int) -> Response:
    return _act(member, vendor_order_id, forms.ActionForm(), services.mark_delivered, _l("Commande livrée."))


@blueprint.route("/<slug>/commandes/<int:vendor_order_id>/retiree", methods=["POST"])
@shop_member(Permission.ORDERS)
def collected(member: ShopMember, vendor_order_id: int) -> Response:
    form = forms.CollectForm()
    return _act(
        member,
        vendor_order_id,
        form,
        lambda part: services.mark_collected(part, form.code.data or ""),
        _l("Commande remise au client."),
    )


@blueprint.route("/<slug>/commandes/<int:vendor_order_id>/retour-recu", methods=["POST"])
@shop_member(Permission.ORDERS)
def return_received(member: ShopMember, vendor_order_id: int) -> Response:
    def receive(part: VendorOrder) -> None:
        if services.receive_return(part) is None:
            flash(
                _l("Retour reçu et remis en stock : rien à rembourser, la commande n’a pas été payée."),
                "success",
            )
        else:
            flash(_l("Retour reçu : le client est remboursé."), "success")

    return _act(member, vendor_order_id, forms.ActionForm(), receive, None)


@blueprint.route("/<slug>/commandes/<int:vendor_order_id>/bon-de-preparation.pdf")
@shop_member(Permission.ORDERS)
def packing_slip(member: ShopMember, vendor_order_id: int) -> Response:
    from app.orders import documents
    from app.pdf import download

    part = _part(member, vendor_order_id)
    return download(documents.packing_slip_pdf(part), f"preparation-{part.order.number}.pdf")


@blueprint.route("/<slug>/commandes/<int:vendor_order_id>/facture.pdf")
@shop_member(Permission.ORDERS)
def invoice(member: ShopMember, vendor_order_id: int) -> Response:
    from app.orders import documents
    from app.pdf import download

    part = _part(member, vendor_order_id)
    if not part.invoice_number:
        abort(404)
    return download(documents.invoice_pdf(part), f"facture-{part.invoice_number}.pdf")


@blueprint.route("/<slug>/commandes/<int:vendor_order_id>/avoirs/<int:credit_note_id>.pdf")
@shop_member(Permission.ORDERS)
def credit_note(member: ShopMember, vendor_order_id: int, credit_note_id: int) -> Response:
    from app.orders import documents
    from app.pdf import download

    note = services.part_credit_note(_part(member, vendor_order_id), credit_note_id)
    if note is None:
        abort(404)
    return download(documents.credit_note_pdf(note), f"avoir-{note.number}.pdf")
