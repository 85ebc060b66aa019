"""/readyz tells a load balancer whether this process can serve: every part it needs answers, quickly,
and the database's schema is the one the code expects."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from app.extensions import db
from app.site import health
from tests.plugins import application
from tests.plugins.application import Client
from tests.plugins.services import Services


@pytest.fixture
def stripe_listening(app: Flask) -> Iterator[None]:
    """Something accepts connections where the configuration says Stripe is."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    original = app.config["STRIPE_API_BASE"]
    app.config["STRIPE_API_BASE"] = f"http://127.0.0.1:{listener.getsockname()[1]}"
    try:
        yield
    finally:
        app.config["STRIPE_API_BASE"] = original
        listener.close()


@pytest.mark.usefixtures("stripe_listening")
def test_ready_when_every_part_answers(client: Client) -> None:
    response = client.get("/readyz")
    report = response.get_json()
    assert response.status_code == 200, report
    assert report["ready"] is True
    assert report["failed"] == []
    assert set(report["checks"]) == {"database", "migrations", "search", "stripe"}, "no Redis configured"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


@pytest.mark.usefixtures("stripe_listening")
def test_not_ready_when_migrations_are_not_at_head(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(health, "migration_heads", lambda: {"c99z99999999"})
    response = client.get("/readyz")
    assert response.status_code == 503
    report = response.get_json()
    assert report["failed"] == ["migrations"]
    assert report["checks"]["migrations"]["detail"] == "database not at the migrations' head"


def test_the_real_migration_heads_are_read_from_the_scripts(app: Flask) -> None:
    with app.app_context():
        heads = health.migration_heads()
    assert len(heads) == 1
    versions = Path(app.root_path).parent / "migrations" / "versions"
    (script,) = versions.glob(f"*{next(iter(heads))}*.py")
    assert script.exists()
    from alembic.script import ScriptDirectory

    assert heads == set(ScriptDirectory(str(versions.parent)).get_heads()), "as Alembic finds them"


def _script(folder: Path, name: str, body: str) -> None:
    folder.joinpath(f"{name}.py").write_text(f'"""{name}."""\n\nimport sqlalchemy as sa\n\n{body}\n')


def test_heads_of_branches_and_merges(tmp_path: Path) -> None:
    _script(tmp_path, "a", "revision = 'a1'\ndown_revision = None")
    _script(tmp_path, "b", "revision: str = 'b1'\ndown_revision: str | None = 'a1'")
    _script(tmp_path, "c", "revision = 'c1'\ndown_revision = 'a1'\nbranch_labels = None")
    _script(tmp_path, "helpers", "def upgrade() -> None:\n    pass")  # no revision: not a script
    assert health.script_heads(tmp_path) == {"b1", "c1"}, "two branches, two heads"
    _script(tmp_path, "d", "revision = 'd1'\ndown_revision = ('b1', 'c1')")
    assert health.script_heads(tmp_path) == {"d1"}, "the merge joins them"
    assert health.script_heads(tmp_path / "missing") == set()


def test_not_ready_when_stripe_is_out_of_reach(client: Client) -> None:
    # The test configuration points Stripe at a port where nothing listens.
    response = client.get("/readyz")
    assert response.status_code == 503
    report = response.get_json()
    assert report["failed"] == ["stripe"]
    assert report["checks"]["stripe"]["detail"] == "ConnectionRefusedError", "the type only, no address"


@pytest.mark.usefixtures("stripe_listening")
def test_redis_is_checked_when_configured(
    app: Flask, client: Client, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    assert client.get("/readyz").status_code == 200
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:9/0")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["failed"] == ["redis"]


def test_not_ready_with_a_wrong_database_url(services: Services, tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    wrong = create_app(
        application.test_config(
            "postgresql+psycopg://nobody@127.0.0.1:9/nothing",
            services,
            tmp_path,
            JOBS_DISPATCHER="recording",
            STRIPE_API_BASE=f"http://127.0.0.1:{listener.getsockname()[1]}",
        )
    )
    try:
        response = wrong.test_client().get("/readyz", base_url="http://10.0.0.7:8000")
    finally:
        listener.close()
        with wrong.app_context():
            db.engine.dispose()
    assert response.status_code == 503
    report = response.get_json()
    assert report["ready"] is False
    assert report["failed"] == ["database", "migrations"]
    assert "nobody" not in response.get_data(as_text=True)


def test_liveness_is_unchanged(client: Client) -> None:
    """/healthz stays the cheap liveness report; readiness is a separate question."""
    assert set(client.get("/healthz").get_json()) == {"ok", "database", "jobs", "search", "payments", "mail"}
