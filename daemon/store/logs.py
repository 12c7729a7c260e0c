"""Execution logs: bulk insert (the executor batches lines) and reading by execution, after an id.

``insert`` takes ``LogEntry`` dataclasses; queries return ``LogLine`` frozen dataclasses (with their id,
which is increasing, so ``--follow`` asks for lines after the last id it printed). A message a store cannot
hold (a NUL, a lone surrogate) is stored with U+FFFD in their place, and says so (``textsafe``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from daemon.store.repository import Repository
from daemon.store.tables import logs
from daemon.store.textsafe import clean_message

LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR")

# ``inline()``: no RETURNING of the new ids (nobody reads them), so the insert needs no result and can
# be sent in a pipeline of statements (the executor's writes on PostgreSQL)
_INSERT = logs.insert().inline()


@dataclass(frozen=True, slots=True)
class LogEntry:
    """A log line to insert."""

    execution_id: str
    level: str
    timestamp: datetime
    message: str
    task_run_id: str | None = None
    task_id: str | None = None
    attempt: int | None = None


@dataclass(frozen=True, slots=True)
class LogLine:
    """A stored log line."""

    id: int
    execution_id: str
    task_run_id: str | None
    task_id: str | None
    attempt: int | None
    level: str
    timestamp: datetime
    message: str


def _filtered(
    query: sa.Select[Any], execution_id: str, *, task_id: str | None, task_run_id: str | None,
    min_level: str | None,
) -> sa.Select[Any]:  # fmt: skip
    query = query.where(logs.c.execution_id == execution_id)
    if task_id is not None:
        query = query.where(logs.c.task_id == task_id)
    if task_run_id is not None:
        query = query.where(logs.c.task_run_id == task_run_id)
    if min_level is not None:
        query = query.where(logs.c.level.in_(LEVELS[LEVELS.index(min_level) :]))
    return query


class LogRepository(Repository):
    """Log lines (``logs``)."""

    def insert(self, entries: Sequence[LogEntry], *, conn: Connection | None = None) -> None:
        """Insert many lines with one executemany (one statement, batched by the driver)."""
        if not entries:
            return
        params = [
            {
                "execution_id": e.execution_id, "task_run_id": e.task_run_id, "task_id": e.task_id,
                "attempt": e.attempt, "level": e.level, "timestamp": e.timestamp,
                "message": clean_message(e.message),
            }
            for e in entries
        ]  # fmt: skip
        with self._write(conn) as c:
            c.execute(_INSERT, params)

    def for_execution(
        self,
        execution_id: str,
        *,
        task_id: str | None = None,
        after_id: int = 0,
        min_level: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        task_run_id: str | None = None,
        conn: Connection | None = None,
    ) -> list[LogLine]:
        """Lines of an execution in order, optionally of one task (run), only those with ``id > after_id``
        and at least ``min_level`` (one of ``LEVELS``); ``limit``/``offset`` give one page."""
        query = (
            _filtered(
                sa.select(logs), execution_id, task_id=task_id, task_run_id=task_run_id, min_level=min_level
            )
            .where(logs.c.id > after_id)
            .order_by(logs.c.id)
            .limit(limit)
            .offset(offset or None)
        )
        with self._read(conn) as c:
            return [LogLine(**row._mapping) for row in c.execute(query)]

    def count_for_execution(
        self,
        execution_id: str,
        *,
        task_id: str | None = None,
        task_run_id: str | None = None,
        min_level: str | None = None,
        conn: Connection | None = None,
    ) -> int:
        """How many lines ``for_execution`` would return without a page."""
        query = _filtered(
            sa.select(sa.func.count()).select_from(logs), execution_id,
            task_id=task_id, task_run_id=task_run_id, min_level=min_level,
        )  # fmt: skip
        with self._read(conn) as c:
            return int(c.execute(query).scalar_one())

    def delete_for_execution(self, execution_id: str, *, conn: Connection | None = None) -> int:
        """Delete the lines of an execution; returns how many."""
        with self._write(conn) as c:
            return c.execute(logs.delete().where(logs.c.execution_id == execution_id)).rowcount
