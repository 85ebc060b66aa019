"""``GET /v1/events/{id}`` for the events the emulator emitted; localstripe's own go on to localstripe."""

from __future__ import annotations

from devtools.stripe_emulator import params as p
from devtools.stripe_emulator.errors import NotHandled
from devtools.stripe_emulator.routing import ApiCall, ApiRoute
from devtools.stripe_emulator.state import StripeObject


def retrieve(call: ApiCall) -> StripeObject:
    state = call.backend.state
    with state.lock:
        if call.args["event"] not in state.events:
            raise NotHandled
        p.expand_list(call.params)
        p.check_known(call.params, ())
        return state.events.get(call.args["event"])


ROUTES = [ApiRoute("GET", "/v1/events/<event>", retrieve)]
