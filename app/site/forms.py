"""The manager's forms for the home page and its collections."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.forms import BoundedDateField
from app.site.models import CollectionKind


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class CollectionForm(FlaskForm):
    title = StringField(
        _l("Titre"), filters=[_strip], validators=[DataRequired(_l("Indiquez le titre.")), Length(max=120)]
    )
    slug = StringField(
        _l("Adresse"),
        filters=[_strip],
        validators=[DataRequired(_l("Indiquez l’adresse.")), Length(max=80)],
        description=_l("Dans l’adresse de la page, par exemple noel-a-bellerive."),
    )
    text = TextAreaField(_l("Texte"), filters=[_strip], validators=[Optional(), Length(max=5000)])
    kind = RadioField(
        _l("Elle présente"),
        choices=[
            SelectChoice(CollectionKind.PRODUCTS.value, _l("des produits")),
            SelectChoice(CollectionKind.SHOPS.value, _l("des boutiques")),
        ],
        default=CollectionKind.PRODUCTS.value,
    )
    starts_on = BoundedDateField(_l("Du"), validators=[Optional()], description=_l("Vide : dès maintenant."))
    ends_on = BoundedDateField(_l("Au (inclus)"), validators=[Optional()], description=_l("Vide : sans fin."))
    image = FileField(_l("Image"), description=_l("JPEG, PNG ou WebP, 5 Mo au plus."))
