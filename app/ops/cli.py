"""``flask ops ...``: backups, the restore drill, the reconciliation with Stripe."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.extensions import db
from app.ops import services
from payouts import gateway

ops_cli = AppGroup("ops", help="Backups, the restore drill, the nightly reconciliation with Stripe.")


def _database_url() -> str:
    return str(current_app.config["SQLALCHEMY_DATABASE_URI"])


@ops_cli.command("backup")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def backup_command(directory: Path) -> None:
    """Dump the database (pg_dump -Fc) into DIRECTORY as marketplace-YYYYMMDD-HHMMSS.dump.

    Uploaded media are not in the dump: they live in MEDIA_DIR or the S3 bucket, which is backed up on
    its own (bucket versioning and replication: see docs/deploy.md).
    """
    try:
        target = services.backup(_database_url(), directory)
    except services.OpsError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"{target} ({target.stat().st_size} bytes)")
    click.echo("Media (MEDIA_DIR or the S3 bucket) are not in the dump: back them up on their own.")


@ops_cli.command("restore-check")
@click.argument("dump", type=click.Path(path_type=Path))
@click.option(
    "--scratch-url",
    help="The PostgreSQL server to restore on (a scratch database is created there with a unique name). "
    "Default: DATABASE_URL's server.",
)
@click.option("--keep", is_flag=True, help="Keep the scratch database afterwards (its name is printed).")
def restore_check_command(dump: Path, scratch_url: str | None, keep: bool) -> None:
    """Restore DUMP (a pg_dump archive: custom, tar or directory format, or plain SQL) into a scratch
    database and check it: migrations at head, ledger balanced, numbered series without gaps; exit code
    1 when a check fails."""
    directory = current_app.extensions["migrate"].directory
    try:
        report = services.restore_check(
            dump,
            database_url=_database_url(),
            migrations_dir=directory,
            scratch_url=scratch_url,
            keep=keep,
        )
    except services.OpsError as error:
        raise click.ClickException(str(error)) from error
    _print(report)
    if not report.ok:
        raise SystemExit(1)


def _print(report: services.RestoreReport) -> None:
    click.echo(f"Restore check of {report.dump}")
    kept = "kept" if report.kept else "dropped afterwards"
    click.echo(f"Restored into scratch database {report.database} ({kept})")
    click.echo("")
    for check in report.checks:
        mark = "ok  " if check.ok else "FAIL"
        click.echo(f"  [{mark}] {check.name}" + (f": {check.summary}" if check.ok and check.summary else ""))
        for problem in check.problems[: services.PROBLEMS_SHOWN]:
            click.echo(f"         - {problem}")
        if len(check.problems) > services.PROBLEMS_SHOWN:
            click.echo(f"         ... and {len(check.problems) - services.PROBLEMS_SHOWN} more")
    click.echo("")
    click.echo(
        "Rows: " + ", ".join(f"{table} {'missing' if n is None else n}" for table, n in report.counts.items())
    )
    click.echo("")
    if report.ok:
        click.echo("All checks passed.")
    else:
        click.echo(f"FAILED: {', '.join(check.name for check in report.failures)}")


def _day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter("expected a date as YYYY-MM-DD, e.g. 2026-12-05") from error


@ops_cli.command("reconcile")
@click.option("--day", callback=_day, metavar="YYYY-MM-DD", help="The town day (default: yesterday).")
def reconcile_command(day: dt.date | None) -> None:
    """Reconcile one town day of the ledger with Stripe's balance transactions, as ``flask cron`` does
    every night; exit code 1 when there are differences (the managers are mailed them once)."""
    with current_app.test_request_context("/"):  # the mail's absolute links
        try:
            run = services.record_reconciliation(day or services.day_to_reconcile())
        except gateway.StripeError as error:
            raise click.ClickException(f"Stripe could not be read: {error}") from error
        db.session.commit()
    click.echo(
        f"{run.day}: {run.stripe_count} Stripe movements, {run.ledger_count} Stripe ids in the ledger, "
        f"{run.matched_count} matched, {run.difference_count} differences "
        f"({run.total_difference_cents} cents)"
    )
    for difference in run.differences:
        detail = f" ({difference['detail']})" if difference["detail"] else ""
        click.echo(
            f"  - {difference['what']} {difference['stripe_id']}{detail}: "
            f"Stripe {difference['stripe_cents']}, ledger {difference['ledger_cents']}"
        )
    if run.difference_count:
        raise SystemExit(1)
