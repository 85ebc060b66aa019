"""Account forms. Every field is validated on the server; messages are translated."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    RadioField,
    SelectChoice,
    StringField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 128

# Each language is named in itself, so anyone finds theirs whatever the page language.
LANGUAGE_CHOICES = [SelectChoice("fr", "Français"), SelectChoice("en", "English")]


def _password_validators() -> list[object]:
    return [
        DataRequired(message=_l("Choisissez un mot de passe.")),
        Length(
            min=PASSWORD_MIN_LENGTH,
            max=PASSWORD_MAX_LENGTH,
            message=_l(
                "Le mot de passe doit contenir entre %(min)d et %(max)d caractères.",
                min=PASSWORD_MIN_LENGTH,
                max=PASSWORD_MAX_LENGTH,
            ),
        ),
    ]


def _not_only_digits_or_email(form: FlaskForm, field: PasswordField) -> None:
    value = field.data or ""
    if value.isdigit():
        raise ValidationError(_l("Le mot de passe ne peut pas être composé uniquement de chiffres."))
    email = (getattr(form, "email", None) and form.email.data) or ""
    if email and value.strip().lower() == email.strip().lower():
        raise ValidationError(_l("Le mot de passe ne peut pas être votre adresse e-mail."))


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _email_validators() -> list[object]:
    return [
        DataRequired(message=_l("Indiquez votre adresse e-mail.")),
        Length(max=254, message=_l("Cette adresse e-mail est trop longue.")),
        Email(message=_l("Cette adresse e-mail n’est pas valide."), check_deliverability=False),
    ]


def _name_validators(message: object) -> list[object]:
    return [DataRequired(message=message), Length(max=80, message=_l("80 caractères au plus."))]


class SignupForm(FlaskForm):
    first_name = StringField(
        _l("Prénom"), validators=_name_validators(_l("Indiquez votre prénom.")), filters=[_strip]
    )
    last_name = StringField(
        _l("Nom"), validators=_name_validators(_l("Indiquez votre nom.")), filters=[_strip]
    )
    email = EmailField(_l("Adresse e-mail"), validators=_email_validators(), filters=[_strip])
    password = PasswordField(
        _l("Mot de passe"),
        validators=[*_password_validators(), _not_only_digits_or_email],
        description=_l("10 caractères au moins."),
    )
    accept_terms = BooleanField(
        _l("J’accepte les conditions d’utilisation et la politique de confidentialité"),
        validators=[DataRequired(message=_l("Vous devez accepter les conditions pour créer un compte."))],
    )


class LoginForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail"), validators=_email_validators(), filters=[_strip])
    password = PasswordField(
        _l("Mot de passe"), validators=[DataRequired(_l("Indiquez votre mot de passe."))]
    )
    remember = BooleanField(_l("Rester connecté sur cet appareil"))
    next = HiddenField()


class SecondFactorForm(FlaskForm):
    code = StringField(
        _l("Code de vérification"),
        validators=[
            DataRequired(message=_l("Indiquez le code affiché par votre application.")),
            Length(max=20, message=_l("Ce code est trop long.")),
        ],
        description=_l("Le code à 6 chiffres de votre application, ou un code de secours."),
        render_kw={"autocomplete": "one-time-code", "inputmode": "text", "autocapitalize": "off"},
    )


class ForgotPasswordForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail"), validators=_email_validators(), filters=[_strip])


class LoginLinkForm(FlaskForm):
    email = EmailField(_l("Adresse e-mail"), validators=_email_validators(), filters=[_strip])


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        _l("Nouveau mot de passe"), validators=[*_password_validators(), _not_only_digits_or_email]
    )
    confirm = PasswordField(
        _l("Confirmez le mot de passe"),
        validators=[EqualTo("password", message=_l("Les deux mots de passe ne correspondent pas."))],
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        _l("Mot de passe actuel"), validators=[DataRequired(_l("Indiquez votre mot de passe actuel."))]
    )
    password = PasswordField(
        _l("Nouveau mot de passe"), validators=[*_password_validators(), _not_only_digits_or_email]
    )
    confirm = PasswordField(
        _l("Confirmez le mot de passe"),
        validators=[EqualTo("password", message=_l("Les deux mots de passe ne correspondent pas."))],
    )


class ChangeEmailForm(FlaskForm):
    email = EmailField(_l("Nouvelle adresse e-mail"), validators=_email_validators(), filters=[_strip])
    password = PasswordField(
        _l("Mot de passe"), validators=[DataRequired(_l("Indiquez votre mot de passe."))]
    )


class ProfileForm(FlaskForm):
    first_name = StringField(
        _l("Prénom"), validators=_name_validators(_l("Indiquez votre prénom.")), filters=[_strip]
    )
    last_name = StringField(
        _l("Nom"), validators=_name_validators(_l("Indiquez votre nom.")), filters=[_strip]
    )
    locale = RadioField(_l("Langue"), choices=LANGUAGE_CHOICES, validators=[DataRequired()])


class EnableTwoFactorForm(FlaskForm):
    code = StringField(
        _l("Code affiché par l’application"),
        validators=[DataRequired(message=_l("Indiquez le code affiché par votre application."))],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class PasswordConfirmForm(FlaskForm):
    password = PasswordField(
        _l("Mot de passe"), validators=[DataRequired(_l("Indiquez votre mot de passe."))]
    )


class ResendConfirmationForm(FlaskForm):
    pass


class EraseAccountForm(FlaskForm):
    """Closing one's account: the password again, what becomes of the reviews, and a deliberate tick."""

    password = PasswordField(
        _l("Mot de passe"), validators=[DataRequired(_l("Indiquez votre mot de passe."))]
    )
    reviews = RadioField(
        _l("Vos avis publiés"),
        choices=[
            SelectChoice("keep", _l("Les garder, signés « Client vérifié » (sans votre nom)")),
            SelectChoice("delete", _l("Les supprimer")),
        ],
        default="keep",
        validators=[DataRequired(_l("Choisissez ce que deviennent vos avis."))],
    )
    confirm = BooleanField(
        _l("Je comprends que mon compte sera fermé définitivement."),
        validators=[DataRequired(_l("Cochez la case pour confirmer."))],
    )
