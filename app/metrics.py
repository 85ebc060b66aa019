"""``/metrics``: what Prometheus scrapes, in its text format.

Requests (prometheus-flask-exporter): ``marketplace_http_request_duration_seconds`` by method, Flask
endpoint and status (its ``_count`` is the number of requests per endpoint), and
``marketplace_http_request_total`` by method and status. Endpoints, not paths: the number of series
stays bounded whatever addresses are asked for (an unknown address is endpoint ``None``).

Read from Redis and the database at each scrape (``MarketplaceCollector``), by the process answering it:

- ``marketplace_rq_queue_length`` and ``marketplace_rq_failed_jobs`` per RQ queue (absent without Redis);
- ``marketplace_search_outbox_pending`` and ``marketplace_search_outbox_oldest_age_seconds``: the changes
  the search index has not applied yet, and how long the oldest has waited (0 when none);
- ``marketplace_search_index_freshness_seconds``: how old the newest change the index has applied is
  (absent when none was applied in the last day, the time applied outbox rows are kept);
- ``marketplace_backlog{name}``: what other packages register with :func:`register_backlog_probe` (the
  outbound webhook deliveries waiting, say);
- ``marketplace_ledger_differences``: what the nightly reconciliation found, through the probe registered
  with :func:`register_ledger_differences_probe` (absent until one is);
- ``marketplace_probe_success{probe}``: 0 when a part read at scrape time failed to answer (logged).

Several gunicorn workers: each process counts its own requests. With ``PROMETHEUS_MULTIPROC_DIR`` set
(before the process starts) to an empty folder, the counts are kept in files there and every scrape adds
up all workers' (prometheus_client's multiprocess mode); ``gunicorn.conf.py`` empties the folder at start
and marks a dead worker's files (``child_exit``). Without it, a single process answers with its own.

Access: with ``METRICS_TOKEN`` set, only ``Authorization: Bearer <token>``; without, only clients on a
loopback or private address (``request.remote_addr``, the client's once ProxyFix has read the proxy's
headers). Others get a 404 (a 401 for a missing or wrong token). Never kept by the page cache, never
compressed (the scraper sits next to the server), no session cookie.
"""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import logging
import os
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import Flask, abort, current_app, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from werkzeug.wrappers import Response

from app.database import utcnow
from app.extensions import db

log = logging.getLogger(__name__)

ENDPOINT = "metrics"
PREFIX = "marketplace"
# Request durations: pages answer in tens of milliseconds; exports and PDFs may take seconds.
REQUEST_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REDIS_TIMEOUT_SECONDS = 0.5

Probe = Callable[[], float | int | None]
T = TypeVar("T")

# Filled by other packages when they are imported (see register_backlog_probe); read at each scrape.
_backlog_probes: dict[str, Probe] = {}
_ledger_differences_probe: list[Probe] = []


def register_backlog_probe(name: str, probe: Probe) -> None:
    """Show ``probe()`` as ``marketplace_backlog{name="<name>"}`` at each scrape.

    ``probe`` runs in the scraping request's app context (it may query the database) and returns a
    number, or None for "nothing to show". Registering a name again replaces its probe.
    """
    _backlog_probes[name] = probe


def register_ledger_differences_probe(probe: Probe) -> None:
    """Show ``probe()`` as ``marketplace_ledger_differences``: the differences the last reconciliation
    of the ledger with Stripe found (0 when it found none, None when none has run yet)."""
    _ledger_differences_probe[:] = [probe]


def init_app(app: Flask) -> None:
    """Count every request by endpoint, and serve ``/metrics``."""
    from prometheus_flask_exporter import PrometheusMetrics

    # A registry per app: the tests create several apps in one process.
    registry = CollectorRegistry()
    exporter = PrometheusMetrics(
        app=None,
        path=None,
        registry=registry,
        group_by="endpoint",
        defaults_prefix=PREFIX,
        buckets=REQUEST_BUCKETS,
    )
    exporter.init_app(app)
    app.extensions["metrics_registry"] = _scrape_registry(registry)
    app.add_url_rule("/metrics", ENDPOINT, metrics_view)


