"""The restore drill on a real backup: a town's month of money (orders, a refund, transfers, the shops'
invoices and the platform's commission invoices) committed in a database of its own, dumped with
``flask ops backup`` (pg_dump -Fc), restored by ``flask ops restore-check`` into a scratch database and
checked; then copies of it, each spoiled in one way, fail the check, which names the problem."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from flask.testing import FlaskCliRunner

from app.database import utcnow
from app.extensions import db
from app.ops import services as ops
from app.orders import services as orders
from app.orders.models import Order
from payouts import commission, documents, gateway, reports, tasks
from payouts.models import RuleScope
from tests.factories import ProductFactory, UserFactory
from tests.orders.support import Town, fill_cart, make_town, part_of
from tests.orders.test_lifecycle import place_and_pay
from tests.payouts.support import after_hold, connect, deliver
from tests.plugins.application import own_database_app
from tests.plugins.services import Services
from tests.plugins.stripe import StripeEmulator, running_emulator
from tests.reviews.support import place
from vendors.hours import TOWN_TZ

SCRATCH = re.compile(r"scratch database (restore_check_\w+)")


def _money_month(emulator: StripeEmulator) -> None:
    """Three orders from both shops, delivered (each shop's invoices F-1 to F-3), one refunded in part,
    all transferred after the hold, and the month's commission invoiced to both shops (C-1, C-2)."""
    manager: Any = UserFactory(manager=True)
    commission.set_rule(manager, RuleScope.PLATFORM, None, 1000)
    db.session.commit()
    town: Town = make_town()
    for shop_id in (town.baker_id, town.books_id):
        connect(shop_id, emulator)
    paid = []
    for _ in range(3):
        fill_cart(town, (town.bread, 1), (town.novel, 1))
        paid.append(place_and_pay(town).id)
    for order_id in paid:
        for shop_id in (town.baker_id, town.books_id):
            deliver(db.session.get_one(Order, order_id), shop_id)
    books = part_of(db.session.get_one(Order, paid[1]), town.books_id)
    orders.refund_partial(books, token="a" * 32, note="Coin corné", amount_cents=300)
    db.session.commit()
    with time_machine.travel(after_hold(5)):
        assert tasks.transfer_due() == 6
    month_over = (utcnow().astimezone(TOWN_TZ).replace(day=1) + dt.timedelta(days=40)).replace(day=3)
    with time_machine.travel(month_over):
        assert documents.issue_month(*documents.previous_month()) == 2
        db.session.commit()
    assert reports.reconcile().differences == []


@dataclass(frozen=True)
class Dumps:
    custom: Path  # by ``flask ops backup``
    plain: Path  # plain SQL, by pg_dump


@pytest.fixture(scope="module")
def town_dumps(services: Services, tmp_path_factory: pytest.TempPathFactory) -> Dumps:
    """The month of money committed in a database of its own, dumped with ``flask ops backup`` and as
    plain SQL; the database is dropped afterwards, the dumps stay for the module's tests."""
    if not services.postgres_url:
        pytest.skip("the restore drill needs PostgreSQL")
    root = tmp_path_factory.mktemp("ops-town")
    with running_emulator(root) as emulator, own_database_app(services, root, "ops_town") as application:
        application.config.update(STRIPE_API_BASE=emulator.url, PAYOUT_HOLD_DAYS=3)
        with application.test_request_context("/"):
            _money_month(emulator)
        db.session.remove()
        result = application.test_cli_runner().invoke(args=["ops", "backup", str(root / "backups")])
        assert result.exit_code == 0, result.output
        conninfo, env = ops.libpq(ops.postgres_url(application.config["SQLALCHEMY_DATABASE_URI"]))
        plain = root / "town.sql"
        subprocess.run(["pg_dump", "--no-owner", f"--file={plain}", conninfo], env=env, check=True)  # noqa: S603, S607
        gateway.close_clients(application)
    return Dumps(custom=Path(result.output.split(" (")[0]), plain=plain)


def _check(app: Flask, dump: Path, *extra: str) -> tuple[int, str]:
    runner: FlaskCliRunner = app.test_cli_runner()
    result = runner.invoke(args=["ops", "restore-check", str(dump), *extra])
    return result.exit_code, result.output


def _exists(app: Flask, name: str) -> bool:
    with app.app_context():
        return bool(
            db.session.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
        )


def _spoiled(app: Flask, dump: Path, target: Path, *statements: str) -> Path:
    """A copy of the dump with ``statements`` run on it: restored into a scratch database, changed,
    dumped again (custom format), the scratch database dropped."""
    scratch = ops.create_scratch_database(ops.postgres_url(app.config["SQLALCHEMY_DATABASE_URI"]))
    try:
        ops.restore(dump, scratch)
        engine = sa.create_engine(scratch, poolclass=sa.pool.NullPool)
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(sa.text(statement))
        engine.dispose()
        conninfo, env = ops.libpq(scratch)
        subprocess.run(["pg_dump", "-Fc", f"--file={target}", conninfo], env=env, check=True)  # noqa: S603, S607
    finally:
        ops.drop_database(scratch)
    return target


def test_the_backup_of_a_month_of_money_passes_the_restore_check(app: Flask, town_dumps: Dumps) -> None:
    assert town_dumps.custom.name.startswith("marketplace-")
    assert ops.is_custom_format(town_dumps.custom)
    code, output = _check(app, town_dumps.custom)
    assert code == 0, output
    for passed in (
        "[ok  ] migrations: at head",
        "[ok  ] ledger balanced",
        "[ok  ] order numbers: 3 numbers, no gap",
        "[ok  ] shop invoices: 6 numbers, no gap",
        "[ok  ] commission invoices: 2 numbers, no gap",
    ):
        assert passed in output
    assert "orders 3, vendor_orders 6, refunds 1" in output
    assert "shop_transfers 6" in output
    assert "All checks passed." in output
    found = SCRATCH.search(output)
    assert found is not None
    assert not _exists(app, found.group(1)), "the scratch database is dropped afterwards"


def test_a_plain_sql_dump_passes_too_and_keep_keeps_the_scratch_database(
    app: Flask, town_dumps: Dumps
) -> None:
    assert not ops.is_custom_format(town_dumps.plain)
    code, output = _check(app, town_dumps.plain, "--keep")
    assert code == 0, output
    assert "All checks passed." in output
    found = SCRATCH.search(output)
    assert found is not None
    assert "(kept)" in output
    assert _exists(app, found.group(1))
    ops.drop_database(ops.postgres_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(database=found.group(1)))


# Each spoils one thing; all in one copy, so that one restore shows each is found and none hides another.
SPOILERS = (
    # An entry of 1 cent added to the first transaction (past the trigger that refuses it at commit).
    "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_balanced",
    "INSERT INTO ledger_entries (transaction_id, account_id, amount_cents) SELECT t.id, "
    "(SELECT MIN(id) FROM ledger_accounts), 1 FROM ledger_transactions t "
    "WHERE t.id = (SELECT MIN(id) FROM ledger_transactions)",
    "ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_balanced",
    # The middle invoice of a shop loses its number; the platform's first commission invoice is deleted.
    "UPDATE vendor_orders SET invoice_number = NULL WHERE invoice_number LIKE 'F-%-00002' "
    "AND shop_id = (SELECT MIN(shop_id) FROM vendor_orders)",
    "DELETE FROM commission_invoices WHERE number LIKE 'C-%-00001'",
    # The schema said to be two revisions behind.
    "UPDATE alembic_version SET version_num = 'c19c00000001'",
)


def test_a_spoiled_copy_fails_the_check_which_names_each_problem(
    app: Flask, town_dumps: Dumps, tmp_path: Path
) -> None:
    spoiled = _spoiled(app, town_dumps.custom, tmp_path / "spoiled.dump", *SPOILERS)
    code, output = _check(app, spoiled)
    assert code == 1, output
    for failed, named in (
        ("ledger balanced", r"transaction '[^']+': entries sum to 1 cents"),
        ("shop invoices", r"gap \(shop_id \d+\): F-\d{4}-00002 missing"),
        ("commission invoices", r"gap: C-\d{4}-00001 missing"),
        ("migrations", r"alembic revision in the dump: c19c00000001; head: \w+"),
    ):
        assert f"[FAIL] {failed}" in output
        assert re.search(named, output), (named, output)
    assert "[ok  ] order numbers: 3 numbers, no gap" in output
    assert output.count("[FAIL]") == 4
    assert "FAILED: migrations, ledger balanced, shop invoices, commission invoices" in output


def test_sqlite_and_missing_dumps_are_refused_plainly(
    app: Flask, town_dumps: Dumps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = _check(app, town_dumps.custom, "--scratch-url", f"sqlite:///{tmp_path / 'scratch.sqlite'}")
    assert code == 1
    assert "sqlite database: backups and the restore drill need PostgreSQL" in output
    code, output = _check(app, tmp_path / "nowhere.dump")
    assert code == 1
    assert "nowhere.dump: no such file" in output
    monkeypatch.setitem(app.config, "SQLALCHEMY_DATABASE_URI", f"sqlite:///{tmp_path / 'town.sqlite'}")
    for command in (["backup", str(tmp_path / "backups")], ["restore-check", str(town_dumps.custom)]):
        result = app.test_cli_runner().invoke(args=["ops", *command])
        assert result.exit_code == 1
        assert "need PostgreSQL" in result.output
    assert not (tmp_path / "backups").exists()


def test_archives_go_to_pg_restore_and_anything_else_to_psql(tmp_path: Path) -> None:
    custom = tmp_path / "town.dump"
    custom.write_bytes(b"PGDMP\x01\x0f\x00" + b"\x00" * 300)
    tar = tmp_path / "town.tar"
    tar.write_bytes(b"toc.dat".ljust(257, b"\x00") + b"ustar\x00" + b"\x00" * 100)
    directory = tmp_path / "town.dir"
    directory.mkdir()
    (directory / "toc.dat").write_bytes(b"PGDMP")
    plain = tmp_path / "town.sql"
    plain.write_text("--\n-- PostgreSQL database dump\n--\nSELECT 1;\n")
    assert [ops.is_custom_format(path) for path in (custom, tar, directory, plain, tmp_path)] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_the_demo_towns_own_orders_are_counted_apart_not_as_malformed(app_ctx: Flask) -> None:
    part = place(UserFactory(), [ProductFactory()])
    order = db.session.get(Order, part.order_id)
    assert order is not None
    order.number = "M-DEMO-000001"
    db.session.flush()
    series = next(found for found in ops.NUMBER_SERIES if found.label == "order numbers")
    check = ops.check_series(db.session.connection(), series)
    assert check.ok, check.problems
    assert "1 M-DEMO-… apart" in check.summary
    order.number = "M-WHAT-000001"
    db.session.flush()
    check = ops.check_series(db.session.connection(), series)
    assert not check.ok
    assert check.problems == ["malformed number 'M-WHAT-000001'"]


def test_the_demo_towns_backup_passes_the_restore_check(
    app: Flask, services: Services, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The demo town with a month of its past orders (invoices, refunds and their credit notes), backed
    up and checked as an operator would: every series whole, the ledger balanced."""
    from app import demo as demo_town

    if not services.postgres_url:
        pytest.skip("the restore drill needs PostgreSQL")
    root = tmp_path_factory.mktemp("ops-demo")
    with own_database_app(services, root, "ops_demo") as application:
        application.config.update(DEMO_HISTORY_DAYS=30)
        with application.test_request_context("/"):
            demo_town.load(with_photos=False, with_history=True)
        db.session.remove()
        result = application.test_cli_runner().invoke(args=["ops", "backup", str(root / "backups")])
        assert result.exit_code == 0, result.output
    code, output = _check(app, Path(result.output.split(" (")[0]))
    assert code == 0, output
    assert re.search(r"\[ok  \] shop credit notes: [1-9]\d* numbers, no gap", output), output
    assert re.search(r"\[ok  \] order numbers: \d+ numbers, no gap \(5 M-DEMO-… apart\)", output), output
