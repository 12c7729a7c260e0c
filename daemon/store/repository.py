"""What every repository shares: the engine, "use this connection or open a transaction", upserts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from daemon.store.engine import BEGIN_OPTION


class Repository:
    """Base of the repositories: each method takes ``conn=None`` and opens its own transaction then."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name

    @contextmanager
    def _write(self, conn: Connection | None) -> Iterator[Connection]:
        """The caller's connection, or a new transaction committed on success (BEGIN IMMEDIATE on SQLite)."""
        if conn is not None:
            yield conn
            return
        with self._engine.begin() as own:
            yield own

    @contextmanager
    def _read(self, conn: Connection | None) -> Iterator[Connection]:
        """The caller's connection, or a new read-only transaction (deferred on SQLite: no write lock)."""
        if conn is not None:
            yield conn
            return
        with self._engine.connect() as own:
            own.execution_options(**{BEGIN_OPTION: "DEFERRED"})
            with own.begin():
                yield own


def insert_for(conn: Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """A dialect INSERT offering ``on_conflict_do_nothing`` / ``on_conflict_do_update`` (same API on both)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
