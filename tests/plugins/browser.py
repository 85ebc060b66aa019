"""Browser tests: the app served on 127.0.0.1 in a thread, driven through Debian's chromium.

The served app is configured like development (jobs inline, mail in an outbox folder, the dev
mailbox page) on its own database, so a test can sign up and follow the link from the mailbox. It
talks to the local Stripe emulator, whose hosted pages the browser visits like Stripe's. The app is
on ``live_server.app`` for CLI commands (``flask demo load``, which is idempotent).
Screenshots go to ``tests/e2e/screenshots/`` (ignored by git) for people to look at.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
from flask import Flask
from werkzeug.serving import make_server

from app import create_app
from payouts import gateway
from tests.plugins.application import MIGRATIONS_DIR, test_config
from tests.plugins.database import RUN_ID, _worker, create_test_database, drop_test_database
from tests.plugins.services import Services
from tests.plugins.stripe import StripeEmulator

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "e2e" / "screenshots"

VIEWPORTS: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}


@dataclass(frozen=True)
class LiveServer:
    url: str
    outbox: Path
    app: Flask
    stripe: StripeEmulator


@pytest.fixture(scope="session")
def live_server(
    services: Services, stripe_emulator: StripeEmulator, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    root = tmp_path_factory.mktemp("live")
    name = f"marketplace_e2e_{_worker()}_{RUN_ID}"
    database_url = create_test_database(services, root, name)
    application = create_app(
        test_config(
            database_url,
            services,
            root,
            RATELIMIT_ENABLED=False,
            STRIPE_API_BASE=stripe_emulator.url,
            MEDIA_DIR=str(root / "media"),  # uploaded logos stay out of the working tree
        )
    )
    try:
        with application.app_context():
            flask_migrate.upgrade(directory=MIGRATIONS_DIR)
        server = make_server("127.0.0.1", 0, application, threaded=True)
        # Links in mail and Stripe's return addresses lead back to this server, on its random port.
        application.config["PUBLIC_URL"] = f"http://127.0.0.1:{server.server_port}"
        thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
        thread.start()
        try:
            yield LiveServer(
                url=f"http://127.0.0.1:{server.server_port}",
                outbox=Path(application.config["MAIL_OUTBOX_DIR"]),
                app=application,
                stripe=stripe_emulator,
            )
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
    finally:
        gateway.close_clients(application)
        with application.app_context():
            from app.extensions import db

            db.engine.dispose()
        drop_test_database(services, name)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextlib.contextmanager
def _new_page(chromium: Any, live_server: LiveServer, viewport: str) -> Iterator[Any]:
    """A fresh browser page (its own cookies) on one of the VIEWPORTS, in French."""
    context = chromium.new_context(base_url=live_server.url, locale="fr-FR", **VIEWPORTS[viewport])
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.viewport_name = viewport
    try:
        yield page
    finally:
        context.close()


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
def page(request: pytest.FixtureRequest, chromium: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh browser page (its own cookies) on a desktop or phone viewport."""
    with _new_page(chromium, live_server, request.param) as page:
        yield page


@pytest.fixture
def phone_page(chromium: Any, live_server: LiveServer) -> Iterator[Any]:
    """A fresh browser page on the phone viewport only, for journeys people make on their phone."""
    with _new_page(chromium, live_server, "phone") as page:
        yield page


def screenshot(page: Any, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{page.viewport_name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
