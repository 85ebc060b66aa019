"""Logs: one structured line per request and per job, tied together by a request id.

Every line goes through :mod:`structlog` on top of the standard ``logging`` module, so the lines of
other libraries (Flask's "Exception on ...", RQ, SQLAlchemy warnings) come out in the same format, with
the same request id. ``LOG_FORMAT`` chooses the rendering: ``json`` (one JSON object a line, for a log
collector; production's default) or ``console`` (readable, the default in development). Under tests the
records are left to pytest's capture.

The request line (logger ``marketplace.requests``) carries the method, the Flask endpoint, the path
without its query string, the status, the duration in ms, the request id, and the ids of the signed-in
person and of the back office's shop. Never an e-mail, a name or an IP address: the reverse proxy's own
log has the addresses for the few who need them. The probes of load balancers and of Prometheus
(``QUIET_ENDPOINTS``) are logged only when they fail.

The request id comes from the ``X-Request-ID`` header when it is well formed (a reverse proxy's, say
nginx's ``$request_id``), else it is made here; it is sent back in the answer's ``X-Request-ID``, handed
to the jobs the request enqueues (``app.jobs``: each job's line, logger ``marketplace.jobs``, carries it)
and to Stripe in the same header on every call (``stripe_http_client``).

``SENTRY_DSN`` set: errors also go to Sentry, with its Flask and RQ integrations and no personal data;
``sentry_sdk`` is imported only then.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from flask import Flask, g, request
from sqlalchemy import inspect as sa_inspect
from werkzeug.wrappers import Response

from app.structlogging import structlog

if TYPE_CHECKING:
    import stripe

REQUEST_ID_HEADER = "X-Request-ID"
# What a request id from outside may look like: a UUID, nginx's 32 hex digits, a tracing system's id.
# Anything else (too long, spaces, quotes) is replaced, so a client cannot write into the logs.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")
# Probed every few seconds by load balancers and Prometheus: logged only when they fail.
QUIET_ENDPOINTS = frozenset({"site.healthz", "site.readyz", "metrics"})
HANDLER_NAME = "marketplace"

request_log = structlog.get_logger("marketplace.requests")
job_log = structlog.get_logger("marketplace.jobs")

# Added to every line, structlog's and the standard library's alike.
_SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def init_app(app: Flask) -> None:
    """Configure the logging of the process, give each request its id, log each request once."""
    configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"], install_handler=not app.testing)
    if not app.testing:
        from flask.logging import default_handler

        # Flask's own handler would print app.logger's records a second time, unformatted.
        app.logger.removeHandler(default_handler)
    if app.config.get("SENTRY_DSN"):
        init_sentry(app)
    app.before_request(_start_request)
    app.after_request(_log_request)
    app.teardown_request(_end_request)


def configure(log_format: str, level: str, *, install_handler: bool) -> None:
    """structlog over the standard library; with ``install_handler``, the root logger writes the lines
    to stderr in ``log_format`` (once per process, whatever the number of apps created)."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED_PROCESSORS,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    # Alembic announces each of its plugins at info level when it is imported (by ``flask db``, after
    # logging is set up): lines about its internals, not about the migrations.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    if not install_handler:
        return
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == HANDLER_NAME:
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(formatter(log_format))
    root.addHandler(handler)
    root.setLevel(level.upper())


def formatter(log_format: str) -> logging.Formatter:
    """The formatter that renders any record, structlog's or not, as a JSON line or for a console."""
    renderer: Any
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer()
        final = [structlog.processors.format_exc_info, renderer]
    else:
        # Plain tracebacks: structlog would otherwise use rich (when installed), which prints every
        # frame's local variables (passwords, tokens) and takes seconds over a deep SQLAlchemy stack.
        final = [
            structlog.dev.ConsoleRenderer(colors=False, exception_formatter=structlog.dev.plain_traceback)
        ]
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED_PROCESSORS,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )


# -- requests ------------------------------------------------------------------------------------------


def request_id() -> str:
    """This request's id: the incoming ``X-Request-ID`` when well formed, else a new one."""
    known = g.get("request_id")
    if known is None:
        offered = request.headers.get(REQUEST_ID_HEADER, "")
        known = offered if REQUEST_ID_PATTERN.fullmatch(offered) else uuid.uuid4().hex
        g.request_id = known
    return str(known)


