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


def upsert_statement(dialect: str, table: sa.Table, key: str) -> postgresql.Insert | sqlite.Insert:
    """``INSERT … ON CONFLICT (key) DO UPDATE`` of every other column from the inserted row, built once per
    dialect and table (a liveness row is upserted every few seconds: building and cache-keying a new
    statement each time cost more than running it). Execute it with a value for every column."""
    cached = _UPSERTS.get((dialect, table.name, key))
    if cached is None:
        stmt = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
        others = {c.name: stmt.excluded[c.name] for c in table.columns if c.name != key}
        cached = _UPSERTS[(dialect, table.name, key)] = stmt.on_conflict_do_update(
            index_elements=[key], set_=others
        )
    return cached


_UPSERTS: dict[tuple[str, str, str], postgresql.Insert | sqlite.Insert] = {}


def insert_for(conn: Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    """A dialect INSERT offering ``on_conflict_do_nothing`` / ``on_conflict_do_update`` (same API on both)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
