"""Who is signed in: Flask-Login wiring, the two-factor gate and the rate-limit keys."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, current_user
from werkzeug.wrappers import Response

from app.accounts import services
from app.accounts.models import User

F = TypeVar("F", bound=Callable[..., Any])

PENDING_SECOND_FACTOR = "accounts.pending_user"
PENDING_REMEMBER = "accounts.pending_remember"
PENDING_NEXT = "accounts.pending_next"

# Where a manager who has not enrolled a second factor yet may still go.
OPEN_TO_UNENROLLED = {
    "accounts.two_factor_setup",
    "accounts.logout",
    "site.set_language",
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
        if not cast(User, current_user).is_manager:
            abort(404)
        return view(*args, **kwargs)

    return cast(F, wrapped)


def safe_next(target: str | None, default: str = "site.home") -> str:
    """A local path to go back to after logging in; anything else (another host, a scheme) is ignored."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for(default)


# -- rate-limit keys: per address and per account, so neither many IPs nor many accounts get through --


def email_key() -> str:
    return "email:" + services.normalize_email(request.form.get("email", ""))


def pending_user_key() -> str:
    return "2fa:" + str(session.get(PENDING_SECOND_FACTOR) or get_remote_address())


def limit(config_key: str) -> Callable[[], str]:
    return lambda: str(current_app.config[config_key])
