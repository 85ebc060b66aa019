"""Account pages: sign-up, confirmation, log in (with the second factor), password and e-mail changes,
and "Mes données" (a copy of one's data, closing one's account)."""

from __future__ import annotations

import io
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_babel import get_locale, ngettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from app.accounts import auth, forms, personal_data, services
from app.accounts.auth import acting_user
from app.accounts.models import User
from app.errors import ServiceError
from app.extensions import db, limiter
from app.forms import show_error
from app.i18n import SESSION_KEY as LOCALE_SESSION_KEY
from app.site.errors import MESSAGES as ERROR_MESSAGES

blueprint = Blueprint("accounts", __name__)

TOTP_SETUP_SECRET = "accounts.totp_setup_secret"  # noqa: S105 - a session key, not a secret


# -- sign-up and confirmation -------------------------------------------------------------------


@blueprint.route("/inscription", methods=["GET", "POST"])
@limiter.limit(auth.limit("SIGNUP_RATE_LIMIT"), methods=["POST"])
# Per address, and per e-mail like every form that sends mail, so no one gets a flood of them.
@limiter.limit(auth.limit("RESET_RATE_LIMIT"), key_func=auth.email_key, methods=["POST"])
def signup() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("site.home"))
    form = forms.SignupForm()
    if form.validate_on_submit():
        # An address that already has an account gets the same answer (its owner is told by mail).
        services.register(
            email=form.email.data,
            password=form.password.data,
            first_name=form.first_name.data,
            last_name=form.last_name.data,
            locale=str(get_locale()),  # the language they are reading the site in
        )
        db.session.commit()
        return redirect(url_for("accounts.check_inbox", email=services.normalize_email(form.email.data)))
    return render_template("accounts/signup.html", form=form)


@blueprint.route("/inscription/verifiez-vos-e-mails")
def check_inbox() -> str:
    email = request.args.get("email", "")[:254]
    return render_template(
        "accounts/check_inbox.html", email=email, form=forms.ForgotPasswordForm(email=email)
    )


@blueprint.route("/inscription/renvoyer", methods=["POST"])
@limiter.limit(auth.limit("RESET_RATE_LIMIT"), methods=["POST"])
@limiter.limit(auth.limit("RESET_RATE_LIMIT"), key_func=auth.email_key, methods=["POST"])
def resend_confirmation() -> str | Response:
    form = forms.ForgotPasswordForm()
    if form.validate_on_submit():
        user = services.find_by_email(form.email.data)
        if user is not None and not user.email_confirmed:
            services.send_confirmation(user)
            db.session.commit()
        # The same answer whether or not there is such an account.
        flash(
            _l("Si un compte attend une confirmation à cette adresse, un nouveau lien vient d’être envoyé.")
        )
        return redirect(url_for("accounts.check_inbox", email=form.email.data))
    return render_template("accounts/check_inbox.html", email=form.email.data or "", form=form)


@blueprint.route("/confirmer/<token>")
def confirm_email(token: str) -> str | Response:
    try:
        services.confirm_email(token)
    except services.TokenError as error:
        return render_template("accounts/token_error.html", message=error.message), 400  # type: ignore[return-value]
    db.session.commit()
    flash(_l("Votre adresse e-mail est confirmée. Vous pouvez vous connecter."), "success")
    return redirect(url_for("accounts.login"))


# -- logging in and out -------------------------------------------------------------------------


