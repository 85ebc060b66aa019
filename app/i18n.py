"""Language and time zone of each request: French by default, English available."""

from __future__ import annotations

import weakref
from typing import Any

import flask_babel
from flask import Flask, current_app, g, has_request_context, request, session
from flask_babel import get_locale
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

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
    return _kept()[0]


def _kept() -> tuple[Any, dict[str, Markup]]:
    """The current language's catalogue (see :func:`_catalogue`) and its memo of template strings."""
    try:
        space = g._get_current_object()
    except RuntimeError:  # no app context: flask_babel's answer (no translation)
        return flask_babel.get_translations(), {}
    state = getattr(space, "_flask_babel", None)
    locale = getattr(state, "babel_locale", None)
    kept = getattr(space, "i18n_catalogue", None)
    if locale is not None and kept is not None and kept[0] is locale:
        return kept[1]
    found = flask_babel.get_translations()
    try:
        memo = _TEMPLATE_STRINGS.setdefault(found, {})
    except TypeError:  # a catalogue that cannot be weakly referred to: no memo
        memo = {}
    locale = getattr(getattr(space, "_flask_babel", None), "babel_locale", None)
    space.i18n_catalogue = (locale, (found, memo))
    return found, memo


# The template strings without variables, translated and escaped, by catalogue: the same few hundred
# on every page, each one once per process and language. Catalogues live as long as the process
# (flask_babel keeps them); the memo goes with its catalogue.
_TEMPLATE_STRINGS: weakref.WeakKeyDictionary[Any, dict[str, Markup]] = weakref.WeakKeyDictionary()
_TEMPLATE_STRINGS_KEPT = 5000  # per language; templates only translate literal strings (a few thousand)


@pass_context
def _template_gettext(context: Context, string: str, /, **variables: Any) -> str:
    """Templates' ``_`` and ``gettext``: Jinja's newstyle gettext (the translation, as Markup when the
    template autoescapes, always formatted with its variables, so ``%%`` is ``%``), with the strings
    that have no variables kept once translated. Jinja's own goes through two more calls
    (``_`` resolves ``gettext``, which calls the catalogue through the context) for each of the fifty
    strings of a page."""
    if context.eval_ctx.autoescape:
        return markup_gettext(string, **variables)
    return str(_catalogue().ugettext(string)) % variables


def markup_gettext(string: str, /, **variables: Any) -> Markup:
    """What an autoescaped template's ``_(string, **variables)`` gives, for HTML built in Python: the
    translation taken as markup, the variables escaped into it."""
    if variables:
        return Markup(_catalogue().ugettext(string)) % variables  # noqa: S704 - our catalogue, as Jinja takes it
    catalogue, memo = _kept()
    done = memo.get(string)
    if done is None:
        done = Markup(catalogue.ugettext(string)) % {}  # noqa: S704 - our catalogue, as Jinja takes it
        if len(memo) < _TEMPLATE_STRINGS_KEPT:
            memo[string] = done
    return done


def markup_ngettext(singular: str, plural: str, num: int, /, **variables: Any) -> Markup:
    """What an autoescaped template's ``ngettext(singular, plural, num, **variables)`` gives."""
    variables.setdefault("num", num)
    return Markup(_catalogue().ungettext(singular, plural, num)) % variables  # noqa: S704 - as above


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
    app.jinja_env.globals.update(_=_template_gettext, gettext=_template_gettext)


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
