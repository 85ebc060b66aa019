"""Jinja filters and globals shared by every template."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import ChainMap
from collections.abc import KeysView, MutableMapping
from itertools import chain
from typing import Any

from flask import Flask, current_app, request
from flask.templating import Environment as FlaskEnvironment
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_babel import lazy_gettext as _l

from app import money


class _Globals(ChainMap[str, Any]):
    """A template's globals (its own, then the environment's), as Jinja keeps them, but for their keys:
    a dict's view, whose set operations run in C. On every ``{% from ... import %}`` Jinja takes the
    importing page's global names minus the imported template's (the generic view tests them one by
    one, 40 µs for our forty names); a storefront imports five macro files."""

    def keys(self) -> KeysView[str]:
        return dict.fromkeys(chain.from_iterable(reversed(self.maps))).keys()


class Environment(FlaskEnvironment):
    """Flask's Jinja environment, with :class:`_Globals` for the templates' globals."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> ChainMap[str, Any]:
        return _Globals({} if d is None else d, self.globals)


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = money.format_money
    app.jinja_env.filters["rate"] = money.format_rate
    app.jinja_env.filters["datetime"] = _format_datetime
    app.jinja_env.filters["date"] = _format_date
    app.jinja_env.filters["km"] = format_km
    app.jinja_env.filters["attribute_label"] = attribute_label
    app.jinja_env.filters["has_field_errors"] = has_field_errors
    app.jinja_env.filters["de_shop"] = de_shop
    app.jinja_env.filters["a_shop"] = a_shop
    app.jinja_env.filters["reject_page"] = lambda args: {
        key: value for key, value in args.items() if key != "page"
    }
    app.jinja_env.globals["field_attributes"] = field_attributes
    app.context_processor(_globals)


def _format_datetime(value: dt.datetime | None, style: str = "medium") -> str:
    return format_datetime(value, style) if value else ""


def _format_date(value: dt.date | None, style: str = "medium") -> str:
    return format_date(value, style) if value else ""


def field_attributes(field: Any, described_by: list[str], required: bool = False) -> dict[str, str]:
    """ARIA attributes of a form input: only those that apply (WTForms would print None as "None")."""
    attributes = {}
    if described_by:
        attributes["aria-describedby"] = " ".join(described_by)
    if field.errors:
        attributes["aria-invalid"] = "true"
    if required:
        attributes["required"] = "required"
    return attributes


ATTRIBUTE_LABELS = {
    "kind": _l("Type"),
    "author": _l("Auteur"),
    "age": _l("Âge"),
    "material": _l("Matière"),
    "color": _l("Couleur"),
    "colors": _l("Couleurs"),
    "origin": _l("Origine"),
    "region": _l("Région"),
    "vintage": _l("Millésime"),
    "milk": _l("Lait"),
    "meat": _l("Viande"),
    "service": _l("Service"),
    "labels": _l("Labels"),
}


def has_field_errors(form: Any) -> bool:
    """Whether any field (nested forms included) carries an error, even one a service added after
    validation (WTForms caches ``form.errors`` at validation time)."""

    def walk(fields: Any) -> bool:
        for field in fields:
            if field.type == "FieldList" and walk(field.entries):
                return True
            if field.type == "FormField" and walk(field.form):
                return True
            if field.type not in {"FieldList", "FormField"} and field.errors:
                return True
        return False

    return walk(form)


def attribute_label(name: str) -> Any:
    """A product attribute's name for shoppers: known keys translated, others as typed."""
    return ATTRIBUTE_LABELS.get(name, name[:1].upper() + name[1:])


# "de Le Fournil" is "du Fournil", "à Les Jardins" is "aux Jardins"; "La" and "L’" never contract.
_CONTRACTED_ARTICLE = re.compile(r"(le|les)\s+(?=\S)", re.IGNORECASE)
_CONTRACTIONS = {("de", "le"): "du", ("de", "les"): "des", ("à", "le"): "au", ("à", "les"): "aux"}


def _after_preposition(preposition: str, name: str) -> str:
    name = name.strip()
    locale = get_locale()
    if locale is not None and locale.language != "fr":
        return name
    article = _CONTRACTED_ARTICLE.match(name)
    if article:
        return f"{_CONTRACTIONS[preposition, article.group(1).lower()]} {name[article.end() :]}"
    first = unicodedata.normalize("NFKD", name[:1]).lower()[:1]
    if preposition == "de" and first in {"a", "e", "i", "o", "u"}:
        return f"d’{name}"
    return f"{preposition} {name}"


def de_shop(name: str) -> str:
    """A shop's name after "de", as French writes it: "du Fournil", "des Jardins de Flore",
    "de La Boussole", "de L’Atelier Floral", "d’Atelier Terre et Feu", "de Chez Pierre".

    In other languages the name alone: their sentence carries its own words ("%(de_shop)s's order")."""
    return _after_preposition("de", name)


def a_shop(name: str) -> str:
    """A shop's name after "à", as French writes it: "au Fournil", "aux Jardins de Flore", "à La Boussole".

    In other languages the name alone, like :func:`de_shop`."""
    return _after_preposition("à", name)


def format_km(value: float) -> str:
    """A distance in kilometres with one decimal, as the reader writes numbers."""
    return format_decimal(round(value, 1), format="#,##0.0")


def _globals() -> dict[str, Any]:
    return {
        "marketplace_name": current_app.config["MARKETPLACE_NAME"],
        "current_locale": str(get_locale()),
        "other_locales": [code for code in current_app.config["LANGUAGES"] if code != str(get_locale())],
        "is_development": current_app.config["APP_ENV"] != "production",
        "current_path": request.full_path.rstrip("?") if request else "/",
    }
