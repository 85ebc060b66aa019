"""Operations: backups, the restore drill (``flask ops restore-check``) and the nightly reconciliation
of the ledger with Stripe's balance transactions.

The restore drill proves a backup is usable, not only present: the dump is restored into a scratch
PostgreSQL database with the machine's own ``pg_restore``/``psql`` (what a real restore would use), then
the restored data is checked for what must hold in the books: the schema is at the migrations' head,
every ledger transaction balances, and every numbered series (orders, each shop's invoices, the platform's
commission invoices) runs without a gap. Only the scratch database is ever written to.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import uuid
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from app import mail, metrics
from app.accounts.models import Role, User
from app.database import locked, utcnow
from app.extensions import db
from app.ops.models import ReconciliationRun
from app.urls import external_url
from payouts import bank, gateway, reports
from vendors.hours import TOWN_TZ

# -- PostgreSQL's own tools -----------------------------------------------------------------------


class OpsError(RuntimeError):
    """An operation that cannot go on (wrong database kind, a tool missing or failing): said plainly."""


def postgres_url(url: str | sa.URL) -> sa.URL:
    """The URL, if it names a PostgreSQL database; a clear refusal otherwise (SQLite has no pg_dump)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise OpsError(
            f"{parsed.get_backend_name()} database: backups and the restore drill need PostgreSQL "
            "(set DATABASE_URL to postgresql://...; an embedded SQLite file is backed up by copying it)"
        )
    return parsed


def libpq(url: sa.URL) -> tuple[str, dict[str, str]]:
    """The URL as PostgreSQL's tools take it, and their environment: the password goes in PGPASSWORD,
    never on a command line that ``ps`` shows."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise OpsError(f"{name} not found: install the PostgreSQL client tools (postgresql-client)")
    return found


def _run(command: list[str], env: dict[str, str]) -> None:
    """Run one of PostgreSQL's tools; its own error message (the end of it) when it fails."""
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise OpsError(f"{Path(command[0]).name} failed (exit {done.returncode}):\n{tail}")


def backup(database_url: str | sa.URL, directory: Path, *, now: dt.datetime | None = None) -> Path:
    """``pg_dump -Fc`` of the database into ``directory`` (created if need be), named by the time:
    ``marketplace-YYYYMMDD-HHMMSS.dump``. Written under a temporary name and renamed when complete, so
    a dump that failed half-way is never mistaken for a backup."""
    url = postgres_url(database_url)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = (now or utcnow()).strftime("%Y%m%d-%H%M%S")
    target = directory / f"marketplace-{stamp}.dump"
    partial = directory / f".{target.name}.partial"
    conninfo, env = libpq(url)
    try:
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={partial}", conninfo], env)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def is_custom_format(dump: Path) -> bool:
    """An archive ``pg_restore`` reads: custom format (``pg_dump -Fc``, starting with ``PGDMP``), tar
    (``-Ft``) or a directory (``-Fd``); anything else is taken for plain SQL, which ``psql`` runs."""
    if dump.is_dir():
        return (dump / "toc.dat").is_file()
    with dump.open("rb") as file:
        head = file.read(262)
    return head.startswith(b"PGDMP") or head[257:262] == b"ustar"


def restore(dump: Path, target: sa.URL) -> None:
    """Restore ``dump`` into the (empty) database ``target``, stopping at the first error. Owners and
    grants are left out: the scratch database belongs to whoever runs the drill."""
    conninfo, env = libpq(target)
    if is_custom_format(dump):
        command = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error"]
        _run([*command, f"--dbname={conninfo}", str(dump)], env)
    else:
        command = [_tool("psql"), "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--single-transaction"]
        _run([*command, f"--dbname={conninfo}", f"--file={dump}"], env)


def _admin_engine(server: sa.URL) -> sa.Engine:
    return sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


def create_scratch_database(server: sa.URL) -> sa.URL:
    """A new, empty database with a name no one else uses, on the server of ``server``."""
    name = f"restore_check_{utcnow():%Y%m%d_%H%M%S}_{uuid.uuid4().hex[:6]}"
    engine = _admin_engine(server)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return server.set(database=name)


