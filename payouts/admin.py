"""The manager's money console (``/gestion/finances``): figures, transfers, rules, plans, reconciliation,
and the disputes of orders' charges (``/gestion/litiges``)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from app.accounts.auth import acting_user, manager_required
from app.catalog.models import Category
from app.database import utcnow
from app.extensions import db
from app.forms import commit_or_say, show_error
from app.orders.models import Order
from payouts import commission, dac7, disputes, reports, subscriptions
from payouts.backoffice import send_evidence_file
from payouts.forms import PlanForm, RuleForm
from payouts.models import Dispute, DisputeFile, Plan, RuleScope
from vendors import services as vendor_services
from vendors.hours import TOWN_TZ
from vendors.models import Shop

blueprint = Blueprint("payouts_admin", __name__, url_prefix="/gestion")


@blueprint.route("/finances")
@manager_required
def figures() -> str:
    return render_template("payouts/admin/figures.html", figures=reports.platform_figures())


@blueprint.route("/finances/rapprochement")
@manager_required
def reconciliation() -> str:
    return render_template("payouts/admin/reconciliation.html", report=reports.reconcile())


def _targets(scope: str) -> list[SelectChoice]:
    if scope == RuleScope.PLAN:
        return [SelectChoice(plan.id, plan.name) for plan in commission.plans()]
    if scope == RuleScope.CATEGORY:
        categories = db.session.scalars(
            sa.select(Category).where(Category.archived_at.is_(None)).order_by(Category.name)
        )
        return [SelectChoice(category.id, category.name) for category in categories]
    if scope == RuleScope.SHOP:
        return [
            SelectChoice(shop.id, shop.name)
            for shop in db.session.scalars(sa.select(Shop).order_by(Shop.name))
        ]
    return [SelectChoice(0, "—")]


@blueprint.route("/commissions", methods=["GET", "POST"])
@manager_required
def rules() -> Response | str:
    form = RuleForm()
    form.target.choices = [choice for scope in ("plan", "category", "shop") for choice in _targets(scope)] + [
        SelectChoice(0, "—")
    ]
    if form.validate_on_submit():
        scope = form.scope.data or "platform"
        try:
            commission.set_rule(
                acting_user(),
                scope,
                None if scope == RuleScope.PLATFORM else form.target.data or None,
                form.rate.data,
                fixed_fee_cents=form.fixed_fee.data or 0,
                effective_from=form.effective_from.data,
                note=form.note.data or "",
            )
        except commission.CommissionError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(
                _l("Règle enregistrée : elle s’applique aux commandes passées à partir de sa date."),
                "success",
            )
            return redirect(url_for(".rules"))
    names = {
        RuleScope.PLAN: {plan.id: plan.name for plan in commission.plans()},
        RuleScope.CATEGORY: {c.id: c.name for c in db.session.scalars(sa.select(Category))},
        RuleScope.SHOP: {s.id: s.name for s in db.session.scalars(sa.select(Shop))},
    }
    return render_template(
        "payouts/admin/rules.html",
        form=form,
        rules=commission.rules_history(),
        today=commission.today(),
        names=names,
        targets={scope: _targets(scope) for scope in ("plan", "category", "shop")},
    )


@blueprint.route("/forfaits", methods=["GET", "POST"])
@blueprint.route("/forfaits/<int:plan_id>", methods=["GET", "POST"])
@manager_required
def plans(plan_id: int | None = None) -> Response | str:
    plan = db.session.get(Plan, plan_id) if plan_id else None
    if plan_id is not None and plan is None:
        abort(404)  # not a new plan: a post there would create one
    form = PlanForm(obj=plan)
    if request.method == "GET" and plan is not None:
        form.monthly_price.data = plan.monthly_price_cents
        rule = commission.current_rule(RuleScope.PLAN, plan.id)
        form.commission.data = rule.rate_bps if rule else None
    if form.validate_on_submit():
        try:
            subscriptions.save_plan(
                acting_user(),
                plan,
                name=form.name.data or "",
                slug=form.slug.data or "",
                monthly_price_cents=form.monthly_price.data,
                commission_bps=form.commission.data,
                product_limit=form.product_limit.data,
                description=form.description.data or "",
                effective_from=form.effective_from.data,
            )
        except subscriptions.BillingError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            flash(_l("Forfait enregistré."), "success")
            return redirect(url_for(".plans"))
    rates = {p.id: commission.current_rule(RuleScope.PLAN, p.id) for p in commission.plans()}
    return render_template(
        "payouts/admin/plans.html", form=form, plan=plan, plans=list(commission.plans()), rates=rates
    )


@blueprint.route("/finances/creances")
@manager_required
def receivables() -> str:
    return render_template("payouts/admin/receivables.html", receivables=reports.receivables())


# -- disputes -------------------------------------------------------------------------------------


@blueprint.route("/litiges")
@manager_required
def disputes_list() -> str:
    found = disputes.all_disputes()
    return render_template(
        "payouts/admin/disputes.html",
        disputes=found,
        order_numbers=disputes.order_numbers(found),
        reason_label=disputes.reason_label,
        status_label=disputes.status_label,
    )


@blueprint.route("/litiges/<int:dispute_id>")
@manager_required
def dispute(dispute_id: int) -> str:
    found = db.session.get(Dispute, dispute_id)
    if found is None:
        abort(404)
    return render_template(
        "payouts/admin/dispute.html",
        dispute=found,
        order=db.session.get(Order, found.order_id) if found.order_id else None,
        shops={row.shop_id: db.session.get(Shop, row.shop_id) for row in found.parts},
        evidence=disputes.evidence_of(found),
        files=disputes.files_of(found),
        file_label=disputes.file_label,
        form=FlaskForm(),
        reason_label=disputes.reason_label,
        status_label=disputes.status_label,
    )


@blueprint.route("/litiges/<int:dispute_id>/fichiers/<int:file_id>")
@manager_required
def dispute_file(dispute_id: int, file_id: int) -> Response:
    found = db.session.get(DisputeFile, file_id)
    if found is None or found.dispute_id != dispute_id:
        abort(404)
    return send_evidence_file(found)


@blueprint.route("/litiges/<int:dispute_id>/envoyer", methods=["POST"])
@manager_required
def dispute_submit(dispute_id: int) -> Response:
    if db.session.get(Dispute, dispute_id) is None:
        abort(404)
    if FlaskForm().validate_on_submit():
        commit_or_say(
            lambda: disputes.submit(acting_user(), dispute_id),
            _l("Preuves envoyées à la banque par Stripe."),
        )
    return redirect(url_for(".dispute", dispute_id=dispute_id))


@blueprint.route("/litiges/<int:dispute_id>/accepter", methods=["POST"])
@manager_required
def dispute_accept(dispute_id: int) -> Response:
    if db.session.get(Dispute, dispute_id) is None:
        abort(404)
    if FlaskForm().validate_on_submit():
        commit_or_say(
            lambda: disputes.accept(acting_user(), dispute_id),
            _l("Litige accepté : il est perdu, les boutiques en supportent leur part."),
        )
    return redirect(url_for(".dispute", dispute_id=dispute_id))


# -- DAC7 -----------------------------------------------------------------------------------------


def _dac7_year() -> int:
    """The year asked for (``?annee=``), by default the last closed one, the one filed by 31 January."""
    year = request.args.get("annee", type=int) or utcnow().astimezone(TOWN_TZ).year - 1
    if not 2023 <= year <= utcnow().year:
        abort(404)
    return year


@blueprint.route("/finances/dac7")
@manager_required
def dac7_report() -> str:
    year = _dac7_year()
    sellers = dac7.year_figures(year)
    return render_template(
        "payouts/admin/dac7.html",
        year=year,
        sellers=sellers,
        field_labels=vendor_services.DAC7_FIELDS,
        withheld=list(
            db.session.scalars(
                sa.select(Shop).where(Shop.payouts_withheld_at.is_not(None)).order_by(Shop.name)
            )
        ),
        form=FlaskForm(),
    )


@blueprint.route("/finances/dac7/declaration.xml")
@manager_required
def dac7_declaration() -> Response:
    """The year's declaration for the DGFiP, under the file name its portal expects."""
    year = _dac7_year()
    try:
        built = dac7.build_declaration(year)
    except dac7.DeclarationError as error:
        flash(
            _l("La déclaration ne respecte pas le schéma de la DGFiP : %(error)s", error=str(error)[:300]),
            "error",
        )
        return redirect(url_for(".dac7_report", annee=year))
    return Response(
        built.xml,
        mimetype="application/xml",
        headers={"Content-Disposition": f'attachment; filename="{built.filename}"'},
    )


@blueprint.route("/finances/dac7/releves", methods=["POST"])
@manager_required
def dac7_send_statements() -> Response:
    """Send each reported seller its statement of the year (once each)."""
    year = _dac7_year()
    if not FlaskForm().validate_on_submit():
        abort(400)
    sent = dac7.send_statements(year)
    db.session.commit()
    flash(_l("%(count)d relevés envoyés.", count=sent), "success")
    return redirect(url_for(".dac7_report", annee=year))
