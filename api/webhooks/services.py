"""Outbound webhooks: endpoints registered, events fanned out, deliveries signed, tried, retried, logged.

Each event of ``app.events`` becomes one delivery per enabled endpoint that chose its type: the shop's
own endpoints, and the manager's (which hear every shop). A delivery is a POST of the event as JSON,
signed like Stripe's webhooks (``Marketplace-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of
"<t>.<body>">``), to an address checked again at every try (``app.outbound``: public addresses only in
production, connected to the address that was checked, no redirect followed, 10 s timeout).

A try is *claimed* before it is made: under the delivery's row lock its attempt number is taken and its
next try scheduled, then committed; the request goes out after that commit, and its answer is logged in
a transaction of its own. So a job run twice, or two workers at once, never send the same attempt twice,
and a worker that dies mid-request leaves a delivery that the periodic job tries again.

Failed tries are retried after 1, 2, 4... minutes, at most 6 hours apart, for 3 days. An endpoint that
has failed every try for 3 days, or 50 times in a row, is disabled and its owners told by e-mail.
Nothing here commits: the jobs (``tasks.py``) and the views do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy import orm

from api.webhooks.models import (
    RESPONSE_EXCERPT,
    DeliveryStatus,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from app import jobs, mail, outbound
from app.accounts.models import Role, User
from app.audit import services as audit
from app.database import database_backend, lock, utcnow
from app.errors import ServiceError
from app.events import EVENT_TYPES, Event, iso
from app.extensions import db
from app.urls import external_url
from vendors import services as vendor_services
from vendors.models import Shop

log = logging.getLogger(__name__)

QUEUE = "webhooks"  # deliveries wait on their own queue: a slow receiver never delays mail or search
SUBJECT = "webhook_endpoint"
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of generated secrets, not a secret
TIMEOUT = 10.0
RETRY_FOR = dt.timedelta(days=3)
FIRST_RETRY_SECONDS = 60
LONGEST_WAIT_SECONDS = 6 * 3600
DISABLE_AFTER_FAILURES = 50
DISABLE_AFTER = RETRY_FOR  # of failing without a single success
PREVIOUS_SECRET_KEPT = dt.timedelta(hours=24)
KEEP_LOG = dt.timedelta(days=90)  # events, deliveries and tries older than this are forgotten
MAX_ENDPOINTS = 10  # per shop, and for the town
# The same address registered again by the same person this soon is the same form sent twice.
REPEAT_WINDOW = dt.timedelta(minutes=10)
USER_AGENT = "Marketplace-Webhooks/1.0"
SIGNATURE_HEADER = "Marketplace-Signature"
EVENT_ID_HEADER = "Marketplace-Event-Id"
EVENT_TYPE_HEADER = "Marketplace-Event-Type"

EVENT_LABELS: dict[str, Any] = {
    "order.paid": _l("Commande payée"),
    "order.cancelled": _l("Commande annulée"),
    "return.requested": _l("Retour demandé"),
    "return.refunded": _l("Retour remboursé"),
    "product.low_stock": _l("Stock bas d’un produit"),
    "review.published": _l("Avis publié"),
}
DISABLED_FAILING = "failing"
DISABLED_BY_HAND = "by_hand"
DISABLED_REASONS: dict[str, Any] = {
    DISABLED_FAILING: _l("désactivée après des échecs répétés"),
    DISABLED_BY_HAND: _l("désactivée à la main"),
}


class WebhookError(ServiceError):
    """A refused webhook use case."""


class NotFound(WebhookError):
    """No such endpoint or delivery for this shop (or for the town)."""

    def __init__(self) -> None:
        super().__init__(_l("Introuvable."))


# -- endpoints ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EndpointData:
    url: str
    description: str
    events: Sequence[str]


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_hex(24)


def _owned_by(shop_id: int | None) -> sa.ColumnElement[bool]:
    """The endpoints of shop ``shop_id``, or the town's (the manager's) for None."""
    if shop_id is None:
        return WebhookEndpoint.shop_id.is_(None)
    return WebhookEndpoint.shop_id == shop_id


def endpoints(shop_id: int | None) -> list[WebhookEndpoint]:
    return list(
        db.session.scalars(sa.select(WebhookEndpoint).where(_owned_by(shop_id)).order_by(WebhookEndpoint.id))
    )


def endpoint(shop_id: int | None, endpoint_id: int, *, for_update: bool = False) -> WebhookEndpoint:
    """The endpoint, if it is this shop's (the town's for None); NotFound otherwise."""
    found = lock(WebhookEndpoint, endpoint_id) if for_update else db.session.get(WebhookEndpoint, endpoint_id)
    if found is None or found.shop_id != shop_id:
        raise NotFound()
    return found


def _checked_url(url: str) -> str:
    url = (url or "").strip()
    try:
        outbound.check_public_url(url, allow_private=outbound.private_allowed())
    except outbound.UnsafeURL as error:
        raise WebhookError(error.reason, field="url") from error
    return url


def _checked_events(events: Iterable[str]) -> list[str]:
    chosen = set(events or ())
    if not chosen or not chosen <= set(EVENT_TYPES):
        raise WebhookError(_l("Choisissez au moins un des événements proposés."), field="events")
    return [event_type for event_type in EVENT_TYPES if event_type in chosen]


def create_endpoint(actor: User, shop_id: int | None, data: EndpointData) -> WebhookEndpoint:
    """Register an address for the shop (the town for None); its secret is to be shown once, now."""
    url, chosen = _checked_url(data.url), _checked_events(data.events)
    # One registration at a time per owner (the shop's row, or the acting manager's for the town), so
    # that a double click finds the first one made.
    if shop_id is not None:
        lock(Shop, shop_id)
    else:
        lock(User, actor.id)
    twin = db.session.scalar(sa.select(WebhookEndpoint).where(_owned_by(shop_id), WebhookEndpoint.url == url))
    if twin is not None:
        repeated = (
            twin.created_by_id == actor.id
            and twin.events == chosen
            and twin.created_at > utcnow() - REPEAT_WINDOW
        )
        if repeated:
            return twin  # the same form sent again: answered as the first time, its secret shown again
        raise WebhookError(
            _l(
                "Cette adresse est déjà enregistrée : changez ses événements plutôt que de l’ajouter "
                "deux fois."
            ),
            field="url",
        )
    count = db.session.scalar(
        sa.select(sa.func.count()).select_from(WebhookEndpoint).where(_owned_by(shop_id))
    )
    if (count or 0) >= MAX_ENDPOINTS:
        raise WebhookError(_l("%(count)d adresses au plus : supprimez-en une d’abord.", count=MAX_ENDPOINTS))
    made = WebhookEndpoint(
        shop_id=shop_id,
        created_by_id=actor.id,
        url=url,
        description=data.description.strip()[:200],
        events=chosen,
        secret=new_secret(),
        enabled=True,
        consecutive_failures=0,
        created_at=utcnow(),
    )
    db.session.add(made)
    db.session.flush()
    audit.record(actor, SUBJECT, made.id, "created", url=url, events=chosen, shop_id=shop_id)
    return made


def update_endpoint(
    actor: User, shop_id: int | None, endpoint_id: int, data: EndpointData
) -> WebhookEndpoint:
    """Change an endpoint's address, description or events (the address is checked again)."""
    found = endpoint(shop_id, endpoint_id, for_update=True)
    found.url, found.events = _checked_url(data.url), _checked_events(data.events)
    found.description = data.description.strip()[:200]
    audit.record(actor, SUBJECT, found.id, "updated", url=found.url, events=found.events)
    return found


