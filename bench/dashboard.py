"""The town's figures at scale: a year of orders, the rollup of one day and the dashboard of a year.

    .venv/bin/python -m bench.dashboard [--orders-per-year 100000] [--database-url URL] [--keep]

Builds a database of its own (PostgreSQL on 127.0.0.1 by default, dropped afterwards unless --keep),
loads the demo town and a year of its past orders with ``app.orders.demo_history.generate_history``
(orders, refunds, withdrawals and their ledger transactions, as the real flow writes them), rolls the
year up, then prints:

- the rollup of one day (median of 5 runs; target 2 s at 100,000 orders a year);
- the server-side render of the manager's dashboard for the last 365 days, compared with the 365 before
  (median of 5 warm runs, and the first; target 300 ms);
- the SVG of the year's sales chart and the CSV export.

Figures, not assertions: the tests never time anything.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import flask_migrate
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def timed(work: Callable[[], Any], runs: int = 5) -> tuple[float, float, Any]:
    """(first run, median of the runs, last result) in milliseconds."""
    times: list[float] = []
    result = None
    for _ in range(runs):
        began = time.perf_counter()
        result = work()
        times.append((time.perf_counter() - began) * 1000)
    return times[0], statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders-per-year", type=int, default=100_000)
    parser.add_argument("--database-url", help="An empty database to fill (default: a new PostgreSQL one).")
    parser.add_argument("--migrations", default=str(ROOT / "migrations"))
    parser.add_argument("--keep", action="store_true", help="Keep the database it created.")
    args = parser.parse_args()

    name = None
    url = args.database_url
    if url is None:
        name = f"marketplace_bench_figures_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    try:
        with tempfile.TemporaryDirectory(prefix="marketplace-bench-") as workdir:
            run(url, Path(workdir), args)
    finally:
        if name and args.keep:
            print(f"kept: --database-url {url}")
        if name and not args.keep:
            admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def run(url: str, workdir: Path, args: argparse.Namespace) -> None:
    from flask_login import login_user

    from app import create_app
    from app import demo as demo_town
    from app.accounts.models import Role, User
    from app.extensions import db
    from app.figures import charts, documents, services, tasks
    from app.orders.demo_history import generate_history
    from app.orders.models import Order

    app = create_app(
        {
            "APP_ENV": "testing",
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": url,
            "SEARCH_INDEX_DIR": str(workdir / "index"),
            "MAIL_OUTBOX_DIR": str(workdir / "outbox"),
            "MEDIA_DIR": str(workdir / "media"),
            "JOBS_DISPATCHER": "recording",
            "DEMO_DATA_DIR": str(ROOT / "demo"),
            "REDIS_URL": None,
        }
    )
    with app.app_context():
        flask_migrate.upgrade(directory=args.migrations)
        print(f"database: {db.engine.dialect.name}")
        today = services.today()
        first = today - dt.timedelta(days=365)
        if db.session.scalar(sa.select(sa.func.count()).select_from(Order)):
            print("the database already has its orders (--database-url of a kept run): measuring only")
        else:
            began = time.perf_counter()
            demo_town.load(ROOT / "demo", with_photos=False, with_history=False)
            print(f"demo town loaded in {time.perf_counter() - began:.1f} s")
            began = time.perf_counter()
            generate_history(first, today - dt.timedelta(days=1), args.orders_per_year / 365, seed=2026)
            print(f"history written in {time.perf_counter() - began:.1f} s")
            began = time.perf_counter()
            days = tasks.rollup_range(first, today)
            print(f"rollup of {days} days: {time.perf_counter() - began:.1f} s")
        orders = db.session.scalar(sa.select(sa.func.count()).select_from(Order))
        print(f"{orders} orders")

        day = today - dt.timedelta(days=7)

        def one_day() -> int:
            written = services.rollup_day(day)
            db.session.commit()
            return written

        cold, median, _written = timed(one_day)
        print(f"rollup of one day ({day}): median {median:.0f} ms, first {cold:.0f} ms (target 2000 ms)")

        manager = db.session.scalar(sa.select(User).where(User.role == Role.MANAGER).limit(1))
        period = services.Period(today - dt.timedelta(days=364), today)
        query = "/gestion/?" + "&".join(f"{key}={value}" for key, value in period.args().items())
        from app.manager import views as manager_views

        def dashboard() -> str:
            with app.test_request_context(query):
                if manager is not None:
                    login_user(manager)
                return str(manager_views.home.__wrapped__())  # type: ignore[attr-defined]

        cold, median, page = timed(dashboard)
        print(
            f"dashboard of 365 days (and the 365 before): median {median:.0f} ms, first {cold:.0f} ms "
            f"(target 300 ms), {len(page) // 1024} KiB of HTML"
        )

        cold, median, _data = timed(lambda: services.town_dashboard(period))
        print(f"  of which the figures (queries): median {median:.0f} ms")

        def chart() -> str:
            with app.test_request_context():
                return charts.render(services.sales_per_day(period), "fr")

        cold, median, svg = timed(chart)
        print(f"sales chart of 365 days (SVG): median {median:.0f} ms, {len(svg) // 1024} KiB")

        def export() -> str:
            with app.test_request_context():
                return documents.dashboard_csv(services.town_dashboard(period))

        cold, median, csv = timed(export, runs=3)
        print(f"CSV export of 365 days: median {median:.0f} ms, {len(csv) // 1024} KiB")


if __name__ == "__main__":
    main()
