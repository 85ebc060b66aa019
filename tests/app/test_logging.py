"""Logs: one structured line per request and per job, sharing the request id; ids, never personal data."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import textwrap
import threading
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
import structlog
from flask import Flask
from redis import Redis
from rq import Queue, SimpleWorker

import config as settings
from app import jobs, logs
from app.extensions import db
from tests.factories import PASSWORD, UserFactory, owner_of
from tests.plugins.application import Client
from tests.plugins.application import jobs as recorded

REPO = Path(__file__).resolve().parents[2]
JSON = logs.formatter("json")


def boom() -> None:
    """A job that fails."""
    raise RuntimeError("the job broke")


def quiet() -> None:
    """A job that succeeds."""


def lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[dict[str, Any]]:
    """The records of ``logger``, rendered as in production (a JSON line each) and parsed back."""
    return [json.loads(JSON.format(record)) for record in caplog.records if record.name == logger]


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="marketplace.requests")
    caplog.set_level(logging.INFO, logger="marketplace.jobs")
    return caplog


def _login(client: Client, email: str) -> None:
    assert client.submit("/connexion", {"email": email, "password": PASSWORD}).status_code == 302


def test_one_json_line_per_request_with_ids_and_no_personal_data(
    app: Flask, client: Client, captured: pytest.LogCaptureFixture
) -> None:
    with app.app_context():
        user = UserFactory(email="camille.martin@example.com", first_name="Camille")
        db.session.commit()
        user_id = user.id
    _login(client, "camille.martin@example.com")
    captured.clear()

    response = client.get("/?q=secret", headers={"X-Request-ID": "edge-4f2a9c1b7d"})

    assert response.headers["X-Request-ID"] == "edge-4f2a9c1b7d"
    [line] = lines(captured, "marketplace.requests")
    assert line["event"] == "request"
    assert line["request_id"] == "edge-4f2a9c1b7d"
    assert line["user_id"] == user_id
    assert (line["method"], line["endpoint"], line["path"], line["status"]) == ("GET", "site.home", "/", 200)
    assert isinstance(line["duration_ms"], float)
    rendered = json.dumps(line)
    for personal in ("camille", "Camille", "example.com", "127.0.0.1", "secret"):
        assert personal not in rendered


def test_a_back_office_request_names_the_shop(
    app: Flask, client: Client, captured: pytest.LogCaptureFixture
) -> None:
    with app.app_context():
        member = owner_of(email="owner@cave.example.com")
        db.session.commit()
        shop_id, slug = member.shop_id, member.shop.slug
    _login(client, "owner@cave.example.com")
    captured.clear()
    assert client.get(f"/vendeur/{slug}/").status_code == 200
    [line] = lines(captured, "marketplace.requests")
    assert line["shop_id"] == shop_id
    assert line["endpoint"] == "vendors_backoffice.dashboard"


def test_a_malformed_request_id_is_replaced(client: Client) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": 'x" injected=1'})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])
    assert client.get("/healthz").headers["X-Request-ID"] != response.headers["X-Request-ID"]


def test_health_probes_are_not_logged_while_they_succeed(
    client: Client, captured: pytest.LogCaptureFixture
) -> None:
    client.get("/metrics")
    assert lines(captured, "marketplace.requests") == []
    client.get("/metrics", environ_base={"REMOTE_ADDR": "93.184.216.34"})  # refused: logged
    assert [line["status"] for line in lines(captured, "marketplace.requests")] == [404]


def test_a_job_enqueued_by_a_request_logs_the_same_request_id(
    app: Flask, client: Client, captured: pytest.LogCaptureFixture
) -> None:
    with app.app_context():
        UserFactory(email="oubli@example.com")
        db.session.commit()
    response = client.submit(
        "/mot-de-passe-oublie", {"email": "oubli@example.com"}, headers={"X-Request-ID": "reset-0123456789"}
    )
    assert response.status_code == 302
    [job] = recorded(app).jobs
    assert job.request_id == "reset-0123456789"
    assert "reset-0123456789" not in repr(job.args) + repr(job.kwargs), "not in the job's arguments"

    with app.app_context():
        recorded(app).run_all()
    [line] = lines(captured, "marketplace.jobs")
    assert line["request_id"] == "reset-0123456789"
    assert line["function"] == job.path
    assert line["outcome"] == "done"


def test_rq_jobs_carry_the_request_id_in_their_meta(
    app: Flask, redis_url: str, captured: pytest.LogCaptureFixture
) -> None:
    queue_name = f"logging-test-{uuid.uuid4().hex[:8]}"
    dispatcher = jobs.RQDispatcher(redis_url)
    dispatcher.dispatch(
        [
            jobs.JobRequest("tests.app.test_logging.quiet", queue=queue_name, request_id="rq-req-12345678"),
            jobs.JobRequest("tests.app.test_logging.boom", queue=queue_name, request_id="rq-req-12345678"),
        ]
    )
    queue = dispatcher.queue(queue_name)
    try:
        assert [job.meta["request_id"] for job in queue.jobs] == ["rq-req-12345678"] * 2
        ids = [job.id for job in queue.jobs]
        with app.app_context():
            SimpleWorker([queue], connection=Redis.from_url(redis_url)).work(burst=True)
    finally:
        queue.delete(delete_jobs=True)
        Queue(queue_name, connection=dispatcher.connection).failed_job_registry.cleanup()
        dispatcher.connection.close()
    done, failed = lines(captured, "marketplace.jobs")[:2]
    assert (done["outcome"], done["job_id"], done["request_id"]) == ("done", ids[0], "rq-req-12345678")
    assert (failed["outcome"], failed["job_id"], failed["request_id"]) == (
        "failed",
        ids[1],
        "rq-req-12345678",
    )
    assert "RuntimeError: the job broke" in failed["exception"], "errors are logged with the exception"


def test_stripe_calls_carry_the_request_id() -> None:
    seen: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("X-Request-ID"))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *_: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = logs.stripe_http_client(timeout=5)
    url = f"http://127.0.0.1:{server.server_address[1]}/v1/balance"
    try:
        with structlog.contextvars.bound_contextvars(request_id="pay-req-12345678"):
            assert client.request("get", url, {"Authorization": "Bearer sk_test"})[1] == 200
        client.request("get", url, {})
    finally:
        client.close()
        server.shutdown()
        server.server_close()
    assert seen == ["pay-req-12345678", None]


def test_sentry_starts_only_with_a_dsn_and_without_personal_data(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sentry_sdk

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(sentry_sdk, "init", lambda **options: calls.append(options))
    monkeypatch.setitem(app.config, "SENTRY_DSN", "https://public@127.0.0.1:9/1")
    logs.init_sentry(app)
    [options] = calls
    assert options["send_default_pii"] is False
    assert options["dsn"] == "https://public@127.0.0.1:9/1"
    assert {type(i).__name__ for i in options["integrations"]} == {"FlaskIntegration", "RqIntegration"}


def test_log_format_is_checked(tmp_path: Path) -> None:
    with pytest.raises(settings.ConfigError, match="LOG_FORMAT"):
        settings.load(tmp_path, {"APP_ENV": "testing", "LOG_FORMAT": "xml"})


def test_a_process_writes_json_lines_and_leaves_sentry_unimported(tmp_path: Path) -> None:
    """Outside tests: the root logger prints each request as one JSON line on stderr; no Sentry."""
    script = textwrap.dedent(
        f"""
        import sys
        from app import create_app
        app = create_app({{
            "APP_ENV": "development", "SECRET_KEY": "x", "REDIS_URL": None, "LOG_FORMAT": "json",
            "SQLALCHEMY_DATABASE_URI": "sqlite:///{tmp_path / "db.sqlite"}", "STRIPE_API_BASE": "http://127.0.0.1:9",
        }})
        app.test_client().get("/favicon.ico?x=1", headers={{"X-Request-ID": "proc-12345678"}})
        print("sentry" if "sentry_sdk" in sys.modules else "no sentry")
        """
    )
    env = {key: value for key, value in os.environ.items() if key not in {"SENTRY_DSN", "LOG_FORMAT"}}
    done = subprocess.run(  # noqa: S603 - this interpreter, our own script
        [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "no sentry"
    requests = [
        json.loads(text) for text in done.stderr.splitlines() if text.startswith("{") and '"request"' in text
    ]
    assert [(r["path"], r["request_id"], r["status"]) for r in requests] == [
        ("/favicon.ico", "proc-12345678", 200)
    ]


@pytest.mark.parametrize("log_format", ["console", "json"])
def test_an_error_logs_its_traceback_without_the_frames_local_values(log_format: str) -> None:
    def fail(password: str) -> None:
        raise ValueError("refused")

    secret = "-".join(["s3cret", uuid.uuid4().hex])  # not in the source lines a traceback quotes
    record: logging.LogRecord | None = None
    try:
        fail(secret)
    except ValueError:
        record = logging.LogRecord("app", logging.ERROR, __file__, 1, "it failed", (), sys.exc_info())
    assert record is not None
    line = logs.formatter(log_format).format(record)
    assert "ValueError: refused" in line
    assert secret not in line
