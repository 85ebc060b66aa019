"""The shop's money in its back office: balances, transfers, statements, invoices, its plan, disputes."""

from __future__ import annotations

import io
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectChoice, StringField, TextAreaField
from wtforms.validators import Length

from app import money
from app.accounts.auth import acting_user
from app.errors import ServiceError
from app.extensions import db
from app.forms import commit_or_say, show_error
from app.orders.models import VendorOrder
from app.permissions import Permission
from app.routing import parse_id
from payouts import dac7, disputes, gateway, reports, subscriptions
from payouts.forms import ChoosePlanForm, DisputeFileForm, EmulatorChoosePlanForm, PayNowForm, StatementForm
from payouts.models import BillingInvoice, CommissionInvoice
from vendors import hours
from vendors.backoffice import shop_member
from vendors.models import ShopMember

blueprint = Blueprint("payouts_backoffice", __name__, url_prefix="/vendeur")


def _plan_form() -> ChoosePlanForm:
    form = EmulatorChoosePlanForm() if gateway.emulated() else ChoosePlanForm()
    form.plan.choices = [
        SelectChoice(plan.id, f"{plan.name} — {money.format_money(plan.monthly_price_cents)}")
        for plan in subscriptions.active_plans()
    ]
    return form


@blueprint.route("/<slug>/finances")
@shop_member(Permission.FINANCES)
def finances(member: ShopMember) -> str:
    shop = member.shop
    today = hours.today()  # the statement's days are the town's
    statement_form = StatementForm(data={"start": today.replace(day=1), "end": today})
    plan_form = _plan_form()
    subscription = subscriptions.subscription_of(shop)
    if subscription is not None:
        plan_form.plan.data = subscription.plan_id
    return render_template(
        "payouts/backoffice/finances.html",
        member=member,
        shop=shop,
        money_=reports.shop_money(shop),
        bank_payouts=reports.bank_payouts(shop),
        hold_days=current_app.config["PAYOUT_HOLD_DAYS"],
        statement_form=statement_form,
        plan_form=plan_form,
        pay_form=PayNowForm(),
        plans=subscriptions.active_plans(),
        subscription=subscription,
        emulated=gateway.emulated(),
        billing_invoices=list(
            db.session.scalars(
                sa.select(BillingInvoice)
                .where(BillingInvoice.shop_id == shop.id)
                .order_by(BillingInvoice.id.desc())
            )
        ),
        dac7_years=dac7.statement_years(shop),
        commission_invoices=list(
            db.session.scalars(
                sa.select(CommissionInvoice)
                .where(CommissionInvoice.shop_id == shop.id)
                .order_by(CommissionInvoice.year.desc(), CommissionInvoice.month.desc())
            )
        ),
    )


