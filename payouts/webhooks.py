"""``POST /webhooks/stripe``: signed events from Stripe, each applied once.

Domains subscribe with ``@handles("account.updated")``; the handler runs in the same transaction as
the row that records the event id, so an event is either fully applied and remembered, or neither
(and Stripe, getting a 500, sends it again).
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


def handles(event_type: str) -> Callable[[Handler], Handler]:
    """Register ``handler(object, event_created_at)`` for one event type."""

    def register(handler: Handler) -> Handler:
        HANDLERS[event_type].append(handler)
        return handler

    return register


def apply_event(event: dict[str, Any]) -> bool:
    """Apply an event unless it was already applied; return whether it was applied now. Never commits."""
    event_id = str(event["id"])
    if db.session.get(StripeEvent, event_id) is not None:
        return False
    created = dt.datetime.fromtimestamp(int(event["created"]), tz=dt.UTC)
    savepoint = db.session.begin_nested()
    try:
        db.session.add(StripeEvent(id=event_id, type=event["type"], created=created))
        db.session.flush()
    except IntegrityError:
        # The same event, delivered twice at once: the other delivery applies it.
        savepoint.rollback()
        return False
    for handler in HANDLERS.get(event["type"], []):
        handler(event["data"]["object"], created)
    savepoint.commit()
    return True


@blueprint.route("/webhooks/stripe", methods=["POST"])
@csrf.exempt
@limiter.exempt
def receive() -> tuple[Response, int]:
    payload = request.get_data()
    try:
        event = gateway.construct_event(payload, request.headers.get("Stripe-Signature", ""))
    except (ValueError, gateway.SignatureVerificationError):
        return jsonify(error="invalid signature"), 400
    applied = apply_event(event.to_dict() if hasattr(event, "to_dict") else dict(event))
    db.session.commit()
    log.info("stripe event %s %s", event["id"], "applied" if applied else "already applied")
    return jsonify(received=True, applied=applied), 200


def applied_events(limit: int = 50) -> list[StripeEvent]:
    return list(
        db.session.scalars(sa.select(StripeEvent).order_by(StripeEvent.received_at.desc()).limit(limit))
    )