@blueprint.route("/connexion", methods=["GET", "POST"])
@limiter.limit(auth.limit("LOGIN_ADDRESS_RATE_LIMIT"), methods=["POST"])
@limiter.limit(auth.limit("LOGIN_RATE_LIMIT"), key_func=auth.address_and_email_key, methods=["POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(url_for("site.home"))
    form = forms.LoginForm(next=request.args.get("next", ""))
    unconfirmed_email = None
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            form.form_errors.append(_l("Adresse e-mail ou mot de passe incorrect."))
        elif not user.email_confirmed:
            unconfirmed_email = user.email
            form.form_errors.append(
                _l("Confirmez d’abord votre adresse e-mail avec le lien que nous vous avons envoyé.")
            )
        elif user.two_factor_enabled:
            db.session.commit()  # a password rehash, if any
            return _ask_second_factor(user, remember=bool(form.remember.data), next_url=form.next.data)
        else:
            return _complete_login(user, remember=bool(form.remember.data), next_url=form.next.data)
    return render_template(
        "accounts/login.html",
        form=form,
        unconfirmed_email=unconfirmed_email,
        resend_form=forms.ForgotPasswordForm(),
    )


def _ask_second_factor(user: User, remember: bool, next_url: str | None) -> Response:
    session[auth.PENDING_SECOND_FACTOR] = services.pending_login_id(user)
    session[auth.PENDING_REMEMBER] = remember
    session[auth.PENDING_NEXT] = next_url or ""
    return redirect(url_for("accounts.second_factor"))


def _complete_login(user: User, remember: bool, next_url: str | None) -> Response:
    services.record_login(user)
    services.open_session(user)
    db.session.commit()
    session.pop(LOCALE_SESSION_KEY, None)  # from now on the account's language applies
    login_user(user, remember=remember)
    flash(_l("Bonjour %(name)s, vous êtes connecté.", name=user.first_name), "success")
    if user.two_factor_required and not user.two_factor_enabled:
        return redirect(url_for("accounts.two_factor_setup"))
    return redirect(auth.safe_next(next_url))


@blueprint.route("/connexion/verification", methods=["GET", "POST"])
@limiter.limit(auth.limit("SECOND_FACTOR_RATE_LIMIT"), key_func=auth.pending_user_key, methods=["POST"])
@limiter.limit(auth.limit("SECOND_FACTOR_RATE_LIMIT"), methods=["POST"])
def second_factor() -> str | Response:
    pending = session.get(auth.PENDING_SECOND_FACTOR)
    user = services.load_pending_user(pending) if pending else None
    if user is None:
        return redirect(url_for("accounts.login"))
    form = forms.SecondFactorForm()
    if form.validate_on_submit():
        if services.verify_second_factor(user, form.code.data):
            remember = bool(session.pop(auth.PENDING_REMEMBER, False))
            next_url = session.pop(auth.PENDING_NEXT, "")
            session.pop(auth.PENDING_SECOND_FACTOR, None)
            remaining = services.remaining_recovery_codes(user)
            response = _complete_login(user, remember=remember, next_url=next_url)
            if remaining <= 2:
                flash(
                    ngettext(
                        "Il vous reste %(num)d code de secours : générez-en de nouveaux.",
                        "Il vous reste %(num)d codes de secours : générez-en de nouveaux.",
                        remaining,
                    ),
                    "warning",
                )
            return response
        db.session.commit()  # keep the replay guard even on failure
        form.code.errors = [*form.code.errors, _l("Code incorrect.")]
    return render_template("accounts/second_factor.html", form=form)


@blueprint.route("/deconnexion", methods=["POST"])
def logout() -> Response:
    form = FlaskForm()
    if form.validate_on_submit():
        if current_user.is_authenticated:
            # This device's session ends for good: a copy of its cookies stops working too.
            services.close_session(acting_user())
            db.session.commit()
        logout_user()
        flash(_l("Vous êtes déconnecté."), "info")
    return redirect(url_for("site.home"))


@blueprint.route("/compte/securite/deconnexion-partout", methods=["POST"])
@login_required
def logout_everywhere() -> Response:
    form = FlaskForm()
    if not form.validate_on_submit():
        return redirect(url_for("accounts.security"))
    services.log_out_everywhere(acting_user())
    db.session.commit()
    logout_user()
    flash(_l("Vous êtes déconnecté sur tous vos appareils, celui-ci compris."), "info")
    return redirect(url_for("accounts.login"))


# -- login by a mailed link, for someone the log-in rate limit stops ------------------------------


@blueprint.errorhandler(429)
def too_many_attempts(error: Exception) -> tuple[str, int]:
    if request.endpoint == "accounts.login":
        # The limit holds for this address (and this address and account): the owner may still get in
        # with a link sent to their mailbox, which no one failing on purpose can read.
        form = forms.LoginLinkForm(formdata=None, email=request.form.get("email", "")[:254])
        return render_template("accounts/login_link_request.html", form=form, locked=True), 429
    return render_template("errors/error.html", status=429, message=ERROR_MESSAGES[429]), 429


@blueprint.route("/connexion/lien", methods=["GET", "POST"])
@limiter.limit(auth.limit("RESET_RATE_LIMIT"), methods=["POST"])
@limiter.limit(auth.limit("RESET_RATE_LIMIT"), key_func=auth.address_and_email_key, methods=["POST"])
def request_login_link() -> str | Response:
    form = forms.LoginLinkForm()
    if form.validate_on_submit():
        services.request_login_link(form.email.data)
        db.session.commit()
        flash(
            _l(
                "Si un compte existe à cette adresse, vous allez recevoir un lien de connexion, "
                "valable %(minutes)d minutes.",
                minutes=current_app.config["LOGIN_LINK_MAX_AGE"] // 60,
            ),
            "info",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/login_link_request.html", form=form, locked=False)


@blueprint.route("/connexion/lien/<token>", methods=["GET", "POST"])
@limiter.limit(auth.limit("RESET_RATE_LIMIT"), methods=["POST"])
def login_link(token: str) -> str | Response:
    """The link asks for a click before logging in: mail scanners that open links must not spend it."""
    if current_user.is_authenticated:
        return redirect(url_for("site.home"))
    try:
        user = services.check_login_link(token)
    except services.TokenError as error:
        return render_template("accounts/token_error.html", message=error.message), 400  # type: ignore[return-value]
    form = FlaskForm()
    if form.validate_on_submit():
        if user.two_factor_enabled:
            return _ask_second_factor(user, remember=False, next_url=None)
        return _complete_login(user, remember=False, next_url=None)
    return render_template("accounts/login_link.html", form=form, user=user)


# -- forgotten password -------------------------------------------------------------------------


@blueprint.route("/mot-de-passe-oublie", methods=["GET", "POST"])
@limiter.limit(auth.limit("RESET_RATE_LIMIT"), methods=["POST"])
@limiter.limit(auth.limit("RESET_RATE_LIMIT"), key_func=auth.email_key, methods=["POST"])
def forgot_password() -> str | Response:
    form = forms.ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(form.email.data)
        db.session.commit()
        flash(
            _l(
                "Si un compte existe à cette adresse, vous allez recevoir un lien "
                "pour choisir un mot de passe."
            ),
            "info",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


@blueprint.route("/mot-de-passe/<token>", methods=["GET", "POST"])
@limiter.limit(auth.limit("RESET_RATE_LIMIT"), methods=["POST"])
def reset_password(token: str) -> str | Response:
    try:
        services.check_reset_token(token)
    except services.TokenError as error:
        return render_template("accounts/token_error.html", message=error.message), 400  # type: ignore[return-value]
    form = forms.ResetPasswordForm()
    if form.validate_on_submit():
        services.reset_password(token, form.password.data)
        db.session.commit()
        logout_user()
        flash(_l("Votre mot de passe est changé. Connectez-vous avec le nouveau."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/reset_password.html", form=form)


# -- the account page ---------------------------------------------------------------------------


@blueprint.route("/compte", methods=["GET", "POST"])
@login_required
def account() -> str | Response:
    user = acting_user()
    form = forms.ProfileForm(obj=user)
    if form.validate_on_submit():
        services.update_profile(user, form.first_name.data, form.last_name.data, form.locale.data)
        db.session.commit()
        flash(_l("Vos informations sont enregistrées."), "success")
        return redirect(url_for("accounts.account"))
    return render_template("accounts/account.html", form=form, user=user)


@blueprint.route("/compte/mot-de-passe", methods=["GET", "POST"])
@login_required
def change_password() -> str | Response:
    user = acting_user()
    form = forms.ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(user, form.current_password.data, form.password.data)
        except services.AccountError as error:
            show_error(form, error)
        else:
            # Every session ended with the old password: this device gets a new one, the others are out.
            services.open_session(user)
            db.session.commit()
            login_user(user)
            flash(_l("Votre mot de passe est changé. Vos autres appareils sont déconnectés."), "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/change_password.html", form=form)


@blueprint.route("/compte/e-mail", methods=["GET", "POST"])
@login_required
def change_email() -> str | Response:
    user = acting_user()
    form = forms.ChangeEmailForm()
    if form.validate_on_submit():
        try:
            services.request_email_change(user, form.email.data, form.password.data)
        except services.AccountError as error:
            show_error(form, error)
        else:
            db.session.commit()
            flash(
                _l(
                    "Nous avons envoyé un lien à %(email)s : suivez-le pour confirmer le changement.",
                    email=services.normalize_email(form.email.data),
                ),
                "info",
            )
            return redirect(url_for("accounts.account"))
    return render_template("accounts/change_email.html", form=form, user=user)


@blueprint.route("/compte/e-mail/<token>")
def confirm_email_change(token: str) -> str | Response:
    try:
        services.confirm_email_change(token)
    except services.TokenError as error:
        return render_template("accounts/token_error.html", message=error.message), 400  # type: ignore[return-value]
    db.session.commit()
    flash(_l("Votre nouvelle adresse e-mail est confirmée."), "success")
    return redirect(url_for("accounts.account" if current_user.is_authenticated else "accounts.login"))


# -- two-factor authentication ------------------------------------------------------------------


@blueprint.route("/compte/securite")
@login_required
def security() -> str:
    user = acting_user()
    return render_template(
        "accounts/security.html",
        user=user,
        remaining=services.remaining_recovery_codes(user),
        password_form=forms.PasswordConfirmForm(),
        logout_everywhere_form=FlaskForm(),
    )


@blueprint.route("/compte/securite/activer", methods=["GET", "POST"])
@login_required
def two_factor_setup() -> str | Response:
    user = acting_user()
    if user.two_factor_enabled:
        return redirect(url_for("accounts.security"))
    secret = session.get(TOTP_SETUP_SECRET) or services.new_totp_secret()
    session[TOTP_SETUP_SECRET] = secret
    form = forms.EnableTwoFactorForm()
    if form.validate_on_submit():
        try:
            codes = services.enable_two_factor(user, secret, form.code.data)
        except services.AccountError as error:
            show_error(form, error)
        else:
            db.session.commit()
            session.pop(TOTP_SETUP_SECRET, None)
            flash(_l("La double authentification est activée."), "success")
            # Shown once, in this response only: they are stored hashed.
            return render_template("accounts/recovery_codes.html", codes=codes)
    import segno

    uri = services.totp_uri(user, secret)
    qr_svg = segno.make(uri, error="m").svg_data_uri(scale=5, border=2)
    return render_template("accounts/two_factor_setup.html", form=form, secret=secret, qr_svg=qr_svg)


@blueprint.route("/compte/securite/desactiver", methods=["POST"])
@login_required
def two_factor_disable() -> str | Response:
    user = acting_user()
    form = forms.PasswordConfirmForm()
    if form.validate_on_submit():
        try:
            services.disable_two_factor(user, form.password.data)
        except services.AccountError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_l("La double authentification est désactivée."), "info")
    else:
        flash(_l("Indiquez votre mot de passe."), "error")
    return redirect(url_for("accounts.security"))


@blueprint.route("/compte/securite/codes", methods=["POST"])
@login_required
def recovery_codes() -> str | Response:
    user = acting_user()
    form = forms.PasswordConfirmForm()
    if form.validate_on_submit():
        try:
            codes = services.regenerate_recovery_codes(user, form.password.data)
        except services.AccountError as error:
            flash(error.message, "error")
        else:
            db.session.commit()
            return render_template("accounts/recovery_codes.html", codes=codes)
    else:
        flash(_l("Indiquez votre mot de passe."), "error")
    return redirect(url_for("accounts.security"))


# -- my data: export and erasure (GDPR articles 15, 17 and 20) ----------------------------------


@blueprint.route("/compte/mes-donnees")
@login_required
def my_data() -> str:
    user = acting_user()
    return _my_data_page(user, forms.EraseAccountForm())


def _my_data_page(user: User, erase_form: forms.EraseAccountForm, status: int = 200) -> Any:
    return render_template(
        "accounts/my_data.html",
        user=user,
        exports=personal_data.exports_of(user),
        export_form=FlaskForm(),
        erase_form=erase_form,
        blockers=personal_data.erasure_blockers(user),
        export_days=current_app.config["DATA_EXPORT_DAYS"],
    ), status


@blueprint.route("/compte/mes-donnees/export", methods=["POST"])
@login_required
@limiter.limit(auth.limit("RESET_RATE_LIMIT"), methods=["POST"])
def request_data_export() -> Response:
    if FlaskForm().validate_on_submit():
        personal_data.request_export(acting_user())
        db.session.commit()
        flash(
            _l(
                "Nous préparons vos données : vous recevrez un e-mail avec un lien de téléchargement, "
                "valable %(days)d jours.",
                days=current_app.config["DATA_EXPORT_DAYS"],
            ),
            "success",
        )
    return redirect(url_for("accounts.my_data"))


@blueprint.route("/compte/mes-donnees/export/<token>")
@login_required
def download_data_export(token: str) -> Any:
    """The archive, for the person it belongs to only: someone else gets the same 404 as a made-up
    link, an expired link a 410 that says to ask again."""
    try:
        export, content = personal_data.export_for_download(acting_user(), token)
    except personal_data.ExportLinkError as error:
        page = render_template("accounts/token_error.html", message=error.message)
        return page, error.status
    name = f"mes-donnees-{export.ready_at:%Y-%m-%d}.zip" if export.ready_at else "mes-donnees.zip"
    response = send_file(
        io.BytesIO(content), mimetype="application/zip", as_attachment=True, download_name=name, max_age=0
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.route("/compte/mes-donnees/supprimer", methods=["POST"])
@login_required
@limiter.limit(auth.limit("SECOND_FACTOR_RATE_LIMIT"), methods=["POST"])
def erase_account() -> Any:
    user = acting_user()
    form = forms.EraseAccountForm()
    if not form.validate_on_submit():
        return _my_data_page(user, form, 400)
    try:
        personal_data.request_erasure(user, form.password.data, keep_reviews=form.reviews.data == "keep")
    except ServiceError as error:
        db.session.rollback()
        show_error(form, error)
        return _my_data_page(acting_user(), form, 400)
    db.session.commit()
    logout_user()
    flash(
        _l("Votre compte est supprimé et vos données personnelles effacées. Merci d’avoir utilisé le site."),
        "info",
    )
    return redirect(url_for("site.home"))