@blueprint.route("/<slug>/finances/releve")
@shop_member(Permission.FINANCES)
def statement(member: ShopMember) -> Response:
    from app.pdf import download
    from payouts import documents

    form = StatementForm(request.args)
    if not form.validate():
        for errors in form.errors.values():
            for error in errors:
                flash(error, "error")
        return redirect(url_for(".finances", slug=member.shop.slug))
    found = documents.statement(member.shop.id, form.start.data, form.end.data)
    name = f"releve-{member.shop.slug}-{form.start.data:%Y%m%d}-{form.end.data:%Y%m%d}"
    if form.format.data == "csv":
        return Response(
            documents.statement_csv(found, locale=acting_user().locale),
            mimetype="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return download(documents.statement_pdf(found, locale=acting_user().locale), f"{name}.pdf")


@blueprint.route("/<slug>/finances/factures/<int:invoice_id>.pdf")
@shop_member(Permission.FINANCES)
def commission_invoice(member: ShopMember, invoice_id: int) -> Response:
    from app.pdf import download
    from payouts import documents

    invoice = db.session.get(CommissionInvoice, invoice_id)
    if invoice is None or invoice.shop_id != member.shop.id:
        abort(404)
    return download(
        documents.commission_invoice_pdf(invoice, locale=acting_user().locale), f"{invoice.number}.pdf"
    )


@blueprint.route("/<slug>/finances/dac7/<int:year>.pdf")
@shop_member(Permission.FINANCES)
def dac7_statement(member: ShopMember, year: int) -> Response:
    """The shop's own DAC7 statement of a closed year (or the current one so far); only its members see it."""
    from app.pdf import download

    if not 2023 <= year <= hours.today().year:
        abort(404)
    seller = dac7.seller_year(member.shop, year)
    return download(
        dac7.statement_pdf(seller, locale=acting_user().locale), f"dac7-{member.shop.slug}-{year}.pdf"
    )


def _billing(member: ShopMember, change: Any, success: Any) -> Response:
    try:
        commit_or_say(change, success)
    except gateway.StripeError as error:
        db.session.rollback()
        current_app.logger.warning("billing for %s: %s", member.shop.slug, error)
        flash(
            _l("Le prestataire de paiement a refusé l’opération : vérifiez la carte et réessayez."), "error"
        )
    return redirect(url_for(".finances", slug=member.shop.slug) + "#forfait")


@blueprint.route("/<slug>/finances/forfait", methods=["POST"])
@shop_member(Permission.FINANCES)
def choose_plan(member: ShopMember) -> Response:
    form = _plan_form()
    if not form.validate_on_submit():
        flash(_l("Choisissez un forfait."), "error")
        return redirect(url_for(".finances", slug=member.shop.slug) + "#forfait")
    return _billing(
        member,
        lambda: subscriptions.choose_plan(
            acting_user(), member.shop, form.plan.data, form.payment_method.data or None
        ),
        _l("Forfait enregistré."),
    )


@blueprint.route("/<slug>/finances/payer", methods=["POST"])
@shop_member(Permission.FINANCES)
def pay_now(member: ShopMember) -> Response:
    form = PayNowForm()
    if not form.validate_on_submit():
        abort(400)
    return _billing(
        member,
        lambda: subscriptions.pay_now(acting_user(), member.shop, form.payment_method.data or None),
        _l("Paiement reçu : votre vitrine est en ligne."),
    )


# -- disputes -------------------------------------------------------------------------------------


class DisputeEvidenceForm(FlaskForm):
    """The shop's evidence for its part of a disputed order."""

    tracking_number = StringField(
        _l("Numéro de suivi"), validators=[Length(max=100, message=_l("100 caractères au plus."))]
    )
    text = TextAreaField(
        _l("Ce que la boutique peut dire (remise en main propre, échanges avec le client…)"),
        validators=[
            Length(
                max=disputes.MAX_EVIDENCE_TEXT,
                message=_l("%(count)d caractères au plus.", count=disputes.MAX_EVIDENCE_TEXT),
            )
        ],
    )


@blueprint.route("/<slug>/litiges")
@shop_member(Permission.DISPUTES)
def disputes_list(member: ShopMember) -> str:
    return render_template(
        "payouts/backoffice/disputes.html",
        member=member,
        shop=member.shop,
        parts=disputes.of_shop(member.shop),
        reason_label=disputes.reason_label,
        status_label=disputes.status_label,
    )


@blueprint.route("/<slug>/litiges/<int:dispute_id>", methods=["GET", "POST"])
@shop_member(Permission.DISPUTES)
def dispute(member: ShopMember, dispute_id: int) -> Response | str:
    part_row = disputes.part_of_shop(member.shop, dispute_id)
    if part_row is None:
        abort(404)
    form = DisputeEvidenceForm()
    if request.method == "GET":
        form.tracking_number.data = part_row.tracking_number
        form.text.data = part_row.evidence_text
    if form.validate_on_submit():
        try:
            disputes.save_evidence(
                acting_user(),
                part_row,
                tracking_number=form.tracking_number.data or "",
                text=form.text.data or "",
            )
        except ServiceError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_l("Preuves enregistrées : la gestion les enverra à la banque."), "success")
            return redirect(url_for(".dispute", slug=member.shop.slug, dispute_id=dispute_id))
    return _dispute_page(member, part_row, form, _file_form())


