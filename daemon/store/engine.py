"""Building the SQLAlchemy engine for a URL: SQLite pragmas and transaction mode, PostgreSQL pool.

SQLite: the stdlib driver's "legacy" transaction handling is switched off (``isolation_level=None``)
and flowd emits BEGIN itself, so every transaction is real and DDL is transactional. A connection may
ask for ``BEGIN DEFERRED`` with the execution option ``flowd_begin="DEFERRED"`` (read-only work);
everything else starts with ``BEGIN IMMEDIATE``, taking the write lock up front: a transaction that
reads and then writes cannot then fail with "database is locked" halfway, and the busy timeout applies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url

from daemon.settings import normalize_db_url
from daemon.store.columns import json_dumps

SQLITE_BUSY_TIMEOUT_MS = 30_000
BEGIN_OPTION = "flowd_begin"


def create_engine(url: str) -> Engine:
    """An engine for ``url`` (``sqlite:///file`` or ``postgresql[+psycopg]://``), pooled and configured."""
    url = normalize_db_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database)
    return sa.create_engine(
        url,
        json_serializer=json_dumps,
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=True,
        # every session speaks UTC so timestamps come back without conversion
        connect_args={"options": "-c TimeZone=UTC"},
    )


def describe_error(exc: BaseException) -> str:
    """The first line of a driver error (SQLAlchemy wraps it with a long trailer)."""
    cause = getattr(exc, "orig", None) or exc
    text = str(cause).strip()
    return text.splitlines()[0] if text else type(cause).__name__


def _sqlite_engine(url: str, database: str | None) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        json_serializer=json_dumps,
        connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )
    sa.event.listen(engine, "connect", _sqlite_on_connect)
    sa.event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # driver autocommit: flowd emits BEGIN itself (see module docstring)
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")  # first: the next ones may wait
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    mode = conn.get_execution_options().get(BEGIN_OPTION, "IMMEDIATE")
    conn.exec_driver_sql("BEGIN DEFERRED" if mode == "DEFERRED" else "BEGIN IMMEDIATE")