def rotate_secret(actor: User, shop_id: int | None, endpoint_id: int) -> WebhookEndpoint:
    """A new secret, to be shown once; the old one still signs for a day, so receivers switch calmly.

    Changed again within that day (a double click), the secret kept is still the one receivers had
    before the first change: the one in between was only ever shown, never configured anywhere.
    """
    found = endpoint(shop_id, endpoint_id, for_update=True)
    now = utcnow()
    if not (found.previous_secret and found.previous_secret_until and found.previous_secret_until > now):
        found.previous_secret = found.secret
    found.previous_secret_until = now + PREVIOUS_SECRET_KEPT
    found.secret = new_secret()
    audit.record(actor, SUBJECT, found.id, "secret_rotated")
    return found


def set_enabled(actor: User, shop_id: int | None, endpoint_id: int, enabled: bool) -> WebhookEndpoint:
    """Switch an endpoint on (its failure count starts again) or off (its pending deliveries stop)."""
    found = endpoint(shop_id, endpoint_id, for_update=True)
    if found.enabled == enabled:
        return found
    if enabled:
        found.enabled, found.disabled_at, found.disabled_reason = True, None, ""
        found.consecutive_failures, found.failing_since = 0, None
    else:
        _disable(found, DISABLED_BY_HAND, utcnow())
    audit.record(actor, SUBJECT, found.id, "enabled" if enabled else "disabled")
    return found