def _file_form() -> DisputeFileForm:
    form = DisputeFileForm()
    form.field.choices = [SelectChoice(name, label) for name, label in disputes.FILE_FIELDS.items()]
    return form


def _dispute_page(
    member: ShopMember, part_row: Any, form: DisputeEvidenceForm, file_form: DisputeFileForm
) -> str:
    part = db.session.get(VendorOrder, part_row.vendor_order_id)
    return render_template(
        "payouts/backoffice/dispute.html",
        member=member,
        shop=member.shop,
        part_row=part_row,
        dispute=part_row.dispute,
        part=part,
        form=form,
        file_form=file_form,
        files=disputes.files_of(part_row.dispute),
        file_label=disputes.file_label,
        reason_label=disputes.reason_label,
        status_label=disputes.status_label,
    )


@blueprint.route("/<slug>/litiges/<int:dispute_id>/fichiers", methods=["POST"])
@shop_member(Permission.DISPUTES)
def dispute_file_add(member: ShopMember, dispute_id: int) -> Response | str:
    part_row = disputes.part_of_shop(member.shop, dispute_id)
    if part_row is None:
        abort(404)
    file_form = _file_form()
    if file_form.validate_on_submit():
        upload = file_form.file.data
        try:
            _added, replaced = disputes.add_file(
                acting_user(),
                part_row,
                field=file_form.field.data or "",
                stream=upload.stream,
                filename=upload.filename or "",
            )
        except ServiceError as error:
            db.session.rollback()
            show_error(file_form, error)
        else:
            db.session.commit()
            if replaced:
                disputes.delete_stored_file(replaced)
            flash(_l("Fichier ajouté à vos preuves."), "success")
            return redirect(url_for(".dispute", slug=member.shop.slug, dispute_id=dispute_id))
    form = DisputeEvidenceForm(formdata=None)
    form.tracking_number.data = part_row.tracking_number
    form.text.data = part_row.evidence_text
    return _dispute_page(member, part_row, form, file_form)


@blueprint.route("/<slug>/litiges/<int:dispute_id>/fichiers/retirer", methods=["POST"])
@shop_member(Permission.DISPUTES)
def dispute_file_remove(member: ShopMember, dispute_id: int) -> Response:
    part_row = disputes.part_of_shop(member.shop, dispute_id)
    if part_row is None:
        abort(404)
    file_id = request.form.get("file_id", type=parse_id) or 0  # an id the database can hold, or none
    if FlaskForm().validate_on_submit():
        path = commit_or_say(lambda: disputes.remove_file(part_row, file_id), _l("Fichier retiré."))
        if path:
            disputes.delete_stored_file(path)
    return redirect(url_for(".dispute", slug=member.shop.slug, dispute_id=dispute_id))


@blueprint.route("/<slug>/litiges/<int:dispute_id>/fichiers/<int:file_id>")
@shop_member(Permission.DISPUTES)
def dispute_file(member: ShopMember, dispute_id: int, file_id: int) -> Response:
    """One of the dispute's evidence files, to the shops of the dispute only."""
    part_row = disputes.part_of_shop(member.shop, dispute_id)
    found = next((row for row in part_row.files if row.id == file_id), None) if part_row else None
    if found is None:
        abort(404)
    return send_evidence_file(found)


def send_evidence_file(found: Any) -> Response:
    """A stored evidence file, sent as what it is (never shown inline as anything else)."""
    data = disputes.evidence_storage().read(found.path)
    if data is None:
        abort(404)
    # Read whole (5 MB at most), so that no file handle outlives the response.
    return send_file(io.BytesIO(data), mimetype=found.content_type, download_name=found.filename, max_age=0)
