"""CSV import and export of a shop's catalogue (back office, ``/vendeur/<slug>/produits/...``).

Every route resolves the shop through the person's membership (``shop_member``) and every import
through ``imports.shop_import``: an import of another shop is a 404.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from werkzeug.wrappers import Response

from app.catalog import imports
from app.catalog.models import CatalogImport, ImportStatus
from app.catalog.services import CatalogError
from app.database import utcnow
from app.extensions import db
from app.permissions import Permission
from vendors.backoffice import shop_member
from vendors.models import ShopMember

blueprint = Blueprint("catalog_imports", __name__, url_prefix="/vendeur")

STATUS_LABELS = {
    ImportStatus.UPLOADED: _l("Vérification en cours"),
    ImportStatus.CHECKED: _l("Vérifié"),
    ImportStatus.APPLYING: _l("Import en cours"),
    ImportStatus.APPLIED: _l("Importé"),
    ImportStatus.FAILED: _l("Échec"),
}
STATUS_BADGES = {
    ImportStatus.UPLOADED: "submitted",
    ImportStatus.CHECKED: "submitted",
    ImportStatus.APPLYING: "submitted",
    ImportStatus.APPLIED: "approved",
    ImportStatus.FAILED: "rejected",
}
RUNNING = {ImportStatus.UPLOADED, ImportStatus.APPLYING}


class ImportForm(FlaskForm):
    file = FileField(
        _l("Fichier CSV"),
        validators=[FileRequired(_l("Choisissez un fichier CSV."))],
        description=_l("UTF-8, séparateur « ; » ou « , », 10 000 lignes et 5 Mo au plus."),
        render_kw={"accept": ".csv,text/csv"},
    )


class ApplyForm(FlaskForm):
    """Only the CSRF token."""


def _import(member: ShopMember, import_id: int) -> CatalogImport:
    catalog_import = imports.shop_import(member, import_id)
    if catalog_import is None:
        abort(404)
    return catalog_import


def _csv(text: str, name: str) -> Response:
    return Response(
        text,
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@blueprint.route("/<slug>/produits/import", methods=["GET", "POST"])
@shop_member(Permission.PRODUCTS)
def index(member: ShopMember) -> Response | str:
    form = ImportForm()
    if form.validate_on_submit():
        try:
            catalog_import = imports.start_import(member, form.file.data)
        except CatalogError as error:
            db.session.rollback()
            form.file.errors = [*form.file.errors, error.message]
        else:
            db.session.commit()
            flash(_l("Fichier reçu : vérification en cours, rien n’est encore modifié."), "success")
            return redirect(url_for(".status", slug=member.shop.slug, import_id=catalog_import.id))
    return render_template(
        "catalog/imports/index.html",
        member=member,
        shop=member.shop,
        form=form,
        imports=imports.recent_imports(member),
        labels=STATUS_LABELS,
        badges=STATUS_BADGES,
        required=imports.REQUIRED_COLUMNS,
        columns=imports.COLUMNS,
        max_rows=imports.MAX_ROWS,
    )


@blueprint.route("/<slug>/produits/import/<int:import_id>")
@shop_member(Permission.PRODUCTS)
def status(member: ShopMember, import_id: int) -> str:
    catalog_import = _import(member, import_id)
    return render_template(
        "catalog/imports/status.html",
        member=member,
        shop=member.shop,
        item=catalog_import,
        report=catalog_import.report or {},
        running=catalog_import.status in RUNNING,
        can_apply=imports.can_apply(catalog_import),
        form=ApplyForm(),
        labels=STATUS_LABELS,
        badges=STATUS_BADGES,
        statuses=ImportStatus,
    )


@blueprint.route("/<slug>/produits/import/<int:import_id>/appliquer", methods=["POST"])
@shop_member(Permission.PRODUCTS)
def apply(member: ShopMember, import_id: int) -> Response:
    catalog_import = _import(member, import_id)
    if not ApplyForm().validate_on_submit():
        abort(400)
    try:
        imports.apply_import(member, catalog_import.id)
    except CatalogError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_l("Import lancé : tout le fichier est appliqué d’un coup, ou rien."), "success")
    return redirect(url_for(".status", slug=member.shop.slug, import_id=catalog_import.id))


@blueprint.route("/<slug>/produits/export.csv")
@shop_member(Permission.PRODUCTS)
def export(member: ShopMember) -> Response:
    name = f"{member.shop.slug}-produits-{utcnow():%Y-%m-%d}.csv"
    return _csv(imports.export_csv(member.shop), name)


@blueprint.route("/<slug>/produits/modele.csv")
@shop_member(Permission.PRODUCTS)
def template(member: ShopMember) -> Response:
    return _csv(imports.template_csv(member.shop), "modele-produits.csv")