def delete_endpoint(actor: User, shop_id: int | None, endpoint_id: int) -> int:
    """Forget an endpoint, with its deliveries' log; its id."""
    found = endpoint(shop_id, endpoint_id, for_update=True)
    audit.record(actor, SUBJECT, found.id, "deleted", url=found.url)
    db.session.delete(found)
    return endpoint_id


def _disable(found: WebhookEndpoint, reason: str, now: dt.datetime) -> None:
    found.enabled, found.disabled_at, found.disabled_reason = False, now, reason
    # Its waiting deliveries will not be tried: they are closed now (a replay sends them again).
    db.session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == found.id, WebhookDelivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.FAILED, next_attempt_at=None, completed_at=now)
        .execution_options(synchronize_session="fetch")
    )


# -- the log and replays --------------------------------------------------------------------------


def deliveries(found: WebhookEndpoint, limit: int = 50) -> list[WebhookDelivery]:
    """The endpoint's latest deliveries, newest first, with their event and tries."""
    return list(
        db.session.scalars(
            sa.select(WebhookDelivery)
            .where(WebhookDelivery.endpoint_id == found.id)
            .options(orm.selectinload(WebhookDelivery.log), orm.joinedload(WebhookDelivery.event))
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
    )


def delivery(shop_id: int | None, delivery_id: int) -> WebhookDelivery:
    found = db.session.get(WebhookDelivery, delivery_id)
    if found is None or found.endpoint.shop_id != shop_id:
        raise NotFound()
    return found


def replay(actor: User, shop_id: int | None, delivery_id: int) -> WebhookDelivery:
    """Send an event again to the same endpoint: a new delivery of the same event (same event id).

    A replay already waiting for the same event and endpoint is returned as it is (a double click).
    """
    original = delivery(shop_id, delivery_id)
    target = endpoint(shop_id, original.endpoint_id, for_update=True)
    if not target.enabled:
        raise WebhookError(_l("Cette adresse est désactivée : réactivez-la avant de renvoyer un événement."))
    waiting = db.session.scalar(
        sa.select(WebhookDelivery).where(
            WebhookDelivery.event_id == original.event_id,
            WebhookDelivery.endpoint_id == target.id,
            WebhookDelivery.status == DeliveryStatus.PENDING,
            WebhookDelivery.attempts == 0,
        )
    )
    if waiting is not None:
        return waiting
    again = _new_delivery(original.event_id, target.id, utcnow(), replay_of_id=original.id)
    db.session.flush()
    audit.record(actor, SUBJECT, target.id, "replayed", delivery_id=original.id, event_id=original.event_id)
    _enqueue(again.id)
    return again


def _new_delivery(
    event_id: int, endpoint_id: int, now: dt.datetime, replay_of_id: int | None = None
) -> WebhookDelivery:
    made = WebhookDelivery(
        event_id=event_id,
        endpoint_id=endpoint_id,
        replay_of_id=replay_of_id,
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        retry_until=now + RETRY_FOR,
        created_at=now,
    )
    db.session.add(made)
    return made


def _enqueue(delivery_id: int) -> None:
    from api.webhooks import tasks

    jobs.enqueue(tasks.deliver, delivery_id, queue=QUEUE)


def webhook_backlog() -> int:
    """Deliveries still to be made or retried (for the metrics)."""
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(WebhookDelivery)
            .where(WebhookDelivery.status == DeliveryStatus.PENDING)
        )
        or 0
    )


