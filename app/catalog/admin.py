"""The manager's category tree (``/gestion/categories``): create, rename, move, archive."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from app import money
from app.accounts.auth import acting_user, manager_required
from app.catalog import forms, services
from app.catalog.models import Category, WithdrawalExclusion
from app.extensions import db
from app.forms import show_error
from payouts import commission as commission_rules

blueprint = Blueprint("catalog_admin", __name__, url_prefix="/gestion")


def _category(category_id: int) -> Category:
    category = db.session.get(Category, category_id)
    if category is None:
        abort(404)
    return category


def _form(category: Category | None) -> forms.CategoryForm:
    form = forms.CategoryForm(obj=category)
    roots = [
        root for root, _ in services.category_tree() if root is not category and root.archived_at is None
    ]
    form.parent_id.choices = [(0, str(_l("Aucune (premier niveau)")))] + [
        (root.id, root.name) for root in roots
    ]
    form.withdrawal_exclusion.choices = forms.exclusion_choices(
        str(_l("Comme la catégorie parente (aucune en tête)"))
    )
    if request.method == "GET" and category is not None:
        form.parent_id.data = category.parent_id or 0
        form.withdrawal_exclusion.data = (
            category.withdrawal_exclusion.value if category.withdrawal_exclusion else ""
        )
        rate = commission_rules.category_rate(category.id)
        form.commission.data = (
            money.format_rate(rate).replace("\u00a0%", "").replace("%", "").strip()
            if rate is not None
            else ""
        )
    return form


def _save(form: forms.CategoryForm, category: Category | None) -> bool:
    if not form.validate_on_submit():
        return False
    try:
        commission = form.commission_bps()
        services.save_category(
            acting_user(),
            category,
            services.CategoryData(
                name=form.name.data or "",
                name_en=form.name_en.data or "",
                slug=form.slug.data or "",
                parent_id=form.parent_id.data or None,
                commission_bps=commission,
                withdrawal_exclusion=(
                    WithdrawalExclusion(form.withdrawal_exclusion.data)
                    if form.withdrawal_exclusion.data
                    else None
                ),
            ),
        )
    except ValueError:
        return False
    except services.CatalogError as error:
        db.session.rollback()
        show_error(form, error)
        return False
    db.session.commit()
    return True


@blueprint.route("/categories", methods=["GET", "POST"])
@manager_required
def categories() -> Response | str:
    form = _form(None)
    if _save(form, None):
        flash(_l("Catégorie ajoutée."), "success")
        return redirect(url_for(".categories"))
    return render_template(
        "catalog/admin/categories.html",
        tree=services.category_tree(),
        form=form,
        action_form=FlaskForm(),
        category_rates=commission_rules.category_rates(),
    )


@blueprint.route("/categories/<int:category_id>", methods=["GET", "POST"])
@manager_required
def category(category_id: int) -> Response | str:
    found = _category(category_id)
    form = _form(found)
    if _save(form, found):
        flash(_l("Catégorie enregistrée."), "success")
        return redirect(url_for(".categories"))
    return render_template("catalog/admin/category.html", category=found, form=form)


@blueprint.route("/categories/<int:category_id>/<action>", methods=["POST"])
@manager_required
def act(category_id: int, action: str) -> Response:
    found = _category(category_id)
    if action not in {"monter", "descendre", "archiver", "retablir"}:
        abort(404)
    if FlaskForm().validate_on_submit():
        try:
            if action == "archiver":
                services.archive_category(acting_user(), found)
            elif action == "retablir":
                services.restore_category(acting_user(), found)
            else:
                services.move_category(acting_user(), found, -1 if action == "monter" else 1)
        except services.CatalogError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
    return redirect(url_for(".categories"))