def drop_database(url: sa.URL) -> None:
    """Drop the scratch database (connected to the server's maintenance database ``postgres``)."""
    engine = _admin_engine(url.set(database="postgres"))
    try:
        with engine.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    finally:
        engine.dispose()


# -- what the restored data must satisfy ----------------------------------------------------------


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    problems: list[str] = field(default_factory=list)
    summary: str = ""


@dataclass
class RestoreReport:
    dump: Path
    database: str
    kept: bool
    checks: list[Check] = field(default_factory=list)
    counts: dict[str, int | None] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [check for check in self.checks if not check.ok]


# The tables counted in the report: enough to see at a glance that the restore is the town's data.
MAIN_TABLES = (
    "users",
    "shops",
    "products",
    "orders",
    "vendor_orders",
    "refunds",
    "ledger_transactions",
    "ledger_entries",
    "shop_transfers",
    "commission_invoices",
    "reviews",
)
PROBLEMS_SHOWN = 20  # per check: enough to act on, short enough to read


@dataclass(frozen=True)
class NumberSeries:
    """A gapless numbered series: ``PREFIX-YYYY-NNNNN`` numbers in ``table.column``, one series per year
    (and per ``scope``, e.g. each shop), drawn from the counter table's ``last`` (``next_in_series``)."""

    label: str
    table: str
    column: str
    counter_table: str
    prefix: str
    width: int
    scope: str | None = None  # the column naming whose series it is, in both tables
    # Numbers given outside the yearly series on purpose, e.g. the demo town's own orders (M-DEMO-…),
    # written without a payment: counted apart, never a gap or a malformed number.
    apart: str | None = None

    def format(self, year: int, number: int) -> str:
        return f"{self.prefix}-{year}-{number:0{self.width}d}"


# Every series the marketplace numbers itself (Stripe numbers the subscription invoices): orders
# (``app.orders.services.next_number``), each shop's invoices and credit notes (``app.orders.documents``,
# ``app.orders.credit_notes``), the platform's commission documents (``payouts.documents``). A new series
# is added here.
NUMBER_SERIES = (
    NumberSeries("order numbers", "orders", "number", "order_counters", "M", 6, apart="M-DEMO-"),
    NumberSeries("shop invoices", "vendor_orders", "invoice_number", "invoice_counters", "F", 5, "shop_id"),
    NumberSeries("shop credit notes", "credit_notes", "number", "credit_note_counters", "AV", 5, "shop_id"),
    NumberSeries("commission invoices", "commission_invoices", "number", "commission_invoice_series", "C", 5),
)


def check_migrations(connection: sa.Connection, migrations_dir: str) -> Check:
    """The restored schema is at the head of ``migrations/``: a restore onto this code needs no upgrade
    (or, older, says which ``flask db upgrade`` it needs first)."""
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory(migrations_dir).get_heads())
    try:
        found = {str(row) for row in connection.scalars(sa.text("SELECT version_num FROM alembic_version"))}
    except SQLAlchemyError:
        connection.rollback()
        return Check("migrations", False, ["no alembic_version table: not a database of this app"])
    if found == heads:
        return Check("migrations", True, summary=f"at head {', '.join(sorted(heads))}")
    dumped = ", ".join(sorted(found)) or "none"
    return Check(
        "migrations", False, [f"alembic revision in the dump: {dumped}; head: {', '.join(sorted(heads))}"]
    )


