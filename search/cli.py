"""``flask search ...``: build, inspect and catch up the catalogue index."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from search import services, tasks

search = AppGroup("search", help="The catalogue's search index.")


@search.command("reindex")
@click.option("--batch-size", default=1000, show_default=True, help="Products read and written at a time.")
def reindex_command(batch_size: int) -> None:
    """Build a new index from the database and swap it in (searches go on meanwhile)."""
    report = services.reindex(batch_size=batch_size)
    click.echo(
        f"{report.documents} products indexed in {report.seconds:.1f} s into {report.status.index} "
        f"({report.status.backend}); {report.replayed} changes replayed"
    )


@search.command("status")
def status_command() -> None:
    """The index, how many products it holds against the database, and what waits in the outbox."""
    for key, value in services.status().items():
        click.echo(f"{key:>22}: {'—' if value is None else value}")


@search.command("drain")
def drain_command() -> None:
    """Apply the outbox now (the job does it after every change; this is for catching up by hand)."""
    click.echo(f"{tasks.drain()} changes applied")


@search.command("flush-misses")
def flush_misses_command() -> None:
    """Move the counts of searches that found little into the database (every 5 minutes under cron)."""
    click.echo(f"{tasks.flush_misses()} searches counted")
