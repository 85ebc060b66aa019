"""`flask users create-manager`."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from app.accounts.models import Role, User
from app.extensions import db


def test_create_manager(app: Flask, db_session) -> None:  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(
        args=[
            "users",
            "create-manager",
            "--email",
            "Boss@Example.com",
            "--first-name",
            "Hélène",
            "--last-name",
            "Rousseau",
            "--password",
            "a long manager password",
        ]
    )
    assert result.exit_code == 0, result.output
    manager = db.session.scalar(sa.select(User).where(User.email == "boss@example.com"))
    assert manager is not None
    assert manager.role == Role.MANAGER
    assert manager.email_confirmed
    assert manager.two_factor_required
    assert not manager.two_factor_enabled


def test_create_manager_refuses_bad_input(app: Flask, db_session) -> None:  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()
    base = ["users", "create-manager", "--first-name", "A", "--last-name", "B"]
    short = runner.invoke(args=[*base, "--email", "a@example.com", "--password", "short"])
    assert short.exit_code != 0
    assert "at least 10 characters" in short.output
    bad_email = runner.invoke(args=[*base, "--email", "not-an-email", "--password", "long enough password"])
    assert bad_email.exit_code != 0
    assert "e-mail" in bad_email.output.lower()
    runner.invoke(args=[*base, "--email", "a@example.com", "--password", "long enough password"])
    duplicate = runner.invoke(args=[*base, "--email", "A@example.com", "--password", "long enough password"])
    assert duplicate.exit_code != 0
    assert "existe déjà" in duplicate.output