def check_ledger(connection: sa.Connection) -> Check:
    """Every ledger transaction's entries sum to zero (per currency, were entries ever to carry one),
    and no transaction has lost all its entries."""
    columns = {column["name"] for column in sa.inspect(connection).get_columns("ledger_entries")}
    currency = ", e.currency" if "currency" in columns else ""
    unbalanced = connection.execute(
        sa.text(
            f"SELECT t.key, SUM(e.amount_cents){currency} FROM ledger_transactions t "  # noqa: S608
            f"JOIN ledger_entries e ON e.transaction_id = t.id GROUP BY t.id, t.key{currency} "
            "HAVING SUM(e.amount_cents) <> 0 ORDER BY t.id"
        )
    ).all()
    empty = connection.scalars(
        sa.text(
            "SELECT t.key FROM ledger_transactions t WHERE NOT EXISTS "
            "(SELECT 1 FROM ledger_entries e WHERE e.transaction_id = t.id) ORDER BY t.id"
        )
    ).all()
    problems = [f"transaction {row[0]!r}: entries sum to {row[1]} cents" for row in unbalanced]
    problems += [f"transaction {key!r}: no entries" for key in empty]
    total = connection.scalar(sa.text("SELECT COUNT(*) FROM ledger_transactions"))
    return Check("ledger balanced", not problems, problems, summary=f"{total} transactions balance")


def check_series(connection: sa.Connection, series: NumberSeries) -> Check:
    """No number missing between 1 and the counter's last, none twice, none past the counter (the next
    one drawn would then be a twin), none malformed."""
    pattern = re.compile(rf"^{re.escape(series.prefix)}-([0-9]{{4}})-([0-9]+)$")
    scope = series.scope or "NULL"
    numbers: dict[tuple[Any, int], list[int]] = defaultdict(list)
    problems: list[str] = []
    rows = connection.execute(
        sa.text(
            f"SELECT {scope}, {series.column} FROM {series.table} "  # noqa: S608 - names from NUMBER_SERIES
            f"WHERE {series.column} IS NOT NULL"
        )
    )
    apart = 0
    for owner, number in rows:
        if series.apart and str(number).startswith(series.apart):
            apart += 1
            continue
        found = pattern.match(str(number))
        if found is None:
            problems.append(f"malformed number {number!r}")
            continue
        numbers[(owner, int(found.group(1)))].append(int(found.group(2)))
    counters = {
        (owner, int(year)): int(last)
        for owner, year, last in connection.execute(
            sa.text(f"SELECT {scope}, year, last FROM {series.counter_table}")  # noqa: S608
        )
    }
    for key in sorted(set(numbers) | set(counters), key=lambda k: (str(k[0]), k[1])):
        problems += _series_problems(series, key, numbers.get(key, []), counters.get(key, 0))
    issued = sum(len(found) for found in numbers.values())
    kept_apart = f" ({apart} {series.apart}… apart)" if apart else ""
    return Check(series.label, not problems, problems, summary=f"{issued} numbers, no gap{kept_apart}")


