"""Home page, language switch and the health check."""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    session,
)
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.wrappers import Response

from app import images
from app.accounts import auth, services
from app.extensions import csrf, db, limiter
from app.i18n import SESSION_KEY
from app.site import health

blueprint = Blueprint("site", __name__)


@blueprint.route("/")
def home() -> str:
    return render_template("site/home.html")


@blueprint.route("/langue/<code>")
def set_language(code: str) -> Response:
    """Switch the language (a plain link, so it works without JavaScript) and come back to the page."""
    if code in current_app.config["LANGUAGES"]:
        session[SESSION_KEY] = code
        if current_user.is_authenticated:
            services.set_locale(current_user, code)
            db.session.commit()
    return redirect(auth.safe_next(request.args.get("next")))


LEGAL_PAGES = ("conditions", "conditions-commercants", "confidentialite")


@blueprint.route("/informations/<page>")
def legal(page: str) -> str:
    """Terms of use, terms for merchants, privacy: one template per page and language."""
    if page not in LEGAL_PAGES:
        abort(404)
    return render_template(
        [f"site/legal/{page}.{get_locale()}.html", f"site/legal/{page}.fr.html"], page=page
    )


@blueprint.route("/media/<path:path>")
def media(path: str) -> Response:
    """Uploaded photos. Names are random, so they can be cached for long."""
    media_dir = Path(current_app.config["MEDIA_DIR"])
    found = images.safe_media_path(path, media_dir)
    if found is None:
        abort(404)
    return send_file(found, mimetype="image/webp", max_age=60 * 60 * 24 * 365)


@blueprint.route("/healthz")
@csrf.exempt
@limiter.exempt
def healthz() -> tuple[Response, int]:
    report = health.report()
    return jsonify(report), 200 if report["ok"] else 503
