"""`flask demo load` loads the demo town, and a second run changes nothing."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from app import demo
from app.accounts.models import Role, User
from app.extensions import db


def _people() -> list[tuple[str, Role]]:
    return [tuple(row) for row in db.session.execute(sa.select(User.email, User.role).order_by(User.email))]


def test_demo_load_is_idempotent(app: Flask, db_session) -> None:  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "people created: 2" in first.output
    assert demo.MANAGER_EMAIL in first.output
    assert demo.DEMO_PASSWORD in first.output
    people = _people()
    assert (demo.MANAGER_EMAIL, Role.MANAGER) in people
    assert (demo.SHOPPER_EMAIL, Role.SHOPPER) in people

    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0, second.output
    assert "people created: 0" in second.output
    assert _people() == people


def test_demo_accounts_can_log_in(app: Flask, client) -> None:  # type: ignore[no-untyped-def]
    loaded = app.test_cli_runner().invoke(args=["demo", "load"])
    assert loaded.exit_code == 0, loaded.output
    response = client.submit("/connexion", {"email": demo.SHOPPER_EMAIL, "password": demo.DEMO_PASSWORD})
    assert response.status_code == 302
    assert client.get("/compte").status_code == 200


def test_a_missing_data_folder_is_a_clear_error(app: Flask, db_session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(args=["demo", "load", "--data", str(tmp_path / "nowhere")])
    assert result.exit_code != 0
    assert "demo data not found" in result.output