def current_request_id() -> str | None:
    """The request id of the request or job this code runs for, if any (jobs hand it on)."""
    value = structlog.contextvars.get_contextvars().get("request_id")
    return str(value) if value is not None else None


def bind(**values: Any) -> None:
    """Add ids to every line logged until the request (or job) ends, e.g. ``bind(shop_id=...)``."""
    structlog.contextvars.bind_contextvars(**values)


def _start_request() -> None:
    structlog.contextvars.clear_contextvars()
    g.request_started = time.perf_counter()
    bind(request_id=request_id())


def _log_request(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = request_id()
    if request.endpoint in QUIET_ENDPOINTS and response.status_code < 400:
        return response
    started = g.get("request_started")
    fields: dict[str, Any] = {
        "method": request.method,
        "endpoint": request.endpoint,
        "path": request.path,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started is not None else None,
        "request_id": request_id(),
    }
    user_id = _signed_in_user_id()
    if user_id is not None:
        fields["user_id"] = user_id
    level = logging.ERROR if response.status_code >= 500 else logging.INFO
    request_log.log(level, "request", **fields)
    return response


def _end_request(_exc: BaseException | None) -> None:
    structlog.contextvars.clear_contextvars()


def _signed_in_user_id() -> int | None:
    """The signed-in person's id, if this request loaded them; read from the identity map, so no query
    runs again for an object expired by the view's commit, and no session is read that was not."""
    user = g.get("_login_user")  # where Flask-Login keeps the user it loaded for this request
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    state = sa_inspect(user, raiseerr=False)
    identity = state.identity if state is not None else None
    return int(identity[0]) if identity else None


# -- jobs ----------------------------------------------------------------------------------------------


@contextmanager
def job_logged(function: str, job_id: str | None, request_id: str | None) -> Iterator[None]:
    """Run a job with its ids on every line, then log one line: its duration and outcome."""
    started = time.perf_counter()
    with structlog.contextvars.bound_contextvars(request_id=request_id, job_id=job_id):
        try:
            yield
        except Exception as exc:
            job_log.error(
                "job",
                function=function,
                outcome="failed",
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                exc_info=exc,  # the exception itself: the line may be rendered after this block
            )
            raise
        job_log.info(
            "job",
            function=function,
            outcome="done",
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )


# -- Stripe --------------------------------------------------------------------------------------------


def stripe_http_client(timeout: int) -> stripe.HTTPClient:
    """The stripe library's requests client, sending the current request id in ``X-Request-ID`` (Stripe
    ignores headers it does not know; the id ties our log lines to a call in its dashboard's log)."""
    import stripe

    class RequestIdClient(stripe.RequestsClient):
        def request(
            self,
            method: str,
            url: str,
            headers: Mapping[str, str] | None,
            post_data: Any = None,
            **extra: Any,
        ) -> Any:
            return super().request(method, url, _with_request_id(headers), post_data, **extra)

        def request_stream(
            self,
            method: str,
            url: str,
            headers: Mapping[str, str] | None,
            post_data: Any = None,
            **extra: Any,
        ) -> Any:
            return super().request_stream(method, url, _with_request_id(headers), post_data, **extra)

    return RequestIdClient(timeout=timeout)


def _with_request_id(headers: Mapping[str, str] | None) -> Mapping[str, str] | None:
    current = current_request_id()
    if current is None:
        return headers
    return {**(headers or {}), REQUEST_ID_HEADER: current}


# -- Sentry --------------------------------------------------------------------------------------------


def init_sentry(app: Flask) -> None:
    """Errors to Sentry, without personal data (no cookies, no user, no IP address)."""
    import sentry_sdk
    from sentry_sdk.integrations.flask import FlaskIntegration
    from sentry_sdk.integrations.rq import RqIntegration

    sentry_sdk.init(
        dsn=app.config["SENTRY_DSN"],
        environment=app.config["APP_ENV"],
        integrations=[FlaskIntegration(), RqIntegration()],
        send_default_pii=False,
    )