def _scrape_registry(registry: CollectorRegistry) -> CollectorRegistry:
    """What a scrape reads: this process's metrics, or every worker's in multiprocess mode; and the
    figures read at scrape time."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    registry.register(MarketplaceCollector())
    return registry


def metrics_view() -> Response:
    _refuse_unless_allowed()
    request.prom_do_not_track = True  # type: ignore[attr-defined]  # scrapes are not traffic
    registry: CollectorRegistry = current_app.extensions["metrics_registry"]
    response = Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
    response.headers["Content-Type"] = CONTENT_TYPE_LATEST
    response.cache_control.no_store = True
    return response


def _refuse_unless_allowed() -> None:
    token = current_app.config.get("METRICS_TOKEN")
    if token:
        offered = request.headers.get("Authorization", "")
        if not hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
            abort(Response("", 401, {"WWW-Authenticate": "Bearer"}))
        return
    if not _private_address(request.remote_addr):
        abort(404)


def _private_address(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    return ip.is_loopback or ip.is_private


# -- read at scrape time -------------------------------------------------------------------------------


class MarketplaceCollector(Collector):
    """The gauges read from Redis and the database when Prometheus scrapes (never cached: a scrape every
    15 s or so costs a few indexed queries). A part that fails is logged and left out."""

    def collect(self) -> Iterator[Metric]:
        success = GaugeMetricFamily(
            f"{PREFIX}_probe_success", "1 when a part read at scrape time answered, else 0", labels=["probe"]
        )
        for name, read in (("rq", _queue_metrics), ("search_outbox", _outbox_metrics)):
            yield from _attempt(success, name, partial(_listed, read)) or []
        backlog = GaugeMetricFamily(
            f"{PREFIX}_backlog", "Work waiting, as reported by the packages that own it", labels=["name"]
        )
        for name, probe in sorted(_backlog_probes.items()):
            value = _attempt(success, f"backlog_{name}", probe)
            if value is not None:
                backlog.add_metric([name], value)
        yield backlog
        for probe in _ledger_differences_probe:
            value = _attempt(success, "ledger_differences", probe)
            if value is not None:
                yield GaugeMetricFamily(
                    f"{PREFIX}_ledger_differences",
                    "Differences between the ledger and Stripe found by the last nightly reconciliation",
                    value=value,
                )
        yield success


def _listed(read: Callable[[], Iterator[Metric]]) -> list[Metric]:
    return list(read())  # read it all now: a failure must not cut the scrape in the middle


def _attempt(success: GaugeMetricFamily, name: str, read: Callable[[], T]) -> T | None:
    """``read()``, its success noted in ``success``; None when it failed (logged: a scrape reports what
    it could read, never an error page)."""
    try:
        result = read()
    except Exception:
        log.warning("metrics: %s unreadable", name, exc_info=True)
        with contextlib.suppress(Exception):
            db.session.rollback()  # a failed query leaves the session's transaction unusable
        success.add_metric([name], 0)
        return None
    success.add_metric([name], 1)
    return result


def _queue_metrics() -> Iterator[Metric]:
    redis_url = current_app.config.get("REDIS_URL")
    if not redis_url:
        return
    from rq import Queue
    from rq.registry import FailedJobRegistry

    connection = _redis(redis_url)
    length = GaugeMetricFamily(f"{PREFIX}_rq_queue_length", "Jobs waiting in the RQ queue", labels=["queue"])
    failed = GaugeMetricFamily(
        f"{PREFIX}_rq_failed_jobs", "Jobs in the RQ queue's failed registry", labels=["queue"]
    )
    for name in current_app.config["RQ_QUEUES"]:
        queue = Queue(name, connection=connection)
        length.add_metric([name], queue.count)
        failed.add_metric([name], FailedJobRegistry(queue=queue).count)
    yield length
    yield failed


def _redis(url: str) -> Any:
    """A connection with short timeouts (a scrape must not hang on Redis), kept per app and URL."""
    from redis import Redis

    connections: dict[str, Any] = current_app.extensions.setdefault("metrics_redis", {})
    if url not in connections:
        connections[url] = Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
    return connections[url]


def _outbox_metrics() -> Iterator[Metric]:
    from search.models import IndexChange

    pending_count, oldest = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(IndexChange.created_at)).where(
            IndexChange.processed_at.is_(None)
        )
    ).one()
    newest_applied = db.session.scalar(
        sa.select(sa.func.max(IndexChange.created_at)).where(IndexChange.processed_at.is_not(None))
    )
    now = utcnow()
    yield GaugeMetricFamily(
        f"{PREFIX}_search_outbox_pending", "Changes the search index has not applied yet", value=pending_count
    )
    yield GaugeMetricFamily(
        f"{PREFIX}_search_outbox_oldest_age_seconds",
        "How long the oldest change not yet applied to the search index has waited (0 when none)",
        value=(now - oldest).total_seconds() if oldest is not None else 0,
    )
    if newest_applied is not None:
        yield GaugeMetricFamily(
            f"{PREFIX}_search_index_freshness_seconds",
            "How old the newest change applied to the search index is",
            value=(now - newest_applied).total_seconds(),
        )
