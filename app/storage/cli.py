"""``flask media ...``: move the uploaded files of an install into its bucket."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app import storage
from app.storage.local import LocalStorage

media_cli = AppGroup("media", help="Uploaded photos and private files.")


@media_cli.command("migrate")
@click.option("--dry-run", is_flag=True, help="Count what would be copied; copy nothing.")
def migrate_command(dry_run: bool) -> None:
    """Copy the files of MEDIA_DIR and PRIVATE_MEDIA_DIR into the configured stores (buckets).

    Keys stay the paths under the folders, which the database already holds: once copied, the same
    rows find their files in the bucket. Run it again after switching, to catch uploads made meanwhile.
    """
    pairs = [
        ("public", Path(current_app.config["MEDIA_DIR"]), storage.media_storage()),
        ("private", Path(current_app.config["PRIVATE_MEDIA_DIR"]), storage.private_media_storage()),
    ]
    if all(isinstance(destination, LocalStorage) for _, _, destination in pairs):
        raise click.ClickException(
            "MEDIA_STORAGE_URL and PRIVATE_MEDIA_STORAGE_URL are not set: the files already are where the "
            "app reads them. Set them to a bucket (s3://bucket/prefix?...) first."
        )
    verb = "would copy" if dry_run else "copied"
    for name, folder, destination in pairs:
        if isinstance(destination, LocalStorage):
            click.echo(f"{name}: stays in {destination.describe()}")
            continue
        source = LocalStorage(folder, public=destination.public)
        report = storage.copy_all(source, destination, dry_run=dry_run)
        click.echo(
            f"{name}: {verb} {report.copied} files ({report.bytes_copied} bytes), "
            f"{report.already_there} already there, from {source.describe()} to {destination.describe()}"
        )
