"""API keys and idempotency: made, looked up, revoked, replayed. Nothing here commits.

A token is ``mk_live_`` (``mk_test_`` outside production) and 43 random URL-safe characters (256 bits);
only its SHA-256 is stored, so a leaked database gives no usable key, and a lookup is one indexed
equality (no slow hash is needed for a token that cannot be guessed).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from api.models import ApiKey, IdempotencyRecord
from app import permissions
from app.accounts.models import User
from app.audit import services as audit
from app.database import utcnow
from app.errors import ServiceError
from app.extensions import db
from app.permissions import ApiScope
from vendors.models import ShopMember

PREFIX_LENGTH = 16  # "mk_live_" and 8 characters of the secret
MAX_KEYS_PER_OWNER = 20
# How stale ``last_used_at`` may get: a key used every second writes its row once a minute.
LAST_USE_PRECISION = dt.timedelta(minutes=1)
IDEMPOTENCY_TTL = dt.timedelta(hours=24)


class ApiKeyError(ServiceError):
    """A refused key operation."""


@dataclass(frozen=True)
class NewKey:
    """A key just made: ``token`` is shown once and never again."""

    key: ApiKey
    token: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _new_token() -> str:
    live = current_app.config.get("APP_ENV") == "production"
    return ("mk_live_" if live else "mk_test_") + secrets.token_urlsafe(32)


def _clean_scopes(scopes: Iterable[str], actor: permissions.Actor) -> list[str]:
    allowed = permissions.grantable_scopes(actor)
    chosen = [scope for scope in allowed if scope.value in set(scopes)]
    if not chosen or len(chosen) != len(set(scopes)):
        raise ApiKeyError(_l("Choisissez au moins une autorisation parmi celles proposées."), "scopes")
    return [scope.value for scope in chosen]


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ApiKeyError(_l("Donnez un nom à la clé (par exemple « Caisse du magasin »)."), "name")
    if len(name) > 80:
        raise ApiKeyError(_l("80 caractères au plus."), "name")
    return name


def _make(shop_id: int | None, user: User, name: str, scopes: list[str]) -> NewKey:
    token = _new_token()
    key = ApiKey(
        shop_id=shop_id,
        created_by_id=user.id,
        name=name,
        prefix=token[:PREFIX_LENGTH],
        token_hash=token_hash(token),
        scopes=scopes,
    )
    db.session.add(key)
    db.session.flush()
    audit.record(user, "api_key", key.id, "created", shop_id=shop_id, scopes=scopes)
    return NewKey(key, token)


def create_shop_key(member: ShopMember, name: str, scopes: Iterable[str]) -> NewKey:
    """A key acting for the member's shop, as that member, with some of the shop's scopes."""
    if not member.may(permissions.Permission.API_KEYS):
        raise ApiKeyError(_l("Seul le propriétaire de la boutique crée des clés d’API."))
    cleaned = _clean_scopes(scopes, member.actor)
    if len(shop_keys(member.shop_id)) >= MAX_KEYS_PER_OWNER:
        raise ApiKeyError(_l("%(count)d clés actives au plus : révoquez-en une.", count=MAX_KEYS_PER_OWNER))
    return _make(member.shop_id, member.user, _clean_name(name), cleaned)


def create_town_key(manager: User, name: str) -> NewKey:
    """The manager's key: reads the town's shops, orders and figures; writes nothing."""
    actor = permissions.platform_actor(manager)
    if not permissions.allows(actor, permissions.Permission.TOWN_CONSOLE):
        raise ApiKeyError(_l("Réservé à la gestion de la place de marché."))
    return _make(None, manager, _clean_name(name), [ApiScope.TOWN_READ.value])


def shop_keys(shop_id: int) -> list[ApiKey]:
    """The shop's keys still in use, newest first."""
    return list(
        db.session.scalars(
            sa.select(ApiKey)
            .where(ApiKey.shop_id == shop_id, ApiKey.revoked_at.is_(None))
            .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        )
    )


def town_keys() -> list[ApiKey]:
    return list(
        db.session.scalars(
            sa.select(ApiKey)
            .where(ApiKey.shop_id.is_(None), ApiKey.revoked_at.is_(None))
            .order_by(ApiKey.created_at.desc(), ApiKey.id.desc())
        )
    )


