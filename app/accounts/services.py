"""Account use cases. Each takes the acting person and plain data explicitly and never commits."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app import mail
from app.accounts.models import LoginSession, RecoveryCode, Role, User
from app.database import utcnow
from app.errors import ServiceError
from app.extensions import db
from app.urls import external_url

if TYPE_CHECKING:
    from argon2 import PasswordHasher

RECOVERY_CODE_COUNT = 10
TOTP_ISSUER_FALLBACK = "Marketplace"


class AccountError(ServiceError):
    """A refused account use case."""


class TokenError(AccountError):
    """A link from an e-mail that is forged, expired or already used."""


# -- passwords ----------------------------------------------------------------------------------


def _hasher() -> PasswordHasher:
    # Argon2id with the RFC 9106 low-memory profile; tests use the cheapest one to stay fast. Imported
    # here: a worker serving pages loads argon2 (and cffi) with its first log-in or sign-up.
    from argon2 import PasswordHasher, profiles

    if current_app.config.get("PASSWORD_HASH_CHEAP"):
        return PasswordHasher.from_parameters(profiles.CHEAPEST)
    return PasswordHasher.from_parameters(profiles.RFC_9106_LOW_MEMORY)


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def _verify_password(user: User, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _hasher()
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return True


def check_password(user: User, password: str) -> bool:
    """Whether ``password`` is the account's: the re-authentication before a grave step (erasure)."""
    return _verify_password(user, password)


def _set_password(user: User, password: str) -> None:
    user.password_hash = hash_password(password)
    _end_all_sessions(user)


def normalize_email(address: str) -> str:
    return address.strip().lower()


def find_by_email(address: str) -> User | None:
    return db.session.scalar(db.select(User).where(User.email == normalize_email(address)))


# -- sign-up and confirmation -------------------------------------------------------------------


def register(email: str, password: str, first_name: str, last_name: str, locale: str) -> User | None:
    """Create a shopper account and send the confirmation link.

    If the address already has an account, nothing is created and its owner is told by mail instead
    (None is returned): the page answers the same either way, so sign-up tells no one who has an account.
    """
    email = normalize_email(email)
    existing = find_by_email(email)
    if existing is not None:
        hash_password(password)  # the time creating an account takes, so the timing says nothing either
        if existing.is_active:
            mail.send(
                existing.email,
                _l("Quelqu’un a voulu créer un compte avec votre adresse"),
                "accounts/signup_existing",
                locale=existing.locale,
                user=existing,
                login_link=external_url("accounts.login"),
                reset_link=external_url("accounts.forgot_password"),
            )
        return None
    user = User(
        email=email,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        locale=locale,
        role=Role.SHOPPER,
        session_token=secrets.token_hex(16),
        password_hash="",
    )
    _set_password(user, password)
    db.session.add(user)
    db.session.flush()
    send_confirmation(user)
    return user


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"accounts.{salt}")


def _load_token(salt: str, token: str, max_age: int) -> dict[str, Any]:
    try:
        data = _serializer(salt).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise TokenError(_l("Ce lien a expiré. Demandez-en un nouveau.")) from exc
    except BadSignature as exc:
        raise TokenError(_l("Ce lien n’est pas valide.")) from exc
    if not isinstance(data, dict):
        raise TokenError(_l("Ce lien n’est pas valide."))
    return data


def _token_user(data: dict[str, Any]) -> User:
    user = db.session.get(User, data.get("u"))
    if user is None or not user.is_active:
        raise TokenError(_l("Ce lien n’est pas valide."))
    return user


def send_confirmation(user: User) -> None:
    token = _serializer("confirm").dumps({"u": user.id, "e": user.email})
    mail.send(
        user.email,
        _l("Confirmez votre adresse e-mail"),
        "accounts/confirm",
        locale=user.locale,
        user=user,
        link=external_url("accounts.confirm_email", token=token),
    )


def confirm_email(token: str) -> User:
    """Mark the address confirmed. A link for an address the account no longer has is refused."""
    data = _load_token("confirm", token, current_app.config["CONFIRM_TOKEN_MAX_AGE"])
    user = _token_user(data)
    if data.get("e") != user.email:
        raise TokenError(_l("Ce lien n’est pas valide."))
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    return user


