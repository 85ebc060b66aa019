"""Jinja filters and globals shared by every template."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask, current_app, request
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_babel import lazy_gettext as _l

from app import money


def init_app(app: Flask) -> None:
    app.jinja_env.filters["money"] = money.format_money
    app.jinja_env.filters["rate"] = money.format_rate
    app.jinja_env.filters["datetime"] = _format_datetime
    app.jinja_env.filters["date"] = _format_date
    app.jinja_env.filters["km"] = _format_km
    app.jinja_env.filters["attribute_label"] = attribute_label
    app.jinja_env.filters["has_field_errors"] = has_field_errors
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


def _format_km(value: float) -> str:
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
