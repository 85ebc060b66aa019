"""The app under test, its HTTP client, the recorded jobs and the mailbox."""

from __future__ import annotations

import contextlib
import re
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import orm
from werkzeug.test import TestResponse

from app import create_app, mail, pagecache
from app.extensions import db, limiter
from app.jobs import RecordingDispatcher
from tests.plugins.database import RUN_ID, _worker, create_test_database, drop_test_database
from tests.plugins.services import Services

MIGRATIONS_DIR = str(Path(__file__).resolve().parents[2] / "migrations")
CSRF_PATTERN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def test_config(database_url: str, services: Services, tmp_root: Path, **extra: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "APP_ENV": "testing",
        "SECRET_KEY": "test-secret-key-not-for-production",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "PASSWORD_HASH_CHEAP": True,
        "MAIL_OUTBOX_DIR": str(tmp_root / "outbox"),
        "SEARCH_INDEX_DIR": str(tmp_root / "search-index"),
        "MEDIA_DIR": str(tmp_root / "media"),
        "PRIVATE_MEDIA_DIR": str(tmp_root / "private-media"),
        "REDIS_URL": None,
        "RATELIMIT_STORAGE_URI": services.redis_url or "memory://",
        # Per run and worker: runs sharing one Redis must not count (or reset) each other's attempts.
        "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": f"marketplace-test-{RUN_ID}-{_worker()}"},
        "STRIPE_API_BASE": "http://127.0.0.1:9",  # nothing listens: no test reaches Stripe by accident
    }
    config.update(extra)
    return config


@pytest.fixture(scope="session")
def app(database_url: str, services: Services, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    root = tmp_path_factory.mktemp("app")
    application = create_app(test_config(database_url, services, root, JOBS_DISPATCHER="recording"))
    with application.app_context():
        flask_migrate.upgrade(directory=MIGRATIONS_DIR)
    yield application
    # Close the pooled connections: once another create_app() has taken the extensions' reference to
    # this app, the garbage collector may drop the pool with them open (a ResourceWarning, an error).
    with application.app_context():
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _fresh_app_state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[None]:
    """Each test starts with no recorded jobs, an empty outbox and fresh rate-limit counters."""
    if "app" not in request.fixturenames:
        yield
        return
    application: Flask = request.getfixturevalue("app")
    application.config["MAIL_OUTBOX_DIR"] = str(tmp_path / "outbox")
    jobs(application).jobs.clear()
    with application.app_context():
        limiter.reset()
        # Kept pages and the per-process caches of public data that follow their generation (names, hours)
        # start empty: an earlier test's rows, rolled back, may share this test's slugs.
        pagecache.bump()
    yield


def jobs(application: Flask) -> RecordingDispatcher:
    dispatcher = application.extensions["jobs"]
    assert isinstance(dispatcher, RecordingDispatcher)
    return dispatcher


class Client(FlaskClient):
    """The Flask test client, plus form submission with the page's CSRF token, as a browser does."""

    def csrf_token(self, url: str) -> str:
        page = self.get(url)
        found = CSRF_PATTERN.search(page.get_data(as_text=True))
        assert found, f"no CSRF token on {url} ({page.status_code})"
        return found.group(1)

    def submit(
        self, url: str, data: dict[str, Any], form_url: str | None = None, **kwargs: Any
    ) -> TestResponse:
        token = self.csrf_token(form_url or url)
        return self.post(url, data={"csrf_token": token, **data}, **kwargs)


@pytest.fixture
def client(app: Flask, db_session: orm.scoped_session[orm.Session]) -> Client:
    app.test_client_class = Client
    return app.test_client()  # type: ignore[return-value]


class Mailbox:
    """What the app has sent: runs the committed jobs, then reads the outbox like the dev mailbox does."""

    def __init__(self, application: Flask) -> None:
        self.app = application

    def messages(self) -> list[mail.OutboxMessage]:
        with self.app.app_context():
            jobs(self.app).run_all(queues=("default", "mail"))  # search indexing only when a test asks
            return list(reversed(mail.outbox_messages()))  # oldest first

    def to(self, address: str) -> list[mail.OutboxMessage]:
        return [message for message in self.messages() if message.to == address]

    def last_to(self, address: str) -> mail.OutboxMessage:
        received = self.to(address)
        assert received, f"no mail to {address}"
        return received[-1]

    @staticmethod
    def link(message: mail.OutboxMessage, path_fragment: str = "") -> str:
        """The path of the first link in the message containing ``path_fragment``."""
        for url in re.findall(r"https?://\S+", message.text):
            if path_fragment in url:
                return re.sub(r"^https?://[^/]+", "", url)
        raise AssertionError(f"no link containing {path_fragment!r} in {message.subject!r}")


@pytest.fixture
def mailbox(app: Flask) -> Mailbox:
    return Mailbox(app)


@pytest.fixture
def app_ctx(app: Flask, db_session: orm.scoped_session[orm.Session]) -> Iterator[Flask]:
    """A request context, for tests that call services directly (they build URLs, read config)."""
    with app.test_request_context("/"):
        yield app


@contextlib.contextmanager
def own_database_app(services: Services, tmp_path: Path, prefix: str) -> Iterator[Flask]:
    """An app on a migrated database of its own, outside the test transaction, for tests whose threads
    commit for real (races); the database is dropped afterwards, whatever happens."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    url = create_test_database(services, tmp_path, name)
    try:
        application = create_app(
            test_config(
                url,
                services,
                tmp_path,
                JOBS_DISPATCHER="recording",
                SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 20, "max_overflow": 40},
            )
        )
        with application.app_context():
            flask_migrate.upgrade(directory=MIGRATIONS_DIR)
            try:
                yield application
            finally:
                db.session.remove()
                db.engine.dispose()
    finally:
        drop_test_database(services, name)


def at_once(application: Flask, work: Callable[..., object], calls: list[tuple[Any, ...]]) -> None:
    """Run ``work(*args)`` for every call, each in a thread with its own app context and session, all
    released together by a barrier; an exception in a thread fails the test."""
    start = threading.Barrier(len(calls))
    failures: list[BaseException] = []

    def run(*args: Any) -> None:
        with application.app_context():
            try:
                start.wait()
                work(*args)
            except BaseException as error:
                failures.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=args) for args in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []
