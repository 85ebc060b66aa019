"""``flask demo load``: the demo town of Bellerive-sur-Loire, loaded idempotently.

Each domain adds its own step to ``STEPS`` (shops, products, orders, reviews); running the command
twice changes nothing the second time.
"""

from __future__ import annotations

import datetime as dt
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
HISTORY_SEED = 2026  # the demo town's past orders; ``flask demo history --seed`` draws others
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


def load(data_dir: Path | None = None, with_photos: bool = True, with_history: bool = True) -> DemoContext:
    """Run every step in one transaction: the demo town is loaded whole or not at all. Then its past
    orders (``DEMO_HISTORY_DAYS`` days), committed day by day; days already there are left alone."""
    ctx = DemoContext(data_dir=data_dir or Path(current_app.config["DEMO_DATA_DIR"]), with_photos=with_photos)
    if not ctx.data_dir.is_dir():
        raise click.ClickException(f"demo data not found in {ctx.data_dir}")
    for step in _steps():
        step(ctx)
    db.session.commit()
    days = int(current_app.config.get("DEMO_HISTORY_DAYS", 0))
    if with_history and days > 0:
        load_history(ctx, days, float(current_app.config.get("DEMO_HISTORY_PER_DAY", 15)))
    return ctx


def load_history(ctx: DemoContext, days: int, per_day: float, seed: int = HISTORY_SEED) -> None:
    """The town's past orders, from ``days`` days ago to yesterday."""

    from app.orders.demo_history import generate_history
    from vendors.hours import TOWN_TZ

    today = utcnow().astimezone(TOWN_TZ).date()
    start = today - dt.timedelta(days=days)
    report = generate_history(start, today - dt.timedelta(days=1), per_day, seed)
    if report.orders:
        _roll_up(start, today)
    ctx.counts["past orders created"] = report.orders
    ctx.counts["past days skipped (already there)"] = report.skipped_days
    ctx.counts["past credit notes issued"] = report.credit_notes
    ctx.counts["past orders per second"] = round(report.rate)


def _roll_up(start: dt.date, end: dt.date) -> None:
    """The dashboards' daily figures of the days the history filled (the hourly job keeps today)."""
    from app.figures.tasks import rollup_range

    rollup_range(start, end)


@demo.command("load")
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path), default=None)
@click.option("--no-photos", is_flag=True, help="Skip the generated product photos (faster).")
@click.option("--no-history", is_flag=True, help="Skip the past year of orders (faster).")
def load_command(data_dir: Path | None, no_photos: bool, no_history: bool) -> None:
    """Load (or complete) the demo town. Safe to run again."""
    ctx = load(data_dir, with_photos=not no_photos, with_history=not no_history)
    for what, count in ctx.counts.items():
        click.echo(f"  {what}: {count}")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for role, email, note in ctx.logins:
        click.echo(f"  {role:<9} {email}" + (f"  ({note})" if note else ""))


@demo.command("history")
@click.option(
    "--days", type=click.IntRange(1, 3660), default=365, show_default=True, help="Days before today."
)
@click.option("--per-day", type=click.FloatRange(0, 10_000), default=15.0, show_default=True)
@click.option("--seed", type=int, default=HISTORY_SEED, show_default=True)
def history_command(days: int, per_day: float, seed: int) -> None:
    """Past orders of the demo town (after ``demo load``), to yesterday; days this seed already wrote
    are skipped. No payment, no e-mail, no stock moved."""

    from app.orders.demo_history import HistoryReport, generate_history
    from vendors.hours import TOWN_TZ

    def progress(report: HistoryReport) -> None:
        click.echo(f"  {report.days} days, {report.orders} orders, {report.rate:.0f} orders/s")

    today = utcnow().astimezone(TOWN_TZ).date()
    start = today - dt.timedelta(days=days)
    report = generate_history(start, today - dt.timedelta(days=1), per_day, seed, progress=progress)
    if not report.orders and not report.skipped_days:
        raise click.ClickException("no shop with products online: run `flask demo load` first")
    if report.orders:
        _roll_up(start, today)
    click.echo(
        f"{report.orders} orders ({report.parts} shop parts) over {report.days} days, "
        f"{report.skipped_days} days already there; {report.shoppers_created} shoppers created; "
        f"{report.refused} refused, {report.cancelled} cancelled, {report.withdrawals} withdrawals, "
        f"{report.partial_refunds} partial refunds, {report.credit_notes} credit notes, "
        f"{report.transfers} transfers; "
        f"{report.seconds:.1f} s, {report.rate:.0f} orders/s"
    )
