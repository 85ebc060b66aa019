"""Payouts forms: commission rules, plans, a shop's plan and card, statement periods, dispute evidence."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import RadioField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from app import money
from app.forms import BoundedDateField, BoundedIntegerField, MoneyField, coerce_id


class RateField(StringField):
    """A percentage typed as "8,5" or "12 %", held as basis points in ``data``."""

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        if self.data is None:
            return ""
        return money.format_rate(int(self.data)).replace("\u00a0", " ").replace("%", "").strip()

    def process_formdata(self, valuelist: list[Any]) -> None:
        text = str(valuelist[0]).strip() if valuelist else ""
        if not text:
            self.data = None
            return
        try:
            self.data = money.parse_rate(text.replace("%", "").strip())
        except money.MoneyError as error:
            self.data = None
            raise ValueError(_l("Un pourcentage entre 0 et 100, par exemple 8 ou 8,5.")) from error


SCOPES = [
    SelectChoice("platform", _l("Toute la place de marché (taux par défaut)")),
    SelectChoice("plan", _l("Un forfait")),
    SelectChoice("category", _l("Une catégorie")),
    SelectChoice("shop", _l("Une boutique (remplace tout le reste)")),
]


class RuleForm(FlaskForm):
    scope = SelectField(_l("S’applique à"), choices=SCOPES, default="platform")
    target = SelectField(_l("Lequel"), coerce=coerce_id, default=0, validate_choice=False)
    rate = RateField(
        _l("Taux de commission (%)"), validators=[InputRequired(message=_l("Indiquez un taux."))]
    )
    fixed_fee = MoneyField(_l("Frais fixes par commande de la boutique (€)"), default=0)
    effective_from = BoundedDateField(_l("À partir du"), validators=[Optional()])
    note = StringField(_l("Note"), validators=[Optional(), Length(max=300)])


class PlanForm(FlaskForm):
    name = StringField(
        _l("Nom"), validators=[DataRequired(message=_l("Donnez un nom au forfait.")), Length(max=80)]
    )
    slug = StringField(
        _l("Identifiant"), validators=[DataRequired(message=_l("Donnez un identifiant.")), Length(max=40)]
    )
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=500)])
    monthly_price = MoneyField(
        _l("Prix mensuel TTC (€)"),
        validators=[InputRequired(message=_l("Indiquez un prix (0 pour gratuit)."))],
    )
    commission = RateField(_l("Commission (%)"), validators=[InputRequired(message=_l("Indiquez un taux."))])
    product_limit = BoundedIntegerField(
        _l("Produits en ligne au plus"),
        validators=[Optional(), NumberRange(min=1, message=_l("Au moins 1, ou vide pour aucune limite."))],
    )
    effective_from = BoundedDateField(_l("Nouveau taux à partir du"), validators=[Optional()])

    def validate_monthly_price(self, field: MoneyField) -> None:
        if field.data is not None and field.data < 0:
            raise ValidationError(_l("Le prix mensuel ne peut pas être négatif."))


class ChoosePlanForm(FlaskForm):
    plan = RadioField(
        _l("Forfait"), coerce=int, validators=[DataRequired(message=_l("Choisissez un forfait."))]
    )
    payment_method = StringField()


# Stripe's documented test payment methods for subscriptions (offered with the local emulator only).
BILLING_TEST_CARDS = [
    SelectChoice("pm_card_visa", _l("Carte acceptée (4242 4242 4242 4242)")),
    SelectChoice(
        "pm_card_chargeCustomerFail",
        _l("Carte enregistrée mais refusée à chaque paiement (4000 0000 0000 0341)"),
    ),
]


class EmulatorChoosePlanForm(ChoosePlanForm):
    payment_method = RadioField(
        _l("Carte de test"), choices=BILLING_TEST_CARDS, default="pm_card_visa", validate_choice=False
    )


class PayNowForm(FlaskForm):
    payment_method = StringField()


class StatementForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: it only reads

    start = BoundedDateField(_l("Du"), validators=[DataRequired()])
    end = BoundedDateField(_l("Au"), validators=[DataRequired()])
    format = SelectField(
        _l("Format"), choices=[SelectChoice("pdf", "PDF"), SelectChoice("csv", "CSV")], default="pdf"
    )

    def validate_end(self, field: BoundedDateField) -> None:
        if self.start.data and field.data and field.data < self.start.data:
            raise ValidationError(_l("La fin de la période précède son début."))


class DisputeFileForm(FlaskForm):
    """A file of a shop's evidence for a dispute, under one of Stripe's file evidence fields."""

    field = SelectField(_l("Type de document"), validate_choice=False)
    file = FileField(
        _l("Fichier"),
        description=_l("Photo JPEG, PNG ou WebP, ou document PDF ; 5 Mo au plus."),
        validators=[FileRequired(_l("Choisissez un fichier."))],
    )
