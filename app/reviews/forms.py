"""Review forms: the review itself, the shop's reply, a report, the manager's refusal."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from wtforms.validators import DataRequired, Length, ValidationError

from app.forms import coerce_id
from app.reviews.models import BODY_MAX, REPLY_MAX, TITLE_MAX, RejectionReason
from app.reviews.services import MAX_PHOTOS, REASON_LABELS

RATING_LABELS = {
    5: _l("5 étoiles — excellent"),
    4: _l("4 étoiles — très bien"),
    3: _l("3 étoiles — bien"),
    2: _l("2 étoiles — décevant"),
    1: _l("1 étoile — mauvais"),
}


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class RatingField(RadioField):
    """1 to 5 stars; anything else (0, 6, "abc", nothing) is the same clear message."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        self.data = None
        if valuelist:
            try:
                self.data = int(valuelist[0])
            except (TypeError, ValueError):
                self.data = None

    def pre_validate(self, form: Any) -> None:
        if self.data not in RATING_LABELS:
            raise ValidationError(_l("Choisissez une note de 1 à 5 étoiles."))


class ReviewForm(FlaskForm):
    rating = RatingField(
        _l("Votre note"),
        choices=[SelectChoice(stars, label) for stars, label in RATING_LABELS.items()],
        coerce=int,
        validate_choice=False,
    )
    title = StringField(
        _l("Titre"),
        filters=[_strip],
        description=_l("En quelques mots, %(max)d caractères au plus.", max=TITLE_MAX),
        validators=[
            DataRequired(message=_l("Donnez un titre à votre avis.")),
            Length(max=TITLE_MAX, message=_l("Le titre fait %(length)d caractères : %(max)d au plus.")),
        ],
        render_kw={"maxlength": TITLE_MAX, "autocomplete": "off"},
    )
    body = TextAreaField(
        _l("Votre avis"),
        filters=[_strip],
        description=_l(
            "Ce qui vous a plu ou déplu, pour aider les autres clients. %(max)d caractères au plus ; pas de "
            "lien ni de coordonnées.",
            max=BODY_MAX,
        ),
        validators=[
            DataRequired(message=_l("Écrivez votre avis.")),
            Length(max=BODY_MAX, message=_l("Votre avis fait %(length)d caractères : %(max)d au plus.")),
        ],
        render_kw={"rows": 7, "maxlength": BODY_MAX},
    )
    photos = MultipleFileField(
        _l("Photos (facultatif)"),
        description=_l("%(count)d au plus, JPEG, PNG ou WebP, 5 Mo chacune.", count=MAX_PHOTOS),
        render_kw={"accept": "image/jpeg,image/png,image/webp"},
    )
    remove_photos = SelectMultipleField(
        _l("Retirer des photos"),
        coerce=coerce_id,
        choices=[],
        validate_choice=False,
        option_widget=widgets.CheckboxInput(),
        widget=widgets.ListWidget(prefix_label=False),
    )


class ReplyForm(FlaskForm):
    body = TextAreaField(
        _l("Votre réponse publique"),
        filters=[_strip],
        description=_l("Visible de tous sous l’avis. %(max)d caractères au plus.", max=REPLY_MAX),
        validators=[
            DataRequired(message=_l("Écrivez votre réponse.")),
            Length(max=REPLY_MAX, message=_l("Votre réponse fait %(length)d caractères : %(max)d au plus.")),
        ],
        render_kw={"rows": 4, "maxlength": REPLY_MAX},
    )


def _reason_choices() -> list[SelectChoice]:
    return [SelectChoice(reason.value, label) for reason, label in REASON_LABELS.items()]


class ReasonForm(FlaskForm):
    """A report (shop or shopper) or a refusal (manager): a reason from the list, a note for "autre"."""

    reason = SelectField(
        _l("Motif"),
        choices=_reason_choices(),
        validators=[DataRequired(message=_l("Choisissez un motif."))],
    )
    note = StringField(
        _l("Précisions"),
        filters=[_strip],
        description=_l("Obligatoire pour « Autre »."),
        validators=[Length(max=500, message=_l("%(max)d caractères au plus."))],
    )

    def validate_note(self, field: Any) -> None:
        if self.reason.data == RejectionReason.OTHER.value and not field.data:
            raise ValidationError(_l("Précisez le motif."))
