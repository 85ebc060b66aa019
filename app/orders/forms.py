"""Checkout, payment and the shop's order forms. Every field is checked on the server."""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from app.forms import MoneyField, coerce_id

POSTCODE = {"FR": re.compile(r"\d{5}"), "BE": re.compile(r"\d{4}")}

# Stripe's documented test payment methods: offered only when the app talks to the local emulator.
TEST_CARDS = [
    SelectChoice("pm_card_visa", _l("Carte acceptée (4242 4242 4242 4242)")),
    SelectChoice("pm_card_visa_chargeDeclined", _l("Carte refusée (4000 0000 0000 0002)")),
    SelectChoice(
        "pm_card_authenticationRequired", _l("Carte avec authentification 3-D Secure (4000 0027 6000 3184)")
    ),
]


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


class CheckoutForm(FlaskForm):
    """Who receives the order and where; the terms are accepted here, before paying."""

    checkout_token = HiddenField()
    address_id = SelectField(_l("Adresse enregistrée"), coerce=coerce_id, default=0, validate_choice=False)
    email = EmailField(
        _l("E-mail"),
        filters=[_strip],
        validators=[
            DataRequired(message=_l("Indiquez votre adresse e-mail.")),
            Email(message=_l("Cette adresse e-mail n’est pas valide."), check_deliverability=False),
            Length(max=254),
        ],
    )
    full_name = StringField(
        _l("Nom et prénom"),
        filters=[_strip],
        validators=[DataRequired(message=_l("Indiquez le nom du destinataire.")), Length(max=200)],
    )
    phone = StringField(
        _l("Téléphone"),
        filters=[_strip],
        description=_l("Pour que la boutique ou le livreur puisse vous joindre."),
        validators=[DataRequired(message=_l("Indiquez un numéro de téléphone.")), Length(max=30)],
    )
    # Required only when a part is delivered to the door: checked by the validate_* methods below.
    street = StringField(_l("Adresse"), filters=[_strip], validators=[Length(max=200)])
    postcode = StringField(_l("Code postal"), filters=[_strip], validators=[Length(max=10)])
    city = StringField(_l("Ville"), filters=[_strip], validators=[Length(max=100)])
    country = SelectField(
        _l("Pays"),
        choices=[SelectChoice("FR", _l("France")), SelectChoice("BE", _l("Belgique"))],
        default="FR",
    )
    save_address = BooleanField(_l("Enregistrer cette adresse pour mes prochaines commandes"), default=True)
    # Buying for a company (optional): its invoices and credit notes come as Factur-X e-invoices.
    company_name = StringField(_l("Raison sociale"), filters=[_strip], validators=[Length(max=200)])
    siren = StringField(
        _l("SIREN"),
        filters=[_strip],
        description=_l("9 chiffres (le SIRET, 14 chiffres, convient aussi)."),
        validators=[Length(max=30)],
        render_kw={"inputmode": "numeric"},
    )
    vat_number = StringField(
        _l("N° de TVA intracommunautaire"),
        filters=[_strip],
        description=_l("Par exemple FR44732829320."),
        validators=[Length(max=30)],
    )
    accept_terms = BooleanField(
        _l("J’ai lu et j’accepte les conditions générales de vente et l’information sur la rétractation"),
        validators=[DataRequired(message=_l("Acceptez les conditions de vente pour commander."))],
    )

    def __init__(self, *args: object, address_needed: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.address_needed = address_needed

    def validate_phone(self, field: StringField) -> None:
        if len(re.sub(r"\D", "", field.data or "")) < 9:
            raise ValidationError(_l("Ce numéro de téléphone semble incomplet."))

    def validate_street(self, field: StringField) -> None:
        if self.address_needed and not field.data:
            raise ValidationError(_l("Indiquez l’adresse de livraison."))

    def validate_city(self, field: StringField) -> None:
        if self.address_needed and not field.data:
            raise ValidationError(_l("Indiquez la ville."))

    def validate_postcode(self, field: StringField) -> None:
        if not self.address_needed and not field.data:
            return
        pattern = POSTCODE.get(self.country.data or "FR")
        if not field.data or (pattern and not pattern.fullmatch(field.data)):
            raise ValidationError(_l("Ce code postal n’est pas valide."))

    def validate_company_name(self, field: StringField) -> None:
        if not field.data and (self.siren.data or self.vat_number.data):
            raise ValidationError(_l("Indiquez la raison sociale de l’entreprise."))

    def validate_siren(self, field: StringField) -> None:
        """A SIREN, or a SIRET reduced to its SIREN; its check digit is checked (a typing mistake)."""
        if not field.data:
            if self.company_name.data and not self.vat_number.data:
                raise ValidationError(_l("Indiquez le SIREN ou le numéro de TVA de l’entreprise."))
            return
        # python-stdnum is imported when a number is checked: a worker serving pages seldom needs it.
        from stdnum import exceptions as stdnum_errors
        from stdnum.fr import siren as fr_siren
        from stdnum.fr import siret as fr_siret

        digits = re.sub(r"[\s.\-]", "", field.data)
        try:
            field.data = fr_siren.validate(digits) if len(digits) <= 9 else fr_siret.validate(digits)[:9]
        except stdnum_errors.InvalidChecksum:
            raise ValidationError(
                _l("Ce SIREN est erroné : sa clé de contrôle ne correspond pas. Vérifiez chaque chiffre.")
            ) from None
        except stdnum_errors.ValidationError:
            raise ValidationError(_l("Un SIREN compte 9 chiffres (un SIRET, 14).")) from None

    def validate_vat_number(self, field: StringField) -> None:
        if not field.data:
            return
        from stdnum import exceptions as stdnum_errors
        from stdnum.eu import vat as eu_vat

        try:
            number = eu_vat.validate(field.data)
        except stdnum_errors.InvalidChecksum:
            raise ValidationError(
                _l("Ce numéro de TVA est erroné : sa clé de contrôle ne correspond pas.")
            ) from None
        except stdnum_errors.ValidationError:
            raise ValidationError(
                _l("Ce numéro de TVA n’est pas valide (le code du pays puis le numéro, ex. FR44732829320).")
            ) from None
        siren = re.sub(r"\D", "", self.siren.data or "")
        if number.startswith("FR") and len(siren) == 9 and number[4:] != siren:
            raise ValidationError(_l("Ce numéro de TVA n’est pas celui de ce SIREN."))
        field.data = number


class PaymentForm(FlaskForm):
    """One payment attempt: ``attempt`` is new on every page, so a replay of the same post pays once."""

    attempt = HiddenField()
    payment_method = StringField(validators=[DataRequired(message=_l("Choisissez un moyen de paiement."))])


class EmulatorCardForm(PaymentForm):
    payment_method = RadioField(
        _l("Carte de test"),
        choices=TEST_CARDS,
        default="pm_card_visa",
        validators=[DataRequired(message=_l("Choisissez un moyen de paiement."))],
    )


class ActionForm(FlaskForm):
    """A button of the order pages: only the CSRF token."""


class RefuseForm(FlaskForm):
    reason = TextAreaField(
        _l("Pourquoi refusez-vous ?"),
        filters=[_strip],
        description=_l("Le client le lira ; il est remboursé aussitôt."),
        validators=[
            DataRequired(message=_l("Dites au client pourquoi vous refusez la commande.")),
            Length(max=500),
        ],
    )


class CancelForm(FlaskForm):
    """The shop cancels an order it had accepted, before the goods leave."""

    reason = TextAreaField(
        _l("Pourquoi annulez-vous ?"),
        filters=[_strip],
        description=_l("Le client le lira ; il est remboursé aussitôt et l’article revient en stock."),
        validators=[
            DataRequired(message=_l("Dites au client pourquoi vous annulez la commande.")),
            Length(max=500),
        ],
    )


class RefundForm(FlaskForm):
    """A partial or goodwill refund: an amount (or, for the shop, ``quantity-<line id>`` fields checked
    by the service), a reason, and the form's one-time ``token`` (a double click refunds once)."""

    token = HiddenField()
    amount = MoneyField(_l("Montant à rembourser (€)"), validators=[Optional()])
    note = TextAreaField(
        _l("Motif"),
        filters=[_strip],
        description=_l("Le client le lira avec son remboursement."),
        validators=[DataRequired(message=_l("Indiquez le motif du remboursement.")), Length(max=500)],
    )


class ShipForm(FlaskForm):
    carrier = StringField(_l("Transporteur"), filters=[_strip], validators=[Optional(), Length(max=60)])
    tracking_number = StringField(
        _l("Numéro de suivi"), filters=[_strip], validators=[Optional(), Length(max=60)]
    )


class CollectForm(FlaskForm):
    code = StringField(
        _l("Code de retrait du client"),
        filters=[_strip],
        validators=[DataRequired(message=_l("Saisissez le code que le client vous montre.")), Length(max=12)],
    )


class WithdrawalForm(FlaskForm):
    """The quantities come as ``quantity-<line id>`` fields, checked by the service."""

    reason = TextAreaField(
        _l("Motif (facultatif)"),
        filters=[_strip],
        description=_l("Vous n’avez pas à justifier votre décision."),
        validators=[Optional(), Length(max=500)],
    )


class CancelForShopForm(FlaskForm):
    """The manager cancels a shop's part on its behalf."""

    reason = TextAreaField(
        _l("Pourquoi la part est-elle annulée ?"),
        filters=[_strip],
        description=_l("Le client le lira ; il est remboursé et les articles reviennent en stock."),
        validators=[
            DataRequired(message=_l("Dites au client pourquoi la commande est annulée.")),
            Length(max=500),
        ],
    )


class ResendForm(FlaskForm):
    """Send an e-mail again: the form's one-time ``token`` sends it once, whatever the clicks."""

    token = HiddenField()
