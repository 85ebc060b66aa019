"""Test clocks (``/v1/test_helpers/test_clocks``): Billing's time, moved forward on request.

Customers created with ``test_clock`` live at the clock's ``frozen_time``. Advancing it runs, in order and
each at its own time, what falls due for them (renewals, their invoices' collection an hour later, an
incomplete subscription expiring): see :mod:`..billing`. Stripe advances asynchronously: the answer is the
clock ``advancing`` (``status_details.advancing.target_frozen_time``, ``frozen_time`` still the old time),
then ``test_helpers.test_clock.ready`` is sent. Here the work is done before answering, so retrieving the
clock right after gives ``ready`` at the new time. Events: ``test_helpers.test_clock.created``,
``.advancing``, ``.ready``, ``.deleted``; those of what advancing did carry the clock's time as ``created``.
"""

from __future__ import annotations

import datetime as dt
from copy import deepcopy

from devtools.stripe_emulator import billing
from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.routing import ApiCall, ApiRoute
from devtools.stripe_emulator.state import StripeObject, new_id

DELETES_AFTER = 7 * 86_400  # as Stripe's example clock: a week after its creation


def create(call: ApiCall) -> StripeObject:
    params = call.params
    p.expand_list(params)
    p.check_known(params, ("frozen_time", "name"))
    if params.get("frozen_time") in (None, ""):
        raise p.missing_param("frozen_time")
    frozen = p.integer(params["frozen_time"], "frozen_time")
    state = call.backend.state
    with state.lock:
        now = state.now()
        clock: StripeObject = {
            "id": new_id("clock", 24),
            "object": "test_helpers.test_clock",
            "created": now,
            "deletes_after": now + DELETES_AFTER,
            "frozen_time": frozen,
            "livemode": False,
            "name": p.string(params, "name"),
            "status": "ready",
            "status_details": {},
        }
        state.test_clocks.add(clock)
        call.backend.emit("test_helpers.test_clock.created", clock, None, call.request, account=None)
        return deepcopy(clock)


def retrieve(call: ApiCall) -> StripeObject:
    p.expand_list(call.params)
    p.check_known(call.params, ())
    state = call.backend.state
    with state.lock:
        return deepcopy(state.test_clocks.get(call.args["clock"], param="test_clock"))


def list_all(call: ApiCall) -> StripeObject:
    p.expand_list(call.params)
    p.check_known(call.params, ("limit", "starting_after", "ending_before"))
    state = call.backend.state
    with state.lock:
        return deepcopy(state.test_clocks.page(call.params))


def delete(call: ApiCall) -> StripeObject:
    """The clock and everything on it (its customers, their subscriptions and invoices) are deleted."""
    p.check_known(call.params, ())
    state = call.backend.state
    with state.lock:
        clock = state.test_clocks.get(call.args["clock"], param="test_clock")
        customers = [c for c in state.customers if c.get("test_clock") == clock["id"]]
        ids = {c["id"] for c in customers}
        for sub in [s for s in state.subscriptions if s["customer"] in ids]:
            state.subscriptions.delete(sub["id"])
        for invoice in [i for i in state.invoices if i["customer"] in ids]:
            state.invoices.delete(invoice["id"])
        for customer in customers:
            customer_id = customer["id"]
            customer.clear()
            customer.update(id=customer_id, object="customer", deleted=True)
        state.test_clocks.delete(clock["id"])
        call.backend.emit("test_helpers.test_clock.deleted", clock, None, call.request, account=None)
        return {"id": clock["id"], "object": "test_helpers.test_clock", "deleted": True}


def advance(call: ApiCall) -> StripeObject:
    params = call.params
    p.expand_list(params)
    p.check_known(params, ("frozen_time",))
    if params.get("frozen_time") in (None, ""):
        raise p.missing_param("frozen_time")
    target = p.integer(params["frozen_time"], "frozen_time")
    state = call.backend.state
    backend = call.backend
    with state.lock:
        clock = state.test_clocks.get(call.args["clock"], param="test_clock")
        if target <= clock["frozen_time"]:
            raise p.invalid_param(
                "frozen_time",
                f"The test clock's frozen_time ({clock['frozen_time']}) can only move forward: {target} is "
                "not after it.",
            )
        limit = billing.shortest_interval_end(state, clock)
        if target > limit:
            raise p.invalid_param(
                "frozen_time",
                "Cannot advance the test clock more than two intervals of its shortest subscription (or two "
                f"years without one) at a time: the furthest is {limit} ({_date(limit)}).",
            )
        answer = deepcopy(clock)
        answer.update(status="advancing", status_details={"advancing": {"target_frozen_time": target}})
        with state.frozen_at(clock["frozen_time"]):
            backend.emit("test_helpers.test_clock.advancing", answer, None, call.request, account=None)
        billing.advance(backend, clock, target, call.request)
        with state.frozen_at(target):
            backend.emit("test_helpers.test_clock.ready", clock, None, call.request, account=None)
        return answer


def _date(moment: int) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


ROUTES = [
    ApiRoute("POST", "/v1/test_helpers/test_clocks", create),
    ApiRoute("GET", "/v1/test_helpers/test_clocks", list_all),
    ApiRoute("GET", "/v1/test_helpers/test_clocks/<clock>", retrieve),
    ApiRoute("DELETE", "/v1/test_helpers/test_clocks/<clock>", delete),
    ApiRoute("POST", "/v1/test_helpers/test_clocks/<clock>/advance", advance),
]
