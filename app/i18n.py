"""Language and time zone of each request: French by default, English available."""

from __future__ import annotations

from typing import Any

import flask_babel
from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user

SESSION_KEY = "locale"


def supported_locales() -> tuple[str, ...]:
    return tuple(current_app.config["LANGUAGES"])


def select_locale() -> str:
    """The person's saved language, then the one chosen this session, then the browser's, then French."""
    locales = supported_locales()
    if not has_request_context():  # a job or a command: callers pass the locale with force_locale()
        return str(current_app.config["BABEL_DEFAULT_LOCALE"])
    if current_user and current_user.is_authenticated and current_user.locale in locales:
        return str(current_user.locale)
    chosen = session.get(SESSION_KEY)
    if chosen in locales:
        return str(chosen)
    return request.accept_languages.best_match(locales) or current_app.config["BABEL_DEFAULT_LOCALE"]


def _catalogue() -> Any:
    """The current language's catalogue, found once per request and language.

    ``flask_babel.get_translations()`` reads the request's Babel state three times and names the
    locale anew for every string, and a page shows a few hundred. The catalogue found is kept beside
    that state with the locale object it was found for: ``force_locale()`` (a mail in the addressee's
    language) and ``refresh()`` put another locale object in place, so the catalogue is found again."""
    try:
        space = g._get_current_object()
    except RuntimeError:  # no app context: flask_babel's answer (no translation)
        return flask_babel.get_translations()
    state = getattr(space, "_flask_babel", None)
    locale = getattr(state, "babel_locale", None)
    kept = getattr(space, "i18n_catalogue", None)
    if locale is not None and kept is not None and kept[0] is locale:
        return kept[1]
    found = flask_babel.get_translations()
    space.i18n_catalogue = (getattr(getattr(space, "_flask_babel", None), "babel_locale", None), found)
    return found


def install_template_gettext(app: Flask) -> None:
    """Templates' ``_``, ``ngettext``, ``pgettext`` and ``npgettext`` through ``_catalogue()`` (in
    place of the ones flask_babel installs, which look the catalogue up on each call)."""
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=lambda text: _catalogue().ugettext(text),
        ngettext=lambda singular, plural, n: _catalogue().ungettext(singular, plural, n),
        pgettext=lambda context, text: _catalogue().upgettext(context, text),
        npgettext=lambda context, singular, plural, n: _catalogue().unpgettext(context, singular, plural, n),
        newstyle=True,
    )


def english_interface() -> bool:
    """Whether the page (or the mail, under ``force_locale``) is in English."""
    return str(get_locale() or "").startswith("en")


def localized(french: str, english: str | None) -> str:
    """A name kept in French and, optionally, in English: the one for the interface's language."""
    return english if english and english_interface() else french


def select_timezone() -> str:
    # The marketplace serves one town: every date is shown in its time zone.
    return str(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def sort_key(text: str) -> str:
    """Alphabetical order as a French reader expects, whatever the database's collation:
    "Épicerie" beside "Epicerie", case ignored, a leading article's apostrophe ignored."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()
    return folded.replace("'", "").replace("’", "")
