"""Language and time zone of each request: French by default, English available."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
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
