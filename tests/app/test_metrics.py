"""/metrics: Prometheus's text format, requests counted by endpoint, figures read at scrape time, and
served only to those allowed."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from redis import Redis
from rq import Queue
from rq.registry import FailedJobRegistry

from app import metrics
from app.database import utcnow
from app.extensions import db
from search.models import ChangedEntity, IndexChange
from tests.plugins.application import Client

PUBLIC_CLIENT = {"REMOTE_ADDR": "93.184.216.34"}  # not a documentation range: Python calls those private
PRIVATE_CLIENT = {"REMOTE_ADDR": "10.1.2.3"}
REPO = Path(__file__).resolve().parents[2]


def noop() -> None:
    """A job for the queue gauges (never run)."""


def scrape(client: Client, **kwargs: object) -> list[Sample]:
    response = client.get("/metrics", **kwargs)  # type: ignore[arg-type]
    assert response.status_code == 200, response.status_code
    families = text_string_to_metric_families(response.get_data(as_text=True))
    return [sample for family in families for sample in family.samples]


def value(samples: list[Sample], metric: str, /, **labels: str) -> float | None:
    """The sum of the samples of ``metric`` whose labels include ``labels``; None when there is none."""
    found = [s.value for s in samples if s.name == metric and labels.items() <= s.labels.items()]
    return sum(found) if found else None


def test_requests_are_counted_per_endpoint(client: Client) -> None:
    name = "marketplace_http_request_duration_seconds_count"
    before = value(scrape(client), name, endpoint="site.healthz", method="GET") or 0
    client.get("/healthz")
    client.get("/healthz?probe=1")
    samples = scrape(client)
    assert value(samples, name, endpoint="site.healthz", method="GET") == before + 2
    assert value(samples, "marketplace_http_request_total", method="GET") is not None
    # Scrapes are not counted as traffic (refused ones are).
    assert value(samples, name, endpoint="metrics", status="200") is None


def test_labels_name_endpoints_not_paths(client: Client) -> None:
    client.get("/no-such-page-8f3a1c")
    samples = scrape(client)
    assert not [s for s in samples if any("8f3a1c" in label for label in s.labels.values())]
    assert value(samples, "marketplace_http_request_duration_seconds_count", endpoint="None", status="404")


def test_queue_gauges_read_from_redis(app: Flask, client: Client, redis_url: str) -> None:
    queue_name = f"metrics-test-{uuid.uuid4().hex[:8]}"
    connection = Redis.from_url(redis_url)
    queue = Queue(queue_name, connection=connection)
    queue.enqueue(noop)
    queue.enqueue(noop)
    failed = queue.enqueue(noop)
    queue.remove(failed)
    FailedJobRegistry(queue=queue).add(failed, ttl=60, exc_string="boom")
    original = app.config["REDIS_URL"], app.config["RQ_QUEUES"]
    app.config.update(REDIS_URL=redis_url, RQ_QUEUES=(queue_name,))
    try:
        samples = scrape(client)
    finally:
        app.config["REDIS_URL"], app.config["RQ_QUEUES"] = original
        queue.delete(delete_jobs=True)
        FailedJobRegistry(queue=queue).remove(failed, delete_job=True)
        connection.close()
    assert value(samples, "marketplace_rq_queue_length", queue=queue_name) == 2
    assert value(samples, "marketplace_rq_failed_jobs", queue=queue_name) == 1
    assert value(samples, "marketplace_probe_success", probe="rq") == 1


def test_no_queue_gauges_without_redis(client: Client) -> None:
    samples = scrape(client)
    assert value(samples, "marketplace_rq_queue_length") is None
    assert value(samples, "marketplace_probe_success", probe="rq") == 1


def test_outbox_lag_reflects_an_unprocessed_change(app: Flask, client: Client) -> None:
    with app.app_context():
        db.session.add(
            IndexChange(
                entity=ChangedEntity.PRODUCT,
                entity_id=1,
                created_at=utcnow() - dt.timedelta(minutes=2),
                processed_at=utcnow() - dt.timedelta(minutes=1),
            )
        )
        db.session.commit()  # inside the test's own transaction, rolled back at the end
    before = scrape(client)
    assert value(before, "marketplace_search_outbox_pending") == 0
    assert value(before, "marketplace_search_outbox_oldest_age_seconds") == 0
    assert 110 < (value(before, "marketplace_search_index_freshness_seconds") or 0) < 180

    with app.app_context():
        db.session.add(
            IndexChange(
                entity=ChangedEntity.PRODUCT, entity_id=2, created_at=utcnow() - dt.timedelta(minutes=5)
            )
        )
        db.session.commit()  # inside the test's own transaction, rolled back at the end
    after = scrape(client)
    assert value(after, "marketplace_search_outbox_pending") == 1
    assert 295 < (value(after, "marketplace_search_outbox_oldest_age_seconds") or 0) < 400


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registered probes for this test only."""
    monkeypatch.setattr(metrics, "_backlog_probes", {})
    monkeypatch.setattr(metrics, "_ledger_differences_probe", [])


