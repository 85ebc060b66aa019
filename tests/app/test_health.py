"""/healthz says which backend each part uses and whether it answers."""

from __future__ import annotations

import socket

from flask import Flask

from tests.plugins.application import Client


def test_healthz_names_every_backend(client: Client, app: Flask) -> None:
    response = client.get("/healthz")
    report = response.get_json()
    assert set(report) == {"ok", "database", "jobs", "search", "payments", "mail"}
    assert report["database"]["backend"] in {"postgresql", "sqlite"}
    assert report["database"]["ok"] is True
    assert report["jobs"]["backend"] == "recording"
    assert report["search"]["backend"] == "tantivy"
    assert report["mail"]["backend"] == "outbox"
    assert report["payments"]["backend"] == "stripe-emulator"


def test_an_unreachable_part_makes_it_fail_with_503(client: Client, app: Flask) -> None:
    # The test configuration points Stripe at a port where nothing listens.
    response = client.get("/healthz")
    assert response.status_code == 503
    report = response.get_json()
    assert report["ok"] is False
    assert report["payments"]["ok"] is False
    assert "refused" in report["payments"]["detail"].lower()


def test_all_green_when_every_part_answers(client: Client, app: Flask) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    original = app.config["STRIPE_API_BASE"]
    app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        response = client.get("/healthz")
    finally:
        app.config["STRIPE_API_BASE"] = original
        listener.close()
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["ok"] is True


def test_elasticsearch_is_reported_when_configured(client: Client, app: Flask) -> None:
    app.config["ELASTICSEARCH_URL"] = "http://127.0.0.1:9"
    try:
        report = client.get("/healthz").get_json()
    finally:
        app.config["ELASTICSEARCH_URL"] = None
    assert report["search"]["backend"] == "elasticsearch"
    assert report["search"]["ok"] is False
