"""Jobs of payouts, run on a schedule by ``flask cron``; each is safe to run twice."""

from __future__ import annotations

import logging
import re

import click
from flask.cli import AppGroup

from app.extensions import db
from payouts import services, subscriptions

log = logging.getLogger(__name__)

payouts_cli = AppGroup("payouts", help="Transfers to shops, subscriptions, commission invoices.")


def transfer_due() -> int:
    """Release and transfer every shop part due (delivered, past the hold), and retry the waiting and
    failed ones; each in its own transaction, so one refusal never holds up the others."""
    done = 0
    for vendor_order_id in services.due_parts() + services.retry_parts():
        try:
            services.pay_out(vendor_order_id)
        except Exception:
            db.session.rollback()
            log.exception("transfer of vendor order %d", vendor_order_id)
            continue
        db.session.commit()
        done += 1
    return done


def retry_reversals() -> int:
    """Try again the transfer reversals Stripe refused (the shop's balance was short), shop by shop, each
    in its own transaction; what later transfers netted is settled without calling Stripe. Returns the
    cents taken back."""
    recovered = 0
    for shop_id in services.owing_shops():
        try:
            recovered += services.retry_reversals(shop_id)
        except Exception:
            db.session.rollback()
            log.exception("reversal retries of shop %d", shop_id)
            continue
        db.session.commit()
    return recovered


def enforce_billing() -> int:
    """Hide the storefronts of shops whose subscription is unpaid past the grace period."""
    hidden = subscriptions.hide_unpaid()
    db.session.commit()
    return hidden


def issue_last_month() -> int:
    """Issue last month's commission invoices not issued yet (run daily: a day missed is caught up
    the next one, and the invoices already issued are found, not issued again)."""
    from payouts import documents  # fpdf: loaded by the job, not by every worker

    year, month = documents.previous_month()
    issued = documents.issue_month(year, month)
    db.session.commit()
    return issued


def chase_dac7_data() -> int:
    """Remind the shops whose DAC7 data is missing, withhold their payouts after two reminders, release
    them once it is complete (run daily: the 7 days between reminders are counted from the last one)."""
    from payouts import dac7

    done = dac7.chase_missing_data()
    db.session.commit()
    return sum(done.values())


SCHEDULE = (
    (transfer_due, 3600),
    (retry_reversals, 3600),
    (enforce_billing, 3600),
    (issue_last_month, 86400),
    (chase_dac7_data, 86400),
)


@payouts_cli.command("transfer")
def transfer_command() -> None:
    """Transfer to shops what is due (``flask cron`` runs it hourly)."""
    click.echo(f"{transfer_due()} shop parts handled")


@payouts_cli.command("reversals")
def reversals_command() -> None:
    """Retry the transfer reversals Stripe refused (``flask cron`` runs it hourly)."""
    click.echo(f"{retry_reversals()} cents taken back from shops")


@payouts_cli.command("billing")
def billing_command() -> None:
    """Hide storefronts unpaid past the grace period (``flask cron`` runs it hourly)."""
    click.echo(f"{enforce_billing()} storefronts hidden")


def _month(_ctx: click.Context, _param: click.Parameter, value: str | None) -> tuple[int, int] | None:
    if value is None:
        return None
    found = re.fullmatch(r"([0-9]{4})-([0-9]{2})", value)
    if found is None or not 1 <= int(found.group(2)) <= 12:
        raise click.BadParameter("expected a month as YYYY-MM, e.g. 2026-11")
    return int(found.group(1)), int(found.group(2))


@payouts_cli.command("invoices")
@click.option(
    "--month", callback=_month, metavar="YYYY-MM", help="The month to invoice (default: last month)."
)
def invoices_command(month: tuple[int, int] | None) -> None:
    """Issue a month's commission invoices to shops (``flask cron`` runs it daily for last month)."""
    from payouts import documents

    year, number = month or documents.previous_month()
    try:
        issued = documents.issue_month(year, number)
    except ValueError as error:
        raise click.UsageError(str(error)) from error
    db.session.commit()
    click.echo(f"{issued} commission invoices issued for {year}-{number:02d}")


@payouts_cli.command("dac7")
@click.option("--year", type=int, required=True, help="The fiscal year declared (e.g. 2025).")
@click.option(
    "--out",
    type=click.Path(file_okay=False, writable=True),
    default=".",
    show_default=True,
    help="The folder the declaration is written to, under the file name the DGFiP expects.",
)
def dac7_command(year: int, out: str) -> None:
    """Build the year's DAC7 declaration (XML, validated against the DGFiP schema)."""
    from pathlib import Path

    from payouts import dac7

    try:
        built = dac7.build_declaration(year)
    except dac7.DeclarationError as error:
        raise click.ClickException(f"the declaration does not validate: {error}") from error
    path = Path(out) / built.filename
    path.write_text(built.xml, encoding="utf-8")
    click.echo(f"{path}: {len(built.reported)} sellers reported")
    for seller in built.left_out:
        click.echo(f"left out, data missing: {seller.shop.name} ({', '.join(seller.missing)})", err=True)
