"""Forms of the shop wizard and settings, the team page and the manager's review."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    Form,
    FormField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.fields import FieldList
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from app.forms import BoundedIntegerField, FloatCoordinate, MoneyField, coerce_id, require_if
from vendors import hours
from vendors.models import MemberRole, SellerKind, VatRegime

WEEKDAY_NAMES = (
    _l("Lundi"),
    _l("Mardi"),
    _l("Mercredi"),
    _l("Jeudi"),
    _l("Vendredi"),
    _l("Samedi"),
    _l("Dimanche"),
)
CLOSURE_ROWS = 2  # empty rows offered; one more appears below the saved closures


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class IdentityForm(FlaskForm):
    name = StringField(
        _l("Nom de la boutique"),
        validators=[DataRequired(_l("Indiquez le nom de la boutique.")), Length(max=120)],
        filters=[_strip],
    )
    slug = StringField(
        _l("Adresse de la boutique sur le site"),
        validators=[DataRequired(_l("Choisissez l’adresse de la boutique.")), Length(min=3, max=60)],
        filters=[_strip],
        description=_l("Lettres minuscules, chiffres et tirets : /boutiques/votre-boutique"),
    )
    category_id = SelectField(
        _l("Catégorie"), coerce=int, validators=[DataRequired(_l("Choisissez une catégorie."))]
    )
    story = TextAreaField(
        _l("Votre histoire"),
        validators=[Length(max=2000, message=_l("2 000 caractères au plus."))],
        description=_l("Qui êtes-vous, que vendez-vous, qu’est-ce qui rend la boutique unique ?"),
        render_kw={"rows": 5},
    )


class PhotosForm(FlaskForm):
    logo = FileField(_l("Logo"), description=_l("Carré de préférence ; JPEG, PNG ou WebP, 5 Mo au plus."))
    banner = FileField(_l("Bannière"), description=_l("Large, au moins 320 × 120 pixels ; 5 Mo au plus."))
    remove_logo = BooleanField(_l("Retirer le logo"))
    remove_banner = BooleanField(_l("Retirer la bannière"))


class AddressForm(FlaskForm):
    street = StringField(
        _l("Adresse"),
        validators=[DataRequired(_l("Indiquez l’adresse de la boutique.")), Length(max=200)],
        filters=[_strip],
        description=_l("Numéro et rue, par exemple 15 rue de la Paix."),
    )
    postcode = StringField(
        _l("Code postal"),
        validators=[DataRequired(_l("Indiquez le code postal.")), Length(max=10)],
        filters=[_strip],
    )
    city = StringField(
        _l("Ville"), validators=[DataRequired(_l("Indiquez la ville.")), Length(max=100)], filters=[_strip]
    )
    country = SelectField(
        _l("Pays"),
        choices=[SelectChoice("FR", _l("France")), SelectChoice("BE", _l("Belgique"))],
        default="FR",
    )
    latitude = FloatCoordinate(
        _l("Latitude"), bound=90.0, description=_l("Facultatif pour les rues de la ville : nous la trouvons.")
    )
    longitude = FloatCoordinate(_l("Longitude"), bound=180.0)
    phone = StringField(
        _l("Téléphone"),
        validators=[
            DataRequired(_l("Indiquez un numéro de téléphone.")),
            Regexp(r"^\+?[0-9 .()-]{9,20}$", message=_l("Ce numéro de téléphone n’est pas valide.")),
        ],
        filters=[_strip],
        render_kw={"inputmode": "tel", "autocomplete": "tel"},
    )
    email = EmailField(
        _l("E-mail de contact"),
        validators=[
            DataRequired(_l("Indiquez l’e-mail de contact de la boutique.")),
            Email(message=_l("Cette adresse e-mail n’est pas valide."), check_deliverability=False),
        ],
        filters=[_strip],
    )


class ClosureForm(Form):
    starts_on = StringField(_l("Du"), render_kw={"type": "date"})
    ends_on = StringField(_l("Au"), render_kw={"type": "date"})
    label = StringField(_l("Motif"), validators=[Length(max=120)], filters=[_strip])


def _day_fields(cls: type) -> type:
    """Two opening intervals per weekday (morning and afternoon), added as fields day_<n>_<part>."""
    for weekday in hours.WEEKDAYS:
        for part in ("opens_1", "closes_1", "opens_2", "closes_2"):
            setattr(
                cls,
                f"day_{weekday}_{part}",
                TimeField(format="%H:%M", validators=[Optional()], render_kw={"step": 300}),
            )
    return cls


@_day_fields
class HoursForm(FlaskForm):
    closures = FieldList(FormField(ClosureForm), min_entries=CLOSURE_ROWS)

    def day(self, weekday: int, part: str) -> Any:
        return self[f"day_{weekday}_{part}"]

    def week(self) -> dict[int, list[hours.Interval]]:
        """The intervals typed per day; a half-filled interval is reported on its day."""
        week: dict[int, list[hours.Interval]] = {}
        self.day_errors: dict[int, Any] = {}
        for weekday in hours.WEEKDAYS:
            intervals = []
            for index in ("1", "2"):
                opens = self.day(weekday, f"opens_{index}").data
                closes = self.day(weekday, f"closes_{index}").data
                if opens is None and closes is None:
                    continue
                if opens is None or closes is None:
                    self.day_errors[weekday] = _l("Indiquez l’ouverture et la fermeture.")
                    continue
                intervals.append(hours.Interval(opens, closes))
            week[weekday] = intervals
        return week

    def fill_from(self, schedule: dict[int, list[hours.Interval]]) -> None:
        for weekday, intervals in schedule.items():
            for index, interval in enumerate(intervals[:2], start=1):
                self.day(weekday, f"opens_{index}").data = interval.opens_at
                self.day(weekday, f"closes_{index}").data = interval.closes_at

    def closure_dates(self) -> list[tuple[dt.date, dt.date, str]] | None:
        """The closures filled in; None (with errors on the rows) if a date is not a date."""
        result = []
        valid = True
        for row in self.closures:
            starts, ends = row.form.starts_on.data, row.form.ends_on.data
            if not starts and not ends:
                continue
            try:
                start_date = dt.date.fromisoformat(starts or "")
                end_date = dt.date.fromisoformat(ends or starts or "")
            except ValueError:
                row.form.starts_on.errors = [_l("Indiquez des dates valides.")]
                valid = False
                continue
            result.append((start_date, end_date, row.form.label.data or ""))
        return result if valid else None


class CheckboxList(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class DeliveryForm(FlaskForm):
    click_collect = BooleanField(_l("Retrait en boutique (click & collect)"))
    click_collect_prep_minutes = BoundedIntegerField(
        _l("Délai de préparation (minutes)"),
        default=120,
        validators=[
            require_if("click_collect", _l("Indiquez le délai de préparation.")),
            Optional(),
            NumberRange(min=0, max=60 * 24 * 14, message=_l("Entre 0 et 20 160 minutes.")),
        ],
    )
    local_delivery = BooleanField(_l("Livraison locale par la boutique"))
    local_delivery_postcodes = StringField(
        _l("Codes postaux livrés"),
        description=_l("Séparés par des espaces, par exemple 37000 37100 37200."),
        filters=[_strip],
        validators=[require_if("local_delivery", _l("Indiquez les codes postaux livrés."))],
    )
    local_delivery_fee = MoneyField(_l("Frais de livraison locale (€)"))
    local_delivery_free_over = MoneyField(
        _l("Livraison offerte dès (€)"), description=_l("Laissez vide pour ne jamais l’offrir.")
    )
    home_delivery = BooleanField(_l("Envoi par transporteur à domicile"))
    home_delivery_fee = MoneyField(_l("Frais d’envoi (€)"))
    relay = BooleanField(_l("Envoi en point relais"))
    # Choices are checked by the service, which says when a point no longer exists.
    relay_point_ids = CheckboxList(_l("Points relais desservis"), coerce=coerce_id, validate_choice=False)


class ReturnsForm(FlaskForm):
    return_days = BoundedIntegerField(
        _l("Délai de retour (jours)"),
        default=14,
        validators=[
            InputRequired(_l("Indiquez le délai de retour.")),
            NumberRange(min=14, max=365, message=_l("Entre 14 jours (le minimum légal) et 365 jours.")),
        ],
    )
    return_policy = TextAreaField(
        _l("Conditions de retour"),
        validators=[
            DataRequired(_l("Décrivez vos conditions de retour.")),
            Length(max=3000, message=_l("3 000 caractères au plus.")),
        ],
        description=_l(
            "Comment retourner un article, qui paie le retour, les articles exclus (denrées périssables…)."
        ),
        render_kw={"rows": 5},
    )


class LegalForm(FlaskForm):
    legal_name = StringField(
        _l("Raison sociale"),
        validators=[DataRequired(_l("Indiquez la raison sociale.")), Length(max=200)],
        filters=[_strip],
    )
    registration_number = StringField(
        _l("Numéro SIRET"),
        validators=[DataRequired(_l("Indiquez le numéro d’immatriculation.")), Length(max=30)],
        filters=[_strip],
        render_kw={"inputmode": "numeric"},
    )
    vat_number = StringField(
        _l("Numéro de TVA intracommunautaire"),
        validators=[Length(max=30)],
        filters=[_strip],
        description=_l("Facultatif en franchise en base de TVA."),
    )
    vat_regime = SelectField(
        _l("Régime de TVA"),
        choices=[
            SelectChoice(VatRegime.NORMAL.value, _l("Réel normal")),
            SelectChoice(VatRegime.SIMPLIFIED.value, _l("Réel simplifié")),
            SelectChoice(VatRegime.FRANCHISE.value, _l("Franchise en base (pas de TVA facturée)")),
        ],
    )
    trade_register = StringField(
        _l("Immatriculation RCS ou RM"),
        validators=[Length(max=120)],
        filters=[_strip],
        description=_l("Par exemple RCS Tours 972 281 866."),
    )


class TaxDetailsForm(FlaskForm):
    """What DAC7 requires the platform to know of each seller (CGI art. 1649 ter A)."""

    kind = RadioField(
        _l("Vous vendez en tant que"),
        choices=[
            SelectChoice(SellerKind.COMPANY.value, _l("Société ou entrepreneur immatriculé (SIREN)")),
            SelectChoice(SellerKind.INDIVIDUAL.value, _l("Particulier, en votre nom propre")),
        ],
        validators=[DataRequired(_l("Choisissez la forme sous laquelle vous vendez."))],
    )
    tax_number = StringField(
        _l("Numéro d’identification fiscale"),
        validators=[DataRequired(_l("Indiquez le numéro d’identification fiscale.")), Length(max=30)],
        filters=[_strip],
        description=_l(
            "Société : votre SIREN (9 chiffres). Particulier : votre numéro fiscal (13 chiffres, "
            "sur votre avis d’impôt)."
        ),
    )
    first_name = StringField(_l("Prénom"), validators=[Length(max=100)], filters=[_strip])
    last_name = StringField(_l("Nom"), validators=[Length(max=100)], filters=[_strip])
    birth_date = DateField(_l("Date de naissance"), validators=[Optional()])
    birth_city = StringField(_l("Ville de naissance"), validators=[Length(max=100)], filters=[_strip])
    birth_country = StringField(
        _l("Pays de naissance"),
        validators=[Length(max=2)],
        filters=[_strip],
        description=_l("Code à 2 lettres : FR, BE…"),
    )


class SubmitForm(FlaskForm):
    plan = RadioField(
        _l("Votre forfait"),
        coerce=int,
        validators=[DataRequired(_l("Choisissez un forfait."))],
        description=_l(
            "Modifiable à tout moment ; un forfait payant se règle par carte, une fois la boutique validée."
        ),
    )
    accept_terms = BooleanField(
        _l(
            "J’accepte les conditions de vente de la place de marché "
            "(commission, abonnement, obligations légales)"
        ),
        validators=[DataRequired(_l("Acceptez les conditions de la place de marché pour continuer."))],
    )


class ReviewForm(FlaskForm):
    reason = TextAreaField(
        _l("Raison (envoyée à la boutique)"),
        validators=[Length(max=2000, message=_l("2 000 caractères au plus."))],
        render_kw={"rows": 3},
    )


class InviteForm(FlaskForm):
    email = EmailField(
        _l("Adresse e-mail"),
        validators=[
            DataRequired(_l("Indiquez l’adresse e-mail de la personne.")),
            Email(message=_l("Cette adresse e-mail n’est pas valide."), check_deliverability=False),
        ],
        filters=[_strip],
    )
    role = RadioField(
        _l("Rôle"),
        choices=[
            SelectChoice(MemberRole.STAFF.value, _l("Équipe : commandes, produits, avis et horaires")),
            SelectChoice(
                MemberRole.OWNER.value, _l("Propriétaire : tout, y compris mentions légales et paiements")
            ),
        ],
        default=MemberRole.STAFF.value,
    )


class RelayPointForm(FlaskForm):
    name = StringField(
        _l("Nom"),
        validators=[DataRequired(_l("Indiquez le nom du point relais.")), Length(max=120)],
        filters=[_strip],
    )
    street = StringField(
        _l("Adresse"), validators=[DataRequired(_l("Indiquez l’adresse.")), Length(max=200)], filters=[_strip]
    )
    postcode = StringField(
        _l("Code postal"),
        validators=[
            DataRequired(_l("Indiquez le code postal.")),
            Regexp(r"^\d{4,5}$", message=_l("Ce code postal n’est pas valide.")),
        ],
        filters=[_strip],
    )
    city = StringField(
        _l("Ville"), validators=[DataRequired(_l("Indiquez la ville.")), Length(max=100)], filters=[_strip]
    )
    latitude = FloatCoordinate(_l("Latitude"), bound=90.0)
    longitude = FloatCoordinate(_l("Longitude"), bound=180.0)
    opening_notes = StringField(_l("Horaires"), validators=[Length(max=300)], filters=[_strip])
