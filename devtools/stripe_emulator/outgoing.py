"""The emulator's own outgoing HTTP: urllib, no proxy from the environment, redirects not followed."""

from __future__ import annotations

import urllib.request
from email.message import Message
from typing import IO, Any


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer to pass on (or a failed webhook, as for Stripe), not a hop to make."""

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: Message, newurl: str
    ) -> Any:
        return None


def opener() -> urllib.request.OpenerDirector:
    # Every peer is on 127.0.0.1: an HTTP(S)_PROXY in the environment must not capture the traffic.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect())