# -- logging in ---------------------------------------------------------------------------------


def authenticate(email: str, password: str) -> User | None:
    """The active account with this e-mail and password, or None. Takes the same time either way."""
    user = find_by_email(email)
    if user is None:
        _hasher().hash(password)  # spend the time a real check would, so no one learns who has an account
        return None
    if not _verify_password(user, password) or not user.is_active:
        return None
    return user


def record_login(user: User) -> None:
    user.last_login_at = utcnow()


# -- login sessions -----------------------------------------------------------------------------
#
# Flask-Login keeps ``User.get_id()``, ``<user id>:<session token>:<session key>``, in the signed
# session cookie and in the remember-me cookie. Both are checked against the database on every request:
# the session token is the account's generation (changed by a password change or reset and by "log out
# everywhere"), the session key names one device's LoginSession row (deleted when that device logs out).
# A copied cookie therefore dies with the session it was copied from.


def session_lifetime() -> dt.timedelta:
    """The longest a login session can last: the remember-me cookie's or the session cookie's life."""
    remember = current_app.config["REMEMBER_COOKIE_DURATION"]
    if not isinstance(remember, dt.timedelta):
        remember = dt.timedelta(seconds=remember)
    return max(remember, current_app.permanent_session_lifetime)


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def open_session(user: User) -> None:
    """Start a login session for one device; its key goes into the cookies through ``user.get_id()``."""
    now = utcnow()
    db.session.execute(
        sa.delete(LoginSession).where(
            LoginSession.user_id == user.id, LoginSession.created_at < now - session_lifetime()
        )
    )
    key = secrets.token_urlsafe(32)
    db.session.add(LoginSession(user_id=user.id, key_hash=_key_hash(key), created_at=now))
    user.session_key = key


def close_session(user: User) -> None:
    """Log this device out: its session key stops working, even in a copy of its cookies."""
    if user.session_key:
        db.session.execute(
            sa.delete(LoginSession).where(
                LoginSession.user_id == user.id, LoginSession.key_hash == _key_hash(user.session_key)
            )
        )
    user.session_key = None


def log_out_everywhere(user: User) -> None:
    """End every login session of the account, on every device, this one included."""
    _end_all_sessions(user)


def _end_all_sessions(user: User) -> None:
    user.session_token = secrets.token_hex(16)
    user.session_key = None
    if user.id is not None:
        db.session.execute(sa.delete(LoginSession).where(LoginSession.user_id == user.id))


def load_session_user(session_id: str) -> User | None:
    """The user of a Flask-Login id, or None once that session ended (logged out there or everywhere,
    password changed, account disabled) or outlived the cookies' lifetime."""
    parts = session_id.split(":")
    if len(parts) != 3:
        return None
    user_id, token, key = parts
    if not user_id.isdigit() or not token or not key:
        return None
    found = db.session.execute(
        sa.select(User, LoginSession.created_at)
        .join(LoginSession, LoginSession.user_id == User.id)
        .where(User.id == int(user_id), LoginSession.key_hash == _key_hash(key))
    ).first()
    if found is None:
        return None
    user, started_at = found
    if not user.is_active or not hmac.compare_digest(user.session_token.encode(), token.encode()):
        return None
    if started_at < utcnow() - session_lifetime():
        return None
    user.session_key = key
    return user


def pending_login_id(user: User) -> str:
    """Who passed the password step and still owes the second factor (kept in their session)."""
    return f"{user.id}:{user.session_token}"


def load_pending_user(pending_id: str) -> User | None:
    user_id, _, token = pending_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db.session.get(User, int(user_id))
    if (
        user is None
        or not user.is_active
        or not hmac.compare_digest(user.session_token.encode(), token.encode())
    ):
        return None
    return user


# -- one-time login links -----------------------------------------------------------------------


def _login_fingerprint(user: User) -> str:
    # Changes when the person logs in (by any means) or their sessions are ended: the link works once.
    last_login = f"{user.last_login_at.timestamp():.6f}" if user.last_login_at else ""
    material = f"{user.session_token}:{last_login}".encode()
    return hashlib.sha256(material).hexdigest()[:16]