def forget_old(now: dt.datetime | None = None, batch_size: int = 1000) -> int:
    """Forget events older than ``KEEP_LOG`` with their deliveries and tries (a batch); how many.

    Explicit deletes, children first: they do not rely on the database's cascades (SQLite leaves
    foreign keys unchecked unless asked).
    """
    cutoff = (now or utcnow()) - KEEP_LOG
    still_pending = sa.exists().where(
        WebhookDelivery.event_id == Event.id, WebhookDelivery.status == DeliveryStatus.PENDING
    )
    old = list(
        db.session.scalars(
            sa.select(Event.id)
            .where(Event.created_at < cutoff, Event.dispatched_at.is_not(None), ~still_pending)
            .order_by(Event.id)
            .limit(batch_size)
        )
    )
    if not old:
        return 0
    deliveries_of_old = sa.select(WebhookDelivery.id).where(WebhookDelivery.event_id.in_(old))
    db.session.execute(sa.delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(deliveries_of_old)))
    db.session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.replay_of_id.in_(deliveries_of_old))
        .values(replay_of_id=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.delete(WebhookDelivery)
        .where(WebhookDelivery.event_id.in_(old))
        .execution_options(synchronize_session=False)
    )
    db.session.execute(sa.delete(Event).where(Event.id.in_(old)).execution_options(synchronize_session=False))
    return len(old)


# -- fan-out --------------------------------------------------------------------------------------


def subscribed(found: WebhookEndpoint, event: Event) -> bool:
    return found.enabled and found.shop_id in (None, event.shop_id) and event.type in found.events


def plan_batch(limit: int = 200) -> tuple[int, list[int]]:
    """Plan the deliveries of a batch of events not yet planned: (events planned, new delivery ids).

    The events are locked with SKIP LOCKED on PostgreSQL, so two workers share the work and an event is
    planned once; each new delivery is enqueued for after the caller's commit.
    """
    pending = sa.select(Event).where(Event.dispatched_at.is_(None)).order_by(Event.id).limit(limit)
    if database_backend() == "postgresql":
        pending = pending.with_for_update(skip_locked=True)
    events = list(db.session.scalars(pending))
    if not events:
        return 0, []
    listening = list(db.session.scalars(sa.select(WebhookEndpoint).where(WebhookEndpoint.enabled.is_(True))))
    now = utcnow()
    made = []
    for event in events:
        made += [_new_delivery(event.id, found.id, now) for found in listening if subscribed(found, event)]
        event.dispatched_at = now
    db.session.flush()
    for planned in made:
        _enqueue(planned.id)
    return len(events), [planned.id for planned in made]


def due_deliveries(now: dt.datetime | None = None, limit: int = 500) -> list[int]:
    """Deliveries whose next try is due (a retry, or a try lost with its worker), oldest first."""
    return list(
        db.session.scalars(
            sa.select(WebhookDelivery.id)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= (now or utcnow()),
            )
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(limit)
        )
    )


# -- one try --------------------------------------------------------------------------------------


def retry_delay(attempt: int) -> dt.timedelta:
    """How long after failed try number ``attempt`` the next is made: 1, 2, 4... minutes, 6 h at most."""
    return dt.timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** min(attempt - 1, 20), LONGEST_WAIT_SECONDS))


def event_body(event: Event) -> bytes:
    """What receivers get: the event, the same bytes on every try and replay."""
    document = {
        "id": event.public_id,
        "type": event.type,
        "created_at": iso(event.created_at),
        "shop_id": event.shop_id,
        "data": event.payload,
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()


def signature(found: WebhookEndpoint, timestamp: int, body: bytes, now: dt.datetime) -> str:
    """The signature header's value: one ``v1`` per valid secret (two for a day after a rotation)."""
    parts = [f"t={timestamp}", f"v1={sign(found.secret, timestamp, body)}"]
    if found.previous_secret and found.previous_secret_until and found.previous_secret_until > now:
        parts.append(f"v1={sign(found.previous_secret, timestamp, body)}")
    return ",".join(parts)


@dataclass(frozen=True)
class Claim:
    """A try taken by one worker: what to send, and where."""

    delivery_id: int
    number: int
    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Outcome:
    started_at: dt.datetime
    duration_ms: int
    status_code: int | None
    excerpt: str
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def claim(delivery_id: int, now: dt.datetime | None = None) -> Claim | None:
    """Take the delivery's next try if it is due, under its row lock; None if there is nothing to do
    (done, not yet due, being tried by another worker, or its endpoint disabled)."""
    now = now or utcnow()
    found = lock(WebhookDelivery, delivery_id, skip_locked=True)
    if (
        found is None
        or found.status != DeliveryStatus.PENDING
        or found.next_attempt_at is None
        or found.next_attempt_at > now
    ):
        return None
    target = found.endpoint
    if not target.enabled or now > found.retry_until:
        found.status, found.next_attempt_at, found.completed_at = DeliveryStatus.FAILED, None, now
        return None
    found.attempts += 1
    # Also the lease of this try: should the worker die, the periodic job tries again then.
    found.next_attempt_at = now + retry_delay(found.attempts)
    body = event_body(found.event)
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature(target, timestamp, body, now),
        EVENT_ID_HEADER: found.event.public_id,
        EVENT_TYPE_HEADER: found.event.type,
    }
    return Claim(found.id, found.attempts, target.url, body, headers)