def _series_problems(series: NumberSeries, key: tuple[Any, int], numbers: list[int], last: int) -> list[str]:
    owner, year = key
    where = f" ({series.scope} {owner})" if series.scope else ""
    present = Counter(numbers)
    problems = [
        f"{series.format(year, number)}{where} used {times} times"
        for number, times in sorted(present.items())
        if times > 1
    ]
    top = max([last, *present])
    missing = [number for number in range(1, top + 1) if number not in present]
    if missing:
        shown = ", ".join(series.format(year, number) for number in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        problems.append(f"gap{where}: {shown}{more} missing")
    if top > last:
        problems.append(f"{series.format(year, top)}{where} is past the counter's last ({last})")
    return problems


def count_tables(connection: sa.Connection) -> dict[str, int | None]:
    """Rows in each main table; None for a table the dump lacks."""
    existing = set(sa.inspect(connection).get_table_names())
    return {
        table: int(connection.scalar(sa.text(f"SELECT COUNT(*) FROM {table}")) or 0)  # noqa: S608
        if table in existing
        else None
        for table in MAIN_TABLES
    }


def check_database(url: sa.URL, migrations_dir: str) -> tuple[list[Check], dict[str, int | None]]:
    """Every check on a restored database (read only). A check that cannot run (the table it reads is
    missing) fails with the database's message rather than stopping the others."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    checks: list[Check] = []
    try:
        with engine.connect() as connection:
            checks.append(check_migrations(connection, migrations_dir))
            steps: list[tuple[str, Any]] = [("ledger balanced", check_ledger)]
            steps += [(series.label, _series_check(series)) for series in NUMBER_SERIES]
            for name, step in steps:
                try:
                    checks.append(step(connection))
                except SQLAlchemyError as error:
                    connection.rollback()
                    checks.append(Check(name, False, [f"could not check: {str(error).splitlines()[0]}"]))
            counts = count_tables(connection)
    finally:
        engine.dispose()
    missing = [table for table, count in counts.items() if count is None]
    if missing:
        checks.append(Check("tables", False, [f"table {table} missing" for table in missing]))
    return checks, counts


def _series_check(series: NumberSeries) -> Any:
    return lambda connection: check_series(connection, series)


def restore_check(
    dump: Path,
    *,
    database_url: str | sa.URL,
    migrations_dir: str,
    scratch_url: str | sa.URL | None = None,
    keep: bool = False,
) -> RestoreReport:
    """Restore ``dump`` into a new scratch database (on the server of ``scratch_url``, else of
    ``database_url``), check it, and drop it unless ``keep``. The app's own database is never written."""
    if not dump.exists():
        raise OpsError(f"{dump}: no such file")
    server = postgres_url(scratch_url or database_url)
    scratch = create_scratch_database(server)
    report = RestoreReport(dump=dump, database=str(scratch.database), kept=keep)
    try:
        restore(dump, scratch)
        report.checks, report.counts = check_database(scratch, migrations_dir)
    finally:
        if not keep:
            drop_database(scratch)
    return report


# -- the nightly reconciliation with Stripe -------------------------------------------------------

# How late the other side may record a movement of the day: a webhook delivered after midnight, a
# balance transaction Stripe dates a little after the event the ledger wrote. Movements in this margin
# around the day are matched too, so a payment at 23:59 is not reported missing.
GRACE = dt.timedelta(hours=2)

DIFFERENCE_LABELS = {
    "missing_in_ledger": _l("sur Stripe, absent du grand livre"),
    "missing_in_stripe": _l("dans le grand livre, absent de Stripe"),
    "amount": _l("montants différents"),
}


def town_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The town's day (Europe/Paris, 23 or 25 hours when the clocks change) as a UTC interval."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=TOWN_TZ)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=TOWN_TZ)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def day_to_reconcile(now: dt.datetime | None = None) -> dt.date:
    """The last town day whose margin has passed too: yesterday, once it is past 2 a.m."""
    return ((now or utcnow()) - GRACE).astimezone(TOWN_TZ).date() - dt.timedelta(days=1)


@dataclass
class DayReconciliation:
    day: dt.date
    stripe_count: int = 0  # Stripe's movements of the day (balance transactions, one per object)
    ledger_count: int = 0  # Stripe ids the ledger moved the platform's balance for that day
    matched_count: int = 0
    differences: list[reports.Difference] = field(default_factory=list)

    @property
    def total_difference_cents(self) -> int:
        return sum(abs((d.stripe_cents or 0) - (d.ledger_cents or 0)) for d in self.differences)


def reconcile_day(day: dt.date) -> DayReconciliation:
    """Match the day's balance transactions of the platform with the ledger's movements on its Stripe
    balance, by Stripe object id (charge, refund, transfer, reversal, dispute; a subscription's charge
    through its invoice), amounts net of Stripe's fees as in ``payouts.reports.reconcile``. Each object
    moved that day on either side is compared on its movements within the day and its margin."""
    start, end = town_day_bounds(day)
    found = DayReconciliation(day)
    listed = gateway.balance_transactions(since=start - GRACE, until=end + GRACE)
    in_day = {
        str(t.get("source") or t["id"])
        for t in listed
        if start.timestamp() <= int(t["created"]) < end.timestamp()
    }
    ledger_near = reports.ledger_stripe_movements(start - GRACE, end + GRACE)
    ledger_in_day = set(reports.ledger_stripe_movements(start, end))
    on_stripe: dict[str, int] = {}  # ledger id -> Stripe's net, for movements the ledger knows
    for transaction in reports.merge_by_source(listed):
        source = str(transaction.get("source") or transaction["id"])
        net = int(transaction["net"])
        ledger_cents, ids = reports.ledger_amount(source, transaction, ledger_near)
        for stripe_id in ids:
            on_stripe[stripe_id] = net
        if source not in in_day:
            continue
        found.stripe_count += 1
        kind = str(transaction.get("type") or "")
        if ledger_cents is None:
            found.differences.append(reports.Difference("missing_in_ledger", source, net, None, kind))
        elif ledger_cents != net:
            found.differences.append(reports.Difference("amount", source, net, ledger_cents, kind))
        else:
            found.matched_count += 1
    found.ledger_count = len(ledger_in_day)
    for stripe_id in sorted(ledger_in_day - set(on_stripe)):
        found.differences.append(
            reports.Difference("missing_in_stripe", stripe_id, None, ledger_near[stripe_id])
        )
    return found


def record_reconciliation(day: dt.date) -> ReconciliationRun:
    """Reconcile ``day`` and keep the result (the day's row brought up to date when run again); the
    managers are e-mailed the differences, once per day. A day that reconciles sends nothing: the
    result is on the metrics and in ``flask ops reconcile``; the managers hear only when to act.

    The platform's payouts to its bank of the day (and its margin) are written to the ledger first, when
    their webhook never came: Stripe's own movement, which the ledger must follow, not a difference."""
    start, end = town_day_bounds(day)
    bank.sync_platform_payouts(start - GRACE, end + GRACE)
    result = reconcile_day(day)
    run = _run_of(day)
    run.ran_at = utcnow()
    run.stripe_count = result.stripe_count
    run.ledger_count = result.ledger_count
    run.matched_count = result.matched_count
    run.difference_count = len(result.differences)
    run.total_difference_cents = result.total_difference_cents
    run.differences = [asdict(difference) for difference in result.differences]
    if result.differences and run.mailed_at is None:
        run.mailed_at = run.ran_at
        _mail_managers(run, result)
    db.session.flush()
    return run


def _run_of(day: dt.date) -> ReconciliationRun:
    """The day's row, locked; created at the first run (a concurrent creation found, not doubled)."""
    query = locked(sa.select(ReconciliationRun).where(ReconciliationRun.day == day))
    found = db.session.scalars(query).one_or_none()
    if found is not None:
        return found
    try:
        with db.session.begin_nested():
            found = ReconciliationRun(day=day, differences=[])
            db.session.add(found)
    except IntegrityError:
        found = db.session.scalars(query).one()
    return found


def _mail_managers(run: ReconciliationRun, result: DayReconciliation) -> None:
    rows = [
        {
            "label": DIFFERENCE_LABELS.get(difference.what, difference.what),
            "stripe_id": difference.stripe_id,
            "stripe_cents": difference.stripe_cents,
            "ledger_cents": difference.ledger_cents,
            "detail": difference.detail,
        }
        for difference in result.differences
    ]
    managers = db.session.scalars(sa.select(User).where(User.role == Role.MANAGER, User.is_active.is_(True)))
    for manager in managers:
        mail.send(
            manager.email,
            _l(
                "Rapprochement Stripe du %(day)s : %(count)s écart(s)",
                day=run.day.isoformat(),
                count=run.difference_count,
            ),
            "ops/reconciliation",
            locale=manager.locale,
            person=manager,
            run=run,
            rows=rows,
            url=external_url("payouts_admin.reconciliation"),
        )


def latest_reconciliation_differences() -> int | None:
    """The latest reconciled day's difference count, for metrics and alerts; None before the first run."""
    return db.session.scalar(
        sa.select(ReconciliationRun.difference_count).order_by(ReconciliationRun.day.desc()).limit(1)
    )


# /metrics shows it as marketplace_ledger_differences.
metrics.register_ledger_differences_probe(latest_reconciliation_differences)
