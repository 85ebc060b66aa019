"""The console's forms: announcements, and the bare CSRF form of its buttons."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateTimeLocalField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, StopValidation

from app.forms import MAX_DATE, MIN_DATE
from app.manager.services import BODY_MAX, TITLE_MAX


class ActionForm(FlaskForm):
    """A button's form: nothing but the CSRF token."""


class TownDateTimeField(DateTimeLocalField):
    """A date and time typed in the town's time zone, held in ``data`` as aware UTC."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("format", ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"])
        super().__init__(*args, **kwargs)

    def pre_validate(self, form: Any) -> None:
        if isinstance(self.data, dt.datetime) and not MIN_DATE <= self.data.date() <= MAX_DATE:
            raise StopValidation(_l("Choisissez une date entre 2000 et 2099."))

    def utc(self) -> dt.datetime | None:
        if not isinstance(self.data, dt.datetime):
            return None
        town = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
        return self.data.replace(tzinfo=town).astimezone(dt.UTC)


class AnnouncementForm(FlaskForm):
    title = StringField(_l("Titre"), validators=[DataRequired(), Length(max=TITLE_MAX)])
    body = TextAreaField(
        _l("Message"),
        validators=[DataRequired(), Length(max=BODY_MAX)],
        description=_l("Texte simple ; **gras**, *italique*, listes et liens sont acceptés."),
    )
    starts_at = TownDateTimeField(
        _l("Début"), validators=[Optional()], description=_l("Vide : tout de suite.")
    )
    ends_at = TownDateTimeField(
        _l("Fin"), validators=[Optional()], description=_l("Vide : jusqu’à ce que vous l’arrêtiez.")
    )
