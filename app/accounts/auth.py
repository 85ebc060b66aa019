"""Who is signed in: Flask-Login wiring, the two-factor gate and the rate-limit keys."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast
from urllib.parse import unquote, urlsplit

from flask import Flask, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from werkzeug.wrappers import Response

from app import permissions
from app.accounts import services
from app.accounts.models import User
from app.assets import PUBLIC_FILE_ENDPOINTS

F = TypeVar("F", bound=Callable[..., Any])

PENDING_SECOND_FACTOR = "accounts.pending_user"
PENDING_REMEMBER = "accounts.pending_remember"
PENDING_NEXT = "accounts.pending_next"

# Where a manager who has not enrolled a second factor yet may still go.
OPEN_TO_UNENROLLED = {
    "accounts.two_factor_setup",
    "accounts.logout",
    "site.set_language",
    "site.save_language",
    "static",
}


def init_login_manager(app: Flask, manager: LoginManager) -> None:
    manager.init_app(app)
    manager.login_view = "accounts.login"
    manager.login_message = _l("Connectez-vous pour accéder à cette page.")
    manager.login_message_category = "info"
    manager.session_protection = "basic"
    manager.user_loader(services.load_session_user)
    app.before_request(_require_second_factor_enrolment)


def _require_second_factor_enrolment() -> Response | None:
    if request.endpoint in PUBLIC_FILE_ENDPOINTS:  # the same for everyone: their session is not read
        return None
    if not current_user.is_authenticated:
        return None
    user = cast(User, current_user)
    if (
        user.two_factor_required
        and not user.two_factor_enabled
        and request.endpoint not in OPEN_TO_UNENROLLED
    ):
        flash(_l("Votre rôle exige la double authentification : activez-la pour continuer."), "warning")
        return redirect(url_for("accounts.two_factor_setup"))
    return None


def acting_user() -> User:
    """The signed-in person, as the User that services take explicitly (views only)."""
    return cast(User, current_user._get_current_object())


def manager_required(view: F) -> F:
    """The town's commerce managers only; others get a 404, so the console's URLs reveal nothing."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return current_app.login_manager.unauthorized()  # type: ignore[attr-defined]
        if not permissions.allows(
            permissions.platform_actor(current_user), permissions.Permission.TOWN_CONSOLE
        ):
            abort(404)
        return view(*args, **kwargs)

    # What the permission matrix test asks of every guarded view, as the back office's views answer it.
    wrapped.required_permission = lambda _method, _arguments: permissions.Permission.TOWN_CONSOLE  # type: ignore[attr-defined]
    return cast(F, wrapped)


MAX_NEXT_LENGTH = 2048


def safe_next(target: str | None, default: str = "site.home") -> str:
    """A path on this site to go back to (after logging in, switching language...); anything else
    (another host, a scheme, a trick a browser would read as one) gives the ``default`` page."""
    return local_path(target) or url_for(default)


def local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None.

    Browsers are lenient where a check is strict: they drop tabs and newlines anywhere in a URL, strip
    leading spaces and control characters, read ``\\`` as ``/``, and ``//host`` or ``/\\host`` as another
    host. So a target with any control, format or line-separator character, or a backslash, or leading
    or trailing space is refused outright, and what remains must start with exactly one ``/`` and have
    no scheme and no host, both as given and once percent-decoded (in case it is decoded again later).
    """
    if not target or len(target) > MAX_NEXT_LENGTH:
        return None
    for candidate in (target, unquote(target)):
        if candidate != candidate.strip() or "\\" in candidate:
            return None
        if any(unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"} for char in candidate):
            return None
        if not candidate.startswith("/") or candidate.startswith("//"):
            return None
        parts = urlsplit(candidate)
        if parts.scheme or parts.netloc:
            return None
    return target


# -- rate-limit keys: per client address, and per (address, account) pair for log-in, so that failing
# on purpose from one place locks out only that place, never the account itself --


def email_key() -> str:
    return "email:" + services.normalize_email(request.form.get("email", ""))


def address_and_email_key() -> str:
    email = services.normalize_email(request.form.get("email", ""))
    return f"address-email:{get_remote_address()}:{email}"


def pending_user_key() -> str:
    return "2fa:" + str(session.get(PENDING_SECOND_FACTOR) or get_remote_address())


def limit(config_key: str) -> Callable[[], str]:
    return lambda: str(current_app.config[config_key])