def send(taken: Claim) -> Outcome:
    """Make the try (no database change): the answer, or why there was none."""
    started = utcnow()
    try:
        answer = outbound.send(
            "POST",
            taken.url,
            body=taken.body,
            headers=taken.headers,
            timeout=TIMEOUT,
            max_body=RESPONSE_EXCERPT * 4,
        )
    except outbound.UnsafeURL as refused:
        return Outcome(started, 0, None, "", str(refused.reason)[:300])
    except (OSError, http.client.HTTPException) as error:
        elapsed = int((utcnow() - started).total_seconds() * 1000)
        return Outcome(started, elapsed, None, "", f"{type(error).__name__}: {error}"[:300])
    excerpt = answer.body.decode("utf-8", "replace").replace("\x00", "")[:RESPONSE_EXCERPT]
    return Outcome(started, answer.duration_ms, answer.status, excerpt, "")


def record(taken: Claim, outcome: Outcome) -> WebhookDelivery | None:
    """Log a try and what follows from it: done, retried later, given up; the endpoint disabled after
    repeated failures. Recording the same try twice changes nothing."""
    found = lock(WebhookDelivery, taken.delivery_id)
    if found is None or any(attempt.number == taken.number for attempt in found.log):
        return found
    found.log.append(
        WebhookAttempt(
            number=taken.number,
            started_at=outcome.started_at,
            duration_ms=outcome.duration_ms,
            status_code=outcome.status_code,
            response_excerpt=outcome.excerpt,
            error=outcome.error,
        )
    )
    found.last_status_code = outcome.status_code
    target = lock(WebhookEndpoint, found.endpoint_id)
    assert target is not None  # the delivery would be gone with it
    now = utcnow()
    if outcome.ok:
        found.status, found.next_attempt_at, found.completed_at = DeliveryStatus.SUCCEEDED, None, now
        target.consecutive_failures, target.failing_since = 0, None
        return found
    target.consecutive_failures += 1
    target.failing_since = target.failing_since or outcome.started_at
    if found.status == DeliveryStatus.PENDING and (
        found.next_attempt_at is None or found.next_attempt_at > found.retry_until
    ):
        found.status, found.next_attempt_at, found.completed_at = DeliveryStatus.FAILED, None, now
    if target.enabled and (
        target.consecutive_failures >= DISABLE_AFTER_FAILURES or target.failing_since <= now - DISABLE_AFTER
    ):
        _disable(target, DISABLED_FAILING, now)
        _tell_disabled(target)
    return found


def _tell_disabled(found: WebhookEndpoint) -> None:
    """Tell the people who answer for the endpoint that it was disabled, and where to switch it on."""
    if found.shop is not None:
        people = vendor_services.owners(found.shop)
        link = external_url("webhooks_backoffice.endpoint_page", slug=found.shop.slug, endpoint_id=found.id)
    else:
        creator = found.created_by
        people = (
            [creator]
            if creator is not None and creator.is_manager
            else list(db.session.scalars(sa.select(User).where(User.role == Role.MANAGER)))
        )
        link = external_url("webhooks_admin.endpoint_page", endpoint_id=found.id)
    for person in people:
        mail.send(
            person.email,
            _l("Webhook désactivé : %(url)s", url=found.url),
            "webhooks/disabled",
            locale=person.locale,
            endpoint=found,
            failures=found.consecutive_failures,
            since=found.failing_since,
            link=link,
        )
