"""Error pages: friendly HTML for people, JSON for API clients, never a stack trace."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm.exc import ObjectDeletedError
from werkzeug.exceptions import HTTPException, InternalServerError, NotFound
from werkzeug.wrappers import Response

from app import routing
from app.extensions import db

MESSAGES = {
    400: _l("La demande n’a pas pu être traitée."),
    403: _l("Vous n’avez pas accès à cette page."),
    404: _l("Cette page n’existe pas ou plus."),
    405: _l("Cette action n’est pas possible ici."),
    413: _l("Le fichier envoyé est trop volumineux."),
    429: _l("Trop de tentatives. Patientez un peu avant de réessayer."),
    500: _l("Une erreur est survenue de notre côté. Réessayez dans un instant."),
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best_match(["application/json", "text/html"]) == "application/json"
    )


def _render(status: int, message: object, title: object | None = None) -> tuple[Response | str, int]:
    if _wants_json():
        return jsonify(error={"status": status, "message": str(message)}), status
    return render_template("errors/error.html", status=status, message=message, title=title), status


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[Response | str, int]:
        return _render(
            400,
            _l(
                "Le formulaire a expiré ou a été envoyé depuis une autre page. "
                "Revenez en arrière, rechargez la page et réessayez."
            ),
            title=_l("Formulaire expiré"),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[Response | str, int] | HTTPException:
        status = error.code or 500
        if status < 400:
            return error
        if isinstance(error, routing.RefusedRequest):
            return _render(status, error.description)  # the app's own words for what was wrong
        return _render(status, MESSAGES.get(status, error.description))

    @app.errorhandler(ObjectDeletedError)
    def deleted_meanwhile(error: ObjectDeletedError) -> Any:
        """A row the request held was deleted by another one meanwhile (a member removed while acting,
        read again after the commit): what it pointed at no longer exists, a 404, not a 500."""
        db.session.rollback()
        return app.handle_http_exception(NotFound())

    @app.errorhandler(InternalServerError)
    def server_error(error: InternalServerError) -> tuple[Response | str, int]:
        db.session.rollback()
        return _render(500, MESSAGES[500])