def request_login_link(email: str) -> None:
    """Mail a short-lived, single-use link that logs in without the password (for someone locked out
    by the log-in rate limit). Says nothing either way, like the password reset."""
    user = find_by_email(email)
    if user is None or not user.is_active or not user.email_confirmed:
        return
    token = _serializer("login-link").dumps({"u": user.id, "f": _login_fingerprint(user)})
    mail.send(
        user.email,
        _l("Votre lien de connexion"),
        "accounts/login_link",
        locale=user.locale,
        user=user,
        link=external_url("accounts.login_link", token=token),
        minutes=current_app.config["LOGIN_LINK_MAX_AGE"] // 60,
    )


def check_login_link(token: str) -> User:
    """The account a login link is for; refused once used, expired or after the sessions ended."""
    data = _load_token("login-link", token, current_app.config["LOGIN_LINK_MAX_AGE"])
    user = _token_user(data)
    if not user.email_confirmed or data.get("f") != _login_fingerprint(user):
        raise TokenError(_l("Ce lien a déjà servi. Demandez-en un nouveau."))
    return user


# -- password reset and changes -----------------------------------------------------------------


def request_password_reset(email: str) -> None:
    """Mail a reset link if the account exists. Says nothing either way (no account enumeration)."""
    user = find_by_email(email)
    if user is None or not user.is_active:
        return
    # The token carries a fingerprint of the current hash: once the password changes it is dead.
    token = _serializer("reset").dumps({"u": user.id, "h": _hash_fingerprint(user)})
    mail.send(
        user.email,
        _l("Réinitialisation de votre mot de passe"),
        "accounts/reset_password",
        locale=user.locale,
        user=user,
        link=external_url("accounts.reset_password", token=token),
        minutes=current_app.config["RESET_TOKEN_MAX_AGE"] // 60,
    )


def _hash_fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def check_reset_token(token: str) -> User:
    data = _load_token("reset", token, current_app.config["RESET_TOKEN_MAX_AGE"])
    user = _token_user(data)
    if data.get("h") != _hash_fingerprint(user):
        raise TokenError(_l("Ce lien a déjà servi. Demandez-en un nouveau."))
    return user


def reset_password(token: str, new_password: str) -> User:
    """Set a new password from a reset link; the link also proves the address, so it confirms it."""
    user = check_reset_token(token)
    _set_password(user, new_password)
    if user.email_confirmed_at is None:
        user.email_confirmed_at = utcnow()
    _notify_password_changed(user)
    return user


def change_password(user: User, current_password: str, new_password: str) -> None:
    if not _verify_password(user, current_password):
        raise AccountError(_l("Mot de passe actuel incorrect."), field="current_password")
    _set_password(user, new_password)
    _notify_password_changed(user)


def _notify_password_changed(user: User) -> None:
    mail.send(
        user.email,
        _l("Votre mot de passe a été modifié"),
        "accounts/password_changed",
        locale=user.locale,
        user=user,
        link=external_url("accounts.forgot_password"),
    )


def request_email_change(user: User, new_email: str, password: str) -> None:
    """Send a confirmation link to the new address; the change happens when it is followed."""
    if not _verify_password(user, password):
        raise AccountError(_l("Mot de passe incorrect."), field="password")
    new_email = normalize_email(new_email)
    if new_email == user.email:
        raise AccountError(_l("C’est déjà votre adresse e-mail."), field="email")
    if find_by_email(new_email):
        raise AccountError(_l("Un compte existe déjà avec cette adresse e-mail."), field="email")
    token = _serializer("change-email").dumps({"u": user.id, "old": user.email, "new": new_email})
    mail.send(
        new_email,
        _l("Confirmez votre nouvelle adresse e-mail"),
        "accounts/change_email",
        locale=user.locale,
        user=user,
        new_email=new_email,
        link=external_url("accounts.confirm_email_change", token=token),
    )


def confirm_email_change(token: str) -> User:
    data = _load_token("change-email", token, current_app.config["CONFIRM_TOKEN_MAX_AGE"])
    user = _token_user(data)
    if data.get("old") != user.email:
        raise TokenError(_l("Ce lien a déjà servi. Demandez-en un nouveau."))
    new_email = str(data.get("new"))
    if find_by_email(new_email):
        raise TokenError(_l("Un compte existe déjà avec cette adresse e-mail."))
    old_email = user.email
    user.email = new_email
    user.email_confirmed_at = utcnow()
    mail.send(
        old_email,
        _l("Votre adresse e-mail a été modifiée"),
        "accounts/email_changed",
        locale=user.locale,
        user=user,
        new_email=new_email,
    )
    return user


