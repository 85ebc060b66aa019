"""``POST /webhooks/stripe``: signed events from Stripe, each applied once.

Domains subscribe with ``@handles("account.updated")``; the handler runs in the same transaction as
the row that records the event id, so an event is either fully applied and remembered, or neither
(and Stripe, getting a 500, sends it again). ``@handles(..., platform_only=True)`` handlers see only the
platform's own events: one from a connected account (Connect webhooks carry its ``account``) about the
same kind of object (a shop's ``payout.paid``) is not theirs.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, jsonify, request
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from app.extensions import csrf, db, limiter
from payouts import gateway
from payouts.models import StripeEvent

log = logging.getLogger(__name__)

blueprint = Blueprint("stripe_webhooks", __name__)

Handler = Callable[[dict[str, Any], dt.datetime], None]
HANDLERS: dict[str, list[Handler]] = defaultdict(list)
PLATFORM_HANDLERS: dict[str, list[Handler]] = defaultdict(list)  # for events without ``account``
# The columns that record an event: longer values are not Stripe's.
MAX_ID_LENGTH = 255
MAX_TYPE_LENGTH = 100


def handles(event_type: str, *, platform_only: bool = False) -> Callable[[Handler], Handler]:
    """Register ``handler(object, event_created_at)`` for one event type; with ``platform_only``, for the
    platform's own events only (not a connected account's)."""

    def register(handler: Handler) -> Handler:
        (PLATFORM_HANDLERS if platform_only else HANDLERS)[event_type].append(handler)
        return handler

    return register


class MalformedEvent(ValueError):
    """A signed event without the fields every Stripe event has; the message names what is wrong."""


def _fields(event: dict[str, Any]) -> tuple[str, str, dt.datetime, dict[str, Any]]:
    """The event's id, type, creation time and object, or MalformedEvent."""
    event_id, event_type = event.get("id"), event.get("type")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= MAX_ID_LENGTH:
        raise MalformedEvent("the event has no valid id")
    if not isinstance(event_type, str) or not 0 < len(event_type) <= MAX_TYPE_LENGTH:
        raise MalformedEvent("the event has no valid type")
    try:
        created = dt.datetime.fromtimestamp(int(event["created"]), tz=dt.UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        raise MalformedEvent("the event has no valid created timestamp") from None
    data = event.get("data")
    found = data.get("object") if isinstance(data, dict) else None
    if not isinstance(found, dict):
        raise MalformedEvent("the event has no data.object")
    return event_id, event_type, created, found


def apply_event(event: dict[str, Any]) -> bool:
    """Apply an event unless it was already applied; return whether it was applied now. Never commits.
    Raises MalformedEvent, before touching anything, for an event without id, type, created or data."""
    event_id, event_type, created, found = _fields(event)
    if db.session.get(StripeEvent, event_id) is not None:
        return False
    savepoint = db.session.begin_nested()
    try:
        db.session.add(StripeEvent(id=event_id, type=event_type, created=created))
        db.session.flush()
    except IntegrityError:
        # The same event, delivered twice at once: the other delivery applies it.
        savepoint.rollback()
        return False
    handlers = list(HANDLERS.get(event_type, []))
    if not event.get("account"):
        handlers += PLATFORM_HANDLERS.get(event_type, [])
    for handler in handlers:
        handler(found, created)
    savepoint.commit()
    return True


@blueprint.route("/webhooks/stripe", methods=["POST"])
@csrf.exempt
@limiter.exempt
def receive() -> tuple[Response, int]:
    payload = request.get_data()
    try:
        event = gateway.construct_event(payload, request.headers.get("Stripe-Signature", ""))
    except gateway.SignatureVerificationError:
        return jsonify(error="invalid signature"), 400
    except ValueError as error:  # not UTF-8 or JSON, or not an object
        log.warning("stripe event refused: %s", error)
        return jsonify(error=f"unreadable event: {error}"), 400
    try:
        applied = apply_event(event.to_dict() if hasattr(event, "to_dict") else dict(event))
    except MalformedEvent as error:
        # Correctly signed but not an event this endpoint can read: say why, so the delivery log shows it.
        log.error("stripe event refused: %s", error)
        return jsonify(error=str(error)), 400
    db.session.commit()
    log.info("stripe event %s %s", event["id"], "applied" if applied else "already applied")
    return jsonify(received=True, applied=applied), 200


def applied_events(limit: int = 50) -> list[StripeEvent]:
    return list(
        db.session.scalars(sa.select(StripeEvent).order_by(StripeEvent.received_at.desc()).limit(limit))
    )
