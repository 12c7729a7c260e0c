"""``flowd db``: database maintenance (``upgrade`` applies migrations, ``current`` shows where it is)."""

from __future__ import annotations

import click
from sqlalchemy.exc import SQLAlchemyError

from daemon.cli.common import db_option, handle_errors
from daemon.errors import StoreError
from daemon.settings import Settings, normalize_db_url
from daemon.store import migrate
from daemon.store.engine import create_engine, describe_error


def _url(db: str | None) -> str:
    return normalize_db_url(db) if db else Settings().db_url()


@click.group(name="db")
def command() -> None:
    """Database maintenance (migrations, retention)."""


@command.command("upgrade")
@db_option
@click.option("--revision", default="head", show_default=True, help="Migrate to this revision.")
@handle_errors
def upgrade_command(db: str | None, revision: str) -> None:
    """Apply the migrations shipped with flowd (idempotent)."""
    engine = create_engine(_url(db))
    try:
        before = migrate.current_revision(engine)
        migrate.upgrade(engine, revision)
        after = migrate.current_revision(engine)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot migrate {engine.url.render_as_string()}: {describe_error(exc)}") from exc
    finally:
        engine.dispose()
    if before == after:
        click.echo(f"database is up to date (revision {after})")
    else:
        click.echo(f"database migrated from {before or 'empty'} to {after}")


@command.command("current")
@db_option
@handle_errors
def current_command(db: str | None) -> None:
    """Print the database's migration revision and the newest one shipped."""
    engine = create_engine(_url(db))
    try:
        current = migrate.current_revision(engine)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot read {engine.url.render_as_string()}: {describe_error(exc)}") from exc
    finally:
        engine.dispose()
    click.echo(f"current: {current or 'empty'}\nhead: {migrate.head_revision()}")


@command.command("purge")
@db_option
@click.option(
    "--older-than", "older_than", required=True, help="Age of ended executions to delete: 30d, 12h, 2w."
)
@click.option("--keep-failed", is_flag=True, help="Keep FAILED executions, whatever their age.")
@click.option("--dry-run", is_flag=True, help="Count what would be deleted; delete nothing.")
@handle_errors
def purge_command(db: str | None, older_than: str, keep_failed: bool, dry_run: bool) -> None:
    """Delete executions that ended more than --older-than ago, with their task runs, logs and internal
    files, and the schedule ticks behind each trigger's cursor older than that."""
    from datetime import UTC, datetime

    from daemon.store import Store
    from daemon.store.retention import RetentionError, parse_age, purge
    from daemon.store.storage_db import open_storage

    try:
        age = parse_age(older_than)
    except RetentionError as exc:
        raise click.BadParameter(str(exc), param_hint="--older-than") from exc
    settings = Settings()
    store = Store.open(_url(db))
    try:
        # the files live where the daemon writes them (``FLOWD_STORAGE``: a folder or the database)
        storage = open_storage(
            settings.storage,
            engine=store.engine,
            storage_dir=settings.storage_dir,
            cache_dir=settings.cache_dir,
        )
        counts = purge(
            store, before=datetime.now(UTC) - age, keep_failed=keep_failed, dry_run=dry_run, storage=storage
        )
    finally:
        store.close()
    click.echo(f"{'would delete' if dry_run else 'deleted'} {counts.render()}")
