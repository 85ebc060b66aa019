"""Who calls the API: ``Authorization: Bearer <key>``, the key's scopes, the shop it acts for.

Each view says what it needs with ``scoped`` (a scope of the permission table) or ``public`` (no key
needed; a key, when sent, must be valid). The check runs before the request's body is read, so a
caller without the right gets its 401/403 whatever it sent. Views read the caller with ``caller()``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, g, request
from flask_limiter.util import get_remote_address

from api import services
from api.problems import problem
from app.extensions import db
from app.permissions import ApiScope

F = TypeVar("F", bound=Callable[..., Any])


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _authenticate(required: bool) -> services.Caller | None:
    g.api_caller = None
    token = bearer_token()
    if token is None:
        if required:
            raise problem(401)
        return None
    found = services.authenticate(token)
    if found is None:
        raise problem(401)
    if services.note_use(found.key):
        db.session.commit()  # the only write so far: the key's last use, at most once a minute
    g.api_caller = found
    return found


def caller() -> services.Caller:
    """The authenticated caller of a ``scoped`` view."""
    found: services.Caller | None = g.get("api_caller")
    if found is None:
        raise problem(401)
    return found


def optional_caller() -> services.Caller | None:
    found: services.Caller | None = g.get("api_caller")
    return found


def scoped(scope: ApiScope, *, shop: bool = True) -> Callable[[F], F]:
    """The view needs a key holding ``scope``; ``shop``: a shop's key (the town's key reads no shop's
    back office), else the town's key."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            found = _authenticate(required=True)
            assert found is not None
            if not found.may(scope) or (found.shop_id is not None) != shop:
                raise problem(403)
            return view(*args, **kwargs)

        wrapped.api_scope = scope  # type: ignore[attr-defined]
        wrapped.api_shop = shop  # type: ignore[attr-defined]
        return cast(F, wrapped)

    return decorate


def public(view: F) -> F:
    """Open to anyone; a key sent along must still be valid (so a revoked one is noticed)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _authenticate(required=False)
        return view(*args, **kwargs)

    wrapped.api_scope = None  # type: ignore[attr-defined]
    return cast(F, wrapped)


def rate_limit() -> str:
    """A key's allowance, or the smaller one of a caller without a key (the public endpoints)."""
    name = "API_RATE_LIMIT" if bearer_token() else "API_PUBLIC_RATE_LIMIT"
    return str(current_app.config[name])


def rate_limit_key() -> str:
    """Requests are counted per key (by its hash: the same token, the same counter), else per address."""
    token = bearer_token()
    if token:
        return "api-key:" + services.token_hash(token)[:32]
    return "api-address:" + (get_remote_address() or "")
