"""What the shop's "Outils et API" page and the manager's API page share: their two forms, one to make a
key (its token shown once, on the answer to its creation, never stored) and one to revoke a key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import redirect, request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from api import forms, services
from app.extensions import db
from app.forms import commit_or_say, show_error
from app.routing import parse_id


@dataclass
class KeyForms:
    form: FlaskForm  # a new key's
    revoke_form: forms.RevokeForm
    token: str | None = None  # the key just made, shown this once


def handle(
    new_form: Callable[..., FlaskForm],
    create: Callable[[Any], services.NewKey],
    revoke: Callable[[int], object],
    back: str,
) -> Response | KeyForms:
    """Answer the page's forms: ``revoke(key_id)`` then back to ``back``, or ``create(form)`` a key; what
    the page shows otherwise. ``new_form(prefix=..., formdata=...)`` makes the page's form for a new key."""
    page = KeyForms(new_form(prefix="new"), forms.RevokeForm(prefix="revoke"))
    if request.method == "POST" and request.form.get("action") == "revoke":
        if page.revoke_form.validate_on_submit() and (key_id := _key_id(page.revoke_form.key_id.data)):
            commit_or_say(
                lambda: revoke(key_id), success=_l("Clé révoquée : elle ne donne plus accès à rien.")
            )
        return redirect(back)
    if request.method == "POST" and page.form.validate_on_submit():
        try:
            made = create(page.form)
        except services.ApiKeyError as error:
            db.session.rollback()
            show_error(page.form, error)
        else:
            db.session.commit()
            page.token = made.token
            page.form = new_form(prefix="new", formdata=None)
    return page


def _key_id(raw: Any) -> int | None:
    try:
        return parse_id(str(raw or ""))
    except ValueError:
        return None
