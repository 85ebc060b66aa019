"""Home page, language switch and the health check."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import Any

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
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from app import storage
from app.accounts import auth, services
from app.database import utcnow
from app.extensions import csrf, db, limiter
from app.i18n import SESSION_KEY
from app.site import health
from app.site import services as site
from app.site.models import HomeBlockKind
from vendors import geo

blueprint = Blueprint("site", __name__)
log = logging.getLogger(__name__)


@blueprint.app_template_global("category_menu")
def category_menu() -> tuple[site.MenuEntry, ...]:
    """The header's two-level category menu (cached: categories change rarely). Every page's header
    shows it, error pages too: a database that cannot answer leaves the menu out, not the page."""
    try:
        return site.category_menu()
    except SQLAlchemyError:
        log.warning("category menu unavailable", exc_info=True)
        return ()


@blueprint.app_template_global("category_menu_html")
def category_menu_html() -> Markup:
    """The menu drawn as HTML, once per language for as long as its data is kept: every page shows
    it, and drawing its hundred links was a good part of a page's time. Nothing in it depends on
    the visitor but the language."""
    if not category_menu():
        return Markup("")

    def draw() -> Markup:
        # Our own template, autoescaped.
        return Markup(current_app.jinja_env.get_template("site/_category_menu.html").render())  # noqa: S704

    html: Markup = site.menu_cache.get(("html", str(get_locale())), draw)
    return html


def _block_html(
    kind: HomeBlockKind,
    now: dt.datetime,
    near: tuple[float, float] | None,
    street: str,
    rows: site.HomeRows | None = None,
    context: dict[str, Any] | None = None,
) -> str:
    """One block, rendered for this visitor (its cards carry their own forms); "" when it is empty.
    ``context``: the page's template context, made once for all its blocks (else made here)."""
    data = site.block_data(kind, now, near, rows)
    if not data:
        return ""
    if context is None:
        context = {}
        current_app.update_template_context(context)
    template = current_app.jinja_env.get_template(f"site/blocks/{kind.value}.html")
    return template.render(context, data=data, label=site.BLOCK_LABELS[kind], near=near, street=street)


@blueprint.route("/")
def home() -> str:
    near, street = geo.point_from_args(request.args)
    now = utcnow()
    kinds = site.enabled_blocks()
    rows = site.home_rows(kinds, now, near)
    context: dict[str, Any] = {}
    current_app.update_template_context(context)
    # Rendered from our own templates, autoescaped.
    blocks = [
        Markup(html)  # noqa: S704
        for kind in kinds
        if (html := _block_html(kind, now, near, street, rows, context))
    ]
    return render_template(
        "site/home.html",
        blocks=blocks,
        near=near,
        street=street,
        street_unknown=bool(street) and near is None,
        street_names=geo.street_names(),
    )


@blueprint.route("/collections/<slug>")
def collection(slug: str) -> str:
    """A collection of the manager's: 404 before it starts, after it ends, or once nothing is left online."""
    page = site.collection_page(slug, utcnow())
    if page is None:
        abort(404)
    return render_template("site/collection.html", page=page)


@blueprint.route("/langue/<code>")
def set_language(code: str) -> Response:
    """Switch this session's language (a plain link, for visitors) and come back to the page.

    A GET changes nothing stored: a signed-in person's saved language changes only by the form below.
    """
    if code in current_app.config["LANGUAGES"]:
        session[SESSION_KEY] = code
    return redirect(auth.safe_next(request.args.get("next")))


@blueprint.route("/langue", methods=["POST"])
def save_language() -> Response:
    """The header's switch for a signed-in person (a form, so it works without JavaScript): the
    language is saved on the account, which mail and later visits use."""
    form = FlaskForm()
    code = request.form.get("code", "")
    if form.validate_on_submit() and code in current_app.config["LANGUAGES"]:
        session[SESSION_KEY] = code
        if current_user.is_authenticated:
            services.set_locale(auth.acting_user(), code)
            db.session.commit()
    return redirect(auth.safe_next(request.form.get("next")))


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
    """Uploaded photos, from the media store (its folder, or a bucket without a public address).
    Names are random and never reused for other bytes, so any cache may keep them for a year."""
    store = storage.media_storage()
    found = store.local_path(path)
    response: Response
    if found is not None:
        response = send_file(found, mimetype="image/webp", max_age=storage.PUBLIC_MAX_AGE)
    else:
        data = store.read(path)
        if data is None:
            abort(404)
        response = Response(data, mimetype="image/webp")
        response.cache_control.max_age = storage.PUBLIC_MAX_AGE
        response.add_etag()
        response.make_conditional(request)
    response.cache_control.public = True
    response.cache_control.immutable = True
    return response


FAVICON_MAX_AGE = 60 * 60 * 24 * 30  # a month: the address never changes, so not a year


@blueprint.route("/favicon.ico")
@limiter.exempt
def favicon() -> Response:
    """The marketplace's icon, where every browser asks for it on its first visit."""
    assert current_app.static_folder is not None
    icon = Path(current_app.static_folder) / "favicon.ico"
    return send_file(icon, mimetype="image/vnd.microsoft.icon", max_age=FAVICON_MAX_AGE)


@blueprint.route("/healthz")
@csrf.exempt
@limiter.exempt
def healthz() -> tuple[Response, int]:
    report = health.report()
    return jsonify(report), 200 if report["ok"] else 503


@blueprint.route("/readyz")
@csrf.exempt
@limiter.exempt
def readyz() -> tuple[Response, int]:
    """For the load balancer: 200 when this process can serve, else 503 naming the parts that fail."""
    report = health.readiness()
    response = jsonify(report)
    response.cache_control.no_store = True
    return response, 200 if report["ready"] else 503