def revoke_shop_key(member: ShopMember, key_id: int) -> ApiKey:
    """Revoke a key of the member's shop (another shop's key is "not found")."""
    if not member.may(permissions.Permission.API_KEYS):
        raise ApiKeyError(_l("Seul le propriétaire de la boutique révoque des clés d’API."))
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.id == key_id, ApiKey.shop_id == member.shop_id))
    if key is None:
        raise ApiKeyError(_l("Cette clé n’existe pas."))
    return _revoke(member.user, key)


def revoke_town_key(manager: User, key_id: int) -> ApiKey:
    if not permissions.allows(permissions.platform_actor(manager), permissions.Permission.TOWN_CONSOLE):
        raise ApiKeyError(_l("Réservé à la gestion de la place de marché."))
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.id == key_id, ApiKey.shop_id.is_(None)))
    if key is None:
        raise ApiKeyError(_l("Cette clé n’existe pas."))
    return _revoke(manager, key)


def _revoke(user: User, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        audit.record(user, "api_key", key.id, "revoked", shop_id=key.shop_id)
    return key


# -- authentication -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who an API request comes from: the key, and the member it acts as (None for the town's key)."""

    key: ApiKey
    member: ShopMember | None

    @property
    def shop_id(self) -> int | None:
        return self.key.shop_id

    def may(self, scope: ApiScope | str) -> bool:
        return permissions.key_allows(self.key.scopes, scope)


def authenticate(token: str) -> Caller | None:
    """The caller of a presented token, or None: unknown, revoked, or acting for someone who no longer
    may (left the shop, no longer the town's manager)."""
    if not token or len(token) > 200:
        return None
    key = db.session.scalar(sa.select(ApiKey).where(ApiKey.token_hash == token_hash(token)))
    if key is None or key.revoked_at is not None or key.created_by_id is None:
        return None
    if key.shop_id is None:
        user = db.session.get(User, key.created_by_id)
        manager = user is not None and permissions.allows(
            permissions.platform_actor(user), permissions.Permission.TOWN_CONSOLE
        )
        return Caller(key, None) if manager else None
    member = db.session.scalar(
        sa.select(ShopMember).where(
            ShopMember.shop_id == key.shop_id, ShopMember.user_id == key.created_by_id
        )
    )
    return Caller(key, member) if member is not None else None


def note_use(key: ApiKey, now: dt.datetime | None = None) -> bool:
    """Record that the key was used, at most once per ``LAST_USE_PRECISION``; whether a write was made
    (the caller commits it)."""
    now = now or utcnow()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USE_PRECISION:
        return False
    db.session.execute(
        sa.update(ApiKey)
        .where(
            ApiKey.id == key.id,
            sa.or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at < now - LAST_USE_PRECISION),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    key.last_used_at = now
    return True


# -- idempotency ----------------------------------------------------------------------------------


def idempotency_record(
    key: ApiKey, idempotency_key: str, now: dt.datetime | None = None
) -> IdempotencyRecord | None:
    """The record kept for this key, if it has not expired."""
    return db.session.scalar(
        sa.select(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == key.id,
            IdempotencyRecord.key == idempotency_key,
            IdempotencyRecord.expires_at > (now or utcnow()),
        )
    )


def start_idempotent(key: ApiKey, idempotency_key: str, request_hash: str) -> IdempotencyRecord | None:
    """Claim ``idempotency_key`` for a request about to run: the new record, or None when another
    request claimed it first (the unique index waited for that one to commit; read its record then)."""
    from sqlalchemy.exc import IntegrityError

    now = utcnow()
    db.session.execute(
        sa.delete(IdempotencyRecord).where(
            IdempotencyRecord.api_key_id == key.id,
            IdempotencyRecord.key == idempotency_key,
            IdempotencyRecord.expires_at <= now,
        )
    )
    record = IdempotencyRecord(
        api_key_id=key.id,
        key=idempotency_key,
        request_hash=request_hash,
        created_at=now,
        expires_at=now + IDEMPOTENCY_TTL,
        response_headers={},
    )
    try:
        with db.session.begin_nested():
            db.session.add(record)
    except IntegrityError:
        return None
    return record


def finish_idempotent(record: IdempotencyRecord, status: int, body: str, headers: dict[str, str]) -> None:
    record.status_code = status
    record.response_body = body
    record.response_headers = headers


def purge_idempotency_records(now: dt.datetime | None = None) -> int:
    """Forget the answers past their 24 hours (run daily; a lookup ignores them anyway)."""
    result = db.session.execute(
        sa.delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= (now or utcnow()))
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
