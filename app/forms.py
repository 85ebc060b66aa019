"""Form fields shared by every domain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import wtforms
from flask import flash
from flask_babel import format_date
from flask_babel import lazy_gettext as _l
from wtforms import Field, StringField
from wtforms.validators import StopValidation, ValidationError

from app import money
from app.errors import ServiceError
from app.extensions import db
from app.routing import MAX_ID

# What an INTEGER column holds (stock, quantities, thresholds, weights, minutes, days).
MAX_INT = 2**31 - 1
# One million euros: no price, fee or plan here comes near it; more is a typing slip (as in search).
MAX_AMOUNT_CENTS = 100_000_000
# The dates a period, a rule or a closure can name: the years the platform can have records for.
MIN_DATE = dt.date(2000, 1, 1)
MAX_DATE = dt.date(2099, 12, 31)


class MoneyField(StringField):
    """An amount typed in euros ("12,50", "12.50") held as integer cents in ``data``."""

    def __init__(
        self, *args: Any, allow_negative: bool = False, maximum: int = MAX_AMOUNT_CENTS, **kwargs: Any
    ) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "decimal", "autocomplete": "off"})
        super().__init__(*args, **kwargs)
        self.allow_negative = allow_negative
        self.maximum = maximum

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        if self.data is None:
            return ""
        return str(money.cents_to_decimal(self.data)).replace(".", ",")

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None
            return
        try:
            self.data = money.parse_amount(str(valuelist[0]))
        except money.MoneyError as error:
            self.data = None
            raise ValueError(_l("Indiquez un montant en euros, par exemple 12,50.")) from error
        if self.data is not None and self.data < 0 and not self.allow_negative:
            self.data = None
            raise ValueError(_l("Le montant ne peut pas être négatif."))
        if self.data is not None and abs(self.data) > self.maximum:
            self.data = None
            raise ValueError(
                _l("Le montant ne peut pas dépasser %(amount)s.", amount=money.format_money(self.maximum))
            )


class BoundedIntegerField(wtforms.IntegerField):
    """A whole number that fits its column: outside ``minimum``..``maximum`` (an INTEGER column's
    range unless told) the form says so and the value never reaches a query. Narrower domain limits
    stay the field's own ``NumberRange`` validators."""

    def __init__(self, *args: Any, minimum: int = -MAX_INT, maximum: int = MAX_INT, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.minimum = minimum
        self.maximum = maximum

    def pre_validate(self, form: Any) -> None:
        if isinstance(self.data, int) and self.data > self.maximum:
            raise StopValidation(_l("Ce nombre est trop grand."))
        if isinstance(self.data, int) and self.data < self.minimum:
            raise StopValidation(_l("Ce nombre est trop petit."))


class BoundedDateField(wtforms.DateField):
    """A date between ``MIN_DATE`` and ``MAX_DATE``: year 1 or 9999 is a typing slip, and a day
    computed from it (the day after, the town's midnight in UTC) would not exist."""

    def pre_validate(self, form: Any) -> None:
        if isinstance(self.data, dt.date) and not MIN_DATE <= self.data <= MAX_DATE:
            raise StopValidation(
                _l(
                    "Choisissez une date entre le %(start)s et le %(end)s.",
                    start=format_date(MIN_DATE),
                    end=format_date(MAX_DATE),
                )
            )


def coerce_id(value: Any) -> int:
    """``coerce`` for a select of database ids posted as text: an id the database can hold (0 for
    "none"), else ValueError, which the field reports as an invalid choice."""
    number = int(value)
    if not 0 <= number <= MAX_ID:
        raise ValueError("not an id")
    return number


class FloatCoordinate(StringField):
    """A latitude or longitude, with a comma or a dot."""

    def __init__(self, *args: Any, bound: float = 90.0, **kwargs: Any) -> None:
        kwargs.setdefault("render_kw", {"inputmode": "decimal"})
        super().__init__(*args, **kwargs)
        self.bound = bound

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return "" if self.data is None else f"{self.data:.6f}"

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = str(valuelist[0]).strip().replace(",", ".") if valuelist else ""
        if not text:
            self.data = None
            return
        try:
            value = float(text)
        except ValueError as error:
            self.data = None
            raise ValueError(_l("Indiquez un nombre, par exemple 47.3941.")) from error
        if not -self.bound <= value <= self.bound:
            self.data = None
            raise ValueError(_l("Valeur hors limites."))
        self.data = value


def require_if(other: str, message: Any) -> Any:
    """A validator: this field is required when the boolean field ``other`` is checked."""

    def check(form: Any, field: Field) -> None:
        if form[other].data and field.data in (None, "", []):
            raise ValidationError(message)

    return check


def show_error(form: Any, error: ServiceError) -> None:
    """Show a refused use case next to the field it names, or at the top of the form."""
    field = form._fields.get(error.field) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)


def commit_or_say(change: Callable[[], Any], success: Any = None) -> Any:
    """Run one use case from a view: committed (and ``success`` flashed) when it succeeds; refused, it is
    rolled back and its message flashed. The use case's result (True if it returns nothing), or None
    when it was refused."""
    try:
        done = change()
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return None
    db.session.commit()
    if success:
        flash(success, "success")
    return done if done is not None else True