def update_profile(user: User, first_name: str, last_name: str, locale: str) -> None:
    user.first_name = first_name.strip()
    user.last_name = last_name.strip()
    user.locale = locale


def set_locale(user: User, locale: str) -> None:
    user.locale = locale


# -- two-factor authentication ------------------------------------------------------------------


def new_totp_secret() -> str:
    import pyotp

    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    import pyotp

    issuer = current_app.config.get("MARKETPLACE_NAME") or TOTP_ISSUER_FALLBACK
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=issuer)


def _accept_totp(user: User, secret: str, code: str) -> bool:
    """Check a 6-digit code (one step of clock drift allowed) and refuse a step already used."""
    import pyotp

    code = "".join(code.split())
    if not (len(code) == 6 and code.isascii() and code.isdigit()):  # not "١٢٣٤٥٦": digits of 0-9 only
        return False
    totp = pyotp.TOTP(secret)
    now = utcnow()
    current_step = totp.timecode(now)
    for step in (current_step - 1, current_step, current_step + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            if user.totp_last_step is not None and step <= user.totp_last_step:
                return False
            user.totp_last_step = step
            return True
    return False


def enable_two_factor(user: User, secret: str, code: str) -> list[str]:
    """Turn on TOTP once the person proves their app has the secret; return fresh recovery codes."""
    if not _accept_totp(user, secret, code):
        raise AccountError(_l("Code incorrect. Vérifiez l’heure de votre téléphone."), field="code")
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    return _new_recovery_codes(user)


def disable_two_factor(user: User, password: str) -> None:
    if user.two_factor_required:
        raise AccountError(_l("La double authentification est obligatoire pour votre compte."))
    if not _verify_password(user, password):
        raise AccountError(_l("Mot de passe incorrect."), field="password")
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.recovery_codes.clear()


def regenerate_recovery_codes(user: User, password: str) -> list[str]:
    if not user.two_factor_enabled:
        raise AccountError(_l("La double authentification n’est pas activée."))
    if not _verify_password(user, password):
        raise AccountError(_l("Mot de passe incorrect."), field="password")
    return _new_recovery_codes(user)


def verify_second_factor(user: User, code: str) -> bool:
    """A TOTP code from the app, or an unused recovery code (which is then spent)."""
    if not user.two_factor_enabled or not user.totp_secret:
        return False
    if _accept_totp(user, user.totp_secret, code):
        return True
    digest = _recovery_digest(code)
    for recovery in user.recovery_codes:
        if recovery.used_at is None and hmac.compare_digest(recovery.code_hash, digest):
            recovery.used_at = utcnow()
            return True
    return False


def remaining_recovery_codes(user: User) -> int:
    return sum(1 for code in user.recovery_codes if code.used_at is None)


def _new_recovery_codes(user: User) -> list[str]:
    user.recovery_codes.clear()
    codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODE_COUNT)]
    user.recovery_codes.extend(RecoveryCode(code_hash=_recovery_digest(code)) for code in codes)
    return codes


def _recovery_digest(code: str) -> str:
    # 64 random bits per code: a keyed SHA-256 is enough, and verifying ten of them stays instant.
    normalized = "".join(code.lower().split())
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, normalized.encode(), hashlib.sha256).hexdigest()


# -- managers -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewManager:
    email: str
    password: str
    first_name: str
    last_name: str


def create_manager(data: NewManager) -> User:
    """A town commerce manager: confirmed at once, must enrol a second factor at first login."""
    email = normalize_email(data.email)
    user = find_by_email(email)
    if user is not None:
        raise AccountError(_l("Un compte existe déjà avec cette adresse e-mail."), field="email")
    user = User(
        email=email,
        first_name=data.first_name,
        last_name=data.last_name,
        locale=current_app.config["BABEL_DEFAULT_LOCALE"],
        role=Role.MANAGER,
        email_confirmed_at=utcnow(),
        session_token=secrets.token_hex(16),
        password_hash="",
    )
    _set_password(user, data.password)
    db.session.add(user)
    db.session.flush()
    return user
