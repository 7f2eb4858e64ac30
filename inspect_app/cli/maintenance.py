"""Keeping a server tidy: sweeping unused photos, backing up the SQLite database."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..db import db
from . import fail


@click.command("sweep-photos")
@click.option("--grace-hours", type=click.IntRange(1, 24 * 365), default=48, show_default=True)
@with_appcontext
def sweep_photos_command(grace_hours: int) -> None:
    """Delete photo files no row points at, and pending uploads never used, older than the
    grace period (which must exceed the longest offline delay between upload and submit)."""
    from datetime import UTC, datetime, timedelta

    from flask import current_app

    from ..models import Photo
    from ..photo_stores import store_from_config, sweep_orphans

    now = datetime.now(UTC)
    grace = timedelta(hours=grace_hours)
    stale = db.session.scalars(
        select(Photo).where(Photo.is_pending, Photo.created_at < now - grace)
    ).all()
    for photo in stale:
        db.session.delete(photo)
    db.session.commit()
    referenced = set(db.session.scalars(select(Photo.sha256).distinct()))
    deleted = sweep_orphans(
        store_from_config(current_app.config), referenced, older_than=grace, now=now
    )
    click.echo(f"removed {len(stale)} unused uploads and {len(deleted)} orphan files")


@click.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace FILE when it exists.")
@with_appcontext
def backup_command(file: Path, overwrite: bool) -> None:
    """Write a consistent copy of the live SQLite database to FILE (online backup API; the app
    may keep running). On PostgreSQL it refuses and prints the pg_dump command to use."""
    from flask import current_app

    from ..backups import BackupError, backup_sqlite

    try:
        result = backup_sqlite(
            current_app.config["SQLALCHEMY_DATABASE_URI"], file, overwrite=overwrite
        )
    except BackupError as err:
        fail(str(err))
    click.echo(result.summary())
