"""``flask demo load``: the demo town of Bellerive-sur-Loire, loaded idempotently.

Each domain adds its own step to ``STEPS`` (shops, products, orders, reviews); running the command
twice changes nothing the second time.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup

from app.accounts import services as accounts
from app.accounts.models import Role, User
from app.database import utcnow
from app.extensions import db

demo = AppGroup("demo", help="The demo town.")

DEMO_PASSWORD = "bellerive-demo"  # noqa: S105 - the published password of the demo accounts
MANAGER_EMAIL = "gestion@bellerive-commerces.example.com"
SHOPPER_EMAIL = "camille.martin@example.com"


@dataclass
class DemoContext:
    data_dir: Path
    password: str = DEMO_PASSWORD
    with_photos: bool = True
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def read_json(self, name: str) -> Any:
        return json.loads((self.data_dir / name).read_text(encoding="utf-8"))


def _ensure_user(email: str, first_name: str, last_name: str, role: Role) -> tuple[User, bool]:
    user = accounts.find_by_email(email)
    if user is not None:
        return user, False
    user = User(
        email=email,
        first_name=first_name,
        last_name=last_name,
        locale="fr",
        role=role,
        email_confirmed_at=utcnow(),
        session_token=secrets.token_hex(16),
        password_hash=accounts.hash_password(DEMO_PASSWORD),
    )
    db.session.add(user)
    db.session.flush()
    return user, True


def load_people(ctx: DemoContext) -> None:
    """The town's commerce manager and a shopper."""
    created = 0
    for email, first, last, role in (
        (MANAGER_EMAIL, "Hélène", "Rousseau", Role.MANAGER),
        (SHOPPER_EMAIL, "Camille", "Martin", Role.SHOPPER),
    ):
        created += _ensure_user(email, first, last, role)[1]
    ctx.counts["people created"] = created
    ctx.logins.append(
        ("manager", MANAGER_EMAIL, "sets up two-factor authentication at first login, with any TOTP app")
    )
    ctx.logins.append(("shopper", SHOPPER_EMAIL, ""))


def _steps() -> list[Callable[[DemoContext], None]]:
    """Each domain's loader, in dependency order."""
    from app.catalog.demo import load_categories, load_products
    from app.reviews.demo import load_reviews
    from payouts.demo import load_plans
    from vendors.demo import load_relay_points, load_shops

    return [
        load_people,
        load_categories,
        load_relay_points,
        load_shops,
        load_products,
        load_plans,
        load_reviews,
    ]


def load(data_dir: Path | None = None, with_photos: bool = True) -> DemoContext:
    """Run every step in one transaction: the demo town is loaded whole or not at all."""
    ctx = DemoContext(data_dir=data_dir or Path(current_app.config["DEMO_DATA_DIR"]), with_photos=with_photos)
    if not ctx.data_dir.is_dir():
        raise click.ClickException(f"demo data not found in {ctx.data_dir}")
    for step in _steps():
        step(ctx)
    db.session.commit()
    return ctx


@demo.command("load")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--no-photos", is_flag=True, help="Skip the generated product photos (faster).")
def load_command(data_dir: Path | None, no_photos: bool) -> None:
    """Load (or complete) the demo town. Safe to run again."""
    ctx = load(data_dir, with_photos=not no_photos)
    for what, count in ctx.counts.items():
        click.echo(f"  {what}: {count}")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for role, email, note in ctx.logins:
        click.echo(f"  {role:<9} {email}" + (f"  ({note})" if note else ""))
