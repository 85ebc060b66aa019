"""The site's own address: absolute links built from ``PUBLIC_URL``, and requests for other hosts refused.

A request's ``Host`` header is chosen by whoever sends it. Links built from it (``url_for(...,
_external=True)``) let anyone ask for a password reset "on" their own host and have the victim mailed
a link to it. So every absolute link the app hands out, in mail or to Stripe, comes from
:func:`external_url`, which works the same in a request, a job or a command.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, request
from werkzeug.sansio.utils import host_is_trusted

# Endpoints that answer whatever the Host: a load balancer's probe (or Prometheus) often names the server
# by its address.
ANY_HOST_ENDPOINTS = frozenset({"site.healthz", "site.readyz", "metrics"})


def external_url(endpoint: str, **values: Any) -> str:
    """The absolute URL of ``endpoint`` on the site's public address, whatever the current request.

    ``_anchor`` adds a fragment, as with ``url_for``. Takes full endpoint names (``"orders.detail"``).
    """
    anchor = values.pop("_anchor", None)
    public = urlsplit(current_app.config["PUBLIC_URL"])
    adapter = current_app.url_map.bind(
        public.netloc, script_name=public.path or "/", url_scheme=public.scheme
    )
    current_app.inject_url_defaults(endpoint, values)
    url = adapter.build(endpoint, values, force_external=True)
    return f"{url}#{anchor}" if anchor else url


def init_app(app: Flask) -> None:
    """Refuse requests for hosts outside ``ALLOWED_HOSTS``. Called before the extensions register
    their hooks, so no other hook (rate limits, log-in) works for a request that will be refused."""
    app.before_request(_refuse_unknown_hosts)


def _refuse_unknown_hosts() -> None:
    if request.endpoint in ANY_HOST_ENDPOINTS:
        return
    if not host_is_trusted(request.host, current_app.config["ALLOWED_HOSTS"]):
        abort(400)
