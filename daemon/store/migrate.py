"""Applying the packaged Alembic migrations programmatically (no alembic.ini at run time).

Alembic itself is imported only when there is migrating to do: a database already at ``HEAD_REVISION`` is
recognised with one plain query of its ``alembic_version`` table, which keeps ``Store.open`` (every CLI
command) about 70 ms faster. ``HEAD_REVISION`` is checked against the scripts by the store tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from daemon.store.engine import BEGIN_OPTION

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# The newest script in migrations/versions; bump it with every new migration (a test compares the two).
HEAD_REVISION = "0008_cbench"

# Taken while migrating on PostgreSQL so that several processes starting together migrate one at a time.
# (On SQLite the BEGIN IMMEDIATE of the migration transaction does the same.)
_PG_MIGRATION_LOCK = 0x666C6F7764  # "flowd"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic Config pointing at the packaged scripts, optionally bound to an open connection."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str | None:
    """The newest migration shipped with this version of flowd (read from the scripts)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None when it was never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def stored_revisions(engine: Engine) -> list[str]:
    """The revisions recorded in the database's ``alembic_version`` table, by one plain query (no Alembic);
    empty when the table does not exist (a database never migrated)."""
    # connecting may fail (unreachable server): that propagates, as it would from Alembic
    with engine.connect().execution_options(**{BEGIN_OPTION: "DEFERRED"}) as conn:
        try:
            rows = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
        except DBAPIError:  # no such table: a database never migrated
            return []
    return [str(row[0]) for row in rows]


def at_head(engine: Engine) -> bool:
    """True when the database is exactly at ``HEAD_REVISION``: there is nothing to migrate."""
    return _newest_script_is_head() and stored_revisions(engine) == [HEAD_REVISION]


def _newest_script_is_head() -> bool:
    # a guard against a new script shipped without bumping HEAD_REVISION: then Alembic decides (slower, right)
    names = sorted(p.name for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*.py"))
    return bool(names) and names[-1].startswith(f"{HEAD_REVISION}_")


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` to ``revision`` in one transaction (a no-op, without
    importing Alembic, when ``revision`` is ``head`` and the database is already there)."""
    if revision in ("head", HEAD_REVISION) and at_head(engine):
        return
    from alembic import command

    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
        command.upgrade(alembic_config(conn), revision)
