"""``flask users ...``: account administration from the command line."""

from __future__ import annotations

import click
from email_validator import EmailNotValidError, validate_email
from flask.cli import AppGroup

from app.accounts import services
from app.extensions import db

users = AppGroup("users", help="Manage accounts.")


@users.command("create-manager")
@click.option("--email", prompt=True, help="The manager's e-mail address (their login).")
@click.option("--first-name", prompt=True)
@click.option("--last-name", prompt=True)
@click.password_option(help="At least 10 characters; prompted for when omitted.")
def create_manager(email: str, first_name: str, last_name: str, password: str) -> None:
    """Create a town commerce manager. They enrol a second factor at their first login."""
    from app.accounts.forms import PASSWORD_MIN_LENGTH

    try:
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise click.BadParameter(f"not a valid e-mail address: {error}", param_hint="--email") from error
    if len(password) < PASSWORD_MIN_LENGTH:
        raise click.BadParameter(f"at least {PASSWORD_MIN_LENGTH} characters", param_hint="--password")
    try:
        user = services.create_manager(services.NewManager(email, password, first_name, last_name))
    except services.AccountError as error:
        raise click.ClickException(str(error.message)) from error
    db.session.commit()
    click.echo(f"Manager {user.email} created (id {user.id}).")


@users.command("retention")
def retention() -> None:
    """Apply the personal data retention rules now (what the daily jobs do); safe to run twice."""
    from app.accounts.tasks import RETENTION_RULES

    for rule in RETENTION_RULES:
        click.echo(f"{rule.__name__}: {rule()}")
