"""The manager's console pages of the accounts: the register of processing (GDPR article 30)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_babel import force_locale, get_locale
from werkzeug.wrappers import Response

from app.accounts import processing_register
from app.accounts.auth import manager_required

blueprint = Blueprint("accounts_admin", __name__, url_prefix="/gestion")


@blueprint.route("/registre-des-traitements")
@manager_required
def processing_register_page() -> str:
    return render_template("accounts/processing_register.html", register=processing_register.load())


@blueprint.route("/registre-des-traitements.md")
@manager_required
def processing_register_markdown() -> Response:
    text = processing_register.markdown(processing_register.load())
    return Response(
        text,
        mimetype="text/markdown",
        headers={"Content-Disposition": 'attachment; filename="registre-des-traitements.md"'},
    )


@blueprint.route("/registre-des-traitements.pdf")
@manager_required
def processing_register_pdf() -> Response:
    locale = str(get_locale() or "fr")
    with force_locale(locale):
        content = processing_register.pdf_document(processing_register.load(locale), locale)
    from app import pdf  # fpdf and Pillow: imported when a PDF is made

    return pdf.download(content, "registre-des-traitements.pdf")