@pytest.mark.usefixtures("probes")
def test_registered_probes_are_read_at_each_scrape(client: Client) -> None:
    assert value(scrape(client), "marketplace_ledger_differences") is None, "no reconciliation yet"
    pending = [4]
    metrics.register_backlog_probe("webhook_deliveries", lambda: pending[0])
    metrics.register_ledger_differences_probe(lambda: 3)
    samples = scrape(client)
    assert value(samples, "marketplace_backlog", name="webhook_deliveries") == 4
    assert value(samples, "marketplace_ledger_differences") == 3
    pending[0] = 0
    assert value(scrape(client), "marketplace_backlog", name="webhook_deliveries") == 0


@pytest.mark.usefixtures("probes")
def test_a_failing_probe_is_reported_and_the_rest_served(client: Client) -> None:
    def broken() -> int:
        raise RuntimeError("table missing")

    metrics.register_backlog_probe("broken", broken)
    metrics.register_backlog_probe("fine", lambda: 2)
    samples = scrape(client)
    assert value(samples, "marketplace_probe_success", probe="backlog_broken") == 0
    assert value(samples, "marketplace_backlog", name="fine") == 2
    assert value(samples, "marketplace_backlog", name="broken") is None
    assert value(samples, "marketplace_search_outbox_pending") is not None


def test_only_loopback_and_private_clients_without_a_token(client: Client) -> None:
    assert client.get("/metrics", environ_base=PUBLIC_CLIENT).status_code == 404
    assert client.get("/metrics", environ_base=PRIVATE_CLIENT).status_code == 200
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1


def test_the_token_is_required_when_set(app: Flask, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "METRICS_TOKEN", "s3cret-token")
    assert client.get("/metrics").status_code == 401, "even from loopback"
    wrong = {"Authorization": "Bearer nope"}
    assert client.get("/metrics", headers=wrong).status_code == 401
    right = {"Authorization": "Bearer s3cret-token"}
    assert client.get("/metrics", headers=right, environ_base=PUBLIC_CLIENT).status_code == 200


def test_proxy_headers_decide_the_client_address(
    app: Flask, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a proxy on a private address, the client's own address (X-Forwarded-For) is what counts."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    monkeypatch.setattr(app, "wsgi_app", ProxyFix(app.wsgi_app, x_for=1))
    forwarded = {"X-Forwarded-For": "93.184.216.34"}
    assert client.get("/metrics", headers=forwarded, environ_base=PRIVATE_CLIENT).status_code == 404


def test_never_compressed_cached_or_given_a_cookie(
    app: Flask, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "PAGE_CACHE", True)
    response = client.get("/metrics", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert len(response.get_data()) > 500, "large enough to be compressed otherwise"
    assert "Content-Encoding" not in response.headers
    assert "X-Cache" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert response.mimetype == "text/plain"


def test_any_host_may_scrape(client: Client) -> None:
    assert client.get("/metrics", base_url="http://10.0.0.7:8000").status_code == 200


def test_workers_counts_add_up_in_multiprocess_mode(tmp_path: Path) -> None:
    """Two processes in turn: the second one's scrape includes the first one's requests."""
    folder = tmp_path / "prometheus"
    folder.mkdir()
    script = textwrap.dedent(
        f"""
        import sys
        from app import create_app
        app = create_app({{
            "APP_ENV": "testing", "SECRET_KEY": "x", "REDIS_URL": None,
            "SQLALCHEMY_DATABASE_URI": "sqlite:///{tmp_path / "db.sqlite"}",
            "STRIPE_API_BASE": "http://127.0.0.1:9", "JOBS_DISPATCHER": "recording",
        }})
        client = app.test_client()
        if sys.argv[1] == "serve":
            for _ in range(3):
                client.get("/favicon.ico")
        else:
            print(client.get("/metrics").get_data(as_text=True))
        """
    )
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    for role in ("serve", "scrape"):
        done = subprocess.run(  # noqa: S603 - this interpreter, our own script
            [sys.executable, "-c", script, role],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
    samples = [s for f in text_string_to_metric_families(done.stdout) for s in f.samples]
    assert value(samples, "marketplace_http_request_duration_seconds_count", endpoint="site.favicon") == 3
