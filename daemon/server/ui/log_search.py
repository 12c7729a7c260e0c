"""The logs search of ``/ui/logs``: lines across executions by time range, namespace (with those below it),
flow, minimum level and text, newest first, keyset-paged on (timestamp, id). Read-only.

The time range is always bounded (the page's default is the last hour), so the ``logs (timestamp, id)``
index of migration 0005 bounds the work however many lines the store holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from daemon.store import Store
from daemon.store.logs import LEVELS
from daemon.store.tables import executions, logs


@dataclass(frozen=True, slots=True)
class LogFilter:
    """What to search for; the parts combine with AND."""

    start_from: datetime | None = None
    start_to: datetime | None = None
    namespace: str | None = None
    flow_id: str | None = None
    min_level: str | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class LogHit:
    """A line with its execution's flow."""

    id: int
    execution_id: str
    namespace: str
    flow_id: str
    task_id: str | None
    attempt: int | None
    level: str
    timestamp: datetime
    message: str


def _time_where(criteria: LogFilter) -> list[sa.ColumnElement[bool]]:
    out: list[sa.ColumnElement[bool]] = []
    if criteria.start_from is not None:
        out.append(logs.c.timestamp >= criteria.start_from)
    if criteria.start_to is not None:
        out.append(logs.c.timestamp < criteria.start_to)
    return out


def _line_where(criteria: LogFilter, table: sa.FromClause) -> list[sa.ColumnElement[bool]]:
    out: list[sa.ColumnElement[bool]] = []
    if criteria.min_level in LEVELS and criteria.min_level != LEVELS[0]:
        out.append(table.c.level.in_(LEVELS[LEVELS.index(criteria.min_level) :]))
    if criteria.text:
        out.append(table.c.message.icontains(criteria.text, autoescape=True))
    return out


def _execution_where(criteria: LogFilter) -> list[sa.ColumnElement[bool]]:
    out: list[sa.ColumnElement[bool]] = []
    if criteria.namespace:
        below = executions.c.namespace.startswith(criteria.namespace + ".", autoescape=True)
        out.append(sa.or_(executions.c.namespace == criteria.namespace, below))
    if criteria.flow_id:
        out.append(executions.c.flow_id == criteria.flow_id)
    return out


def search_logs(
    store: Store,
    criteria: LogFilter,
    *,
    limit: int,
    before: tuple[datetime, int] | None = None,
    after_id: int | None = None,
) -> list[LogHit]:
    """Matching lines newest first (``before``: only those older than that (timestamp, id)); with
    ``after_id``, the lines with a larger id oldest first instead (following a live range).

    Without a flow, the lines are read newest first from the time index and filtered as they come (the
    subquery's OFFSET 0 keeps the planner from sorting every line of the range when it misjudges how rare
    a text is); a flow is selective, so its executions are found first."""
    if after_id is not None:
        source = logs.join(executions, executions.c.id == logs.c.execution_id)
        where = [*_time_where(criteria), *_line_where(criteria, logs), *_execution_where(criteria)]
        query = _columns(logs).select_from(source).where(*where, logs.c.id > after_id).order_by(logs.c.id)
        return _run(store, query.limit(limit))
    time_where = _time_where(criteria)
    if before is not None:
        moment, line_id = before
        key = sa.tuple_(logs.c.timestamp, logs.c.id)
        time_where.append(
            key < sa.tuple_(sa.literal(moment, type_=logs.c.timestamp.type), sa.literal(line_id))
        )
    if criteria.flow_id:
        source = logs.join(executions, executions.c.id == logs.c.execution_id)
        where = [*time_where, *_line_where(criteria, logs), *_execution_where(criteria)]
        query = _columns(logs).select_from(source).where(*where)
        query = query.order_by(logs.c.timestamp.desc(), logs.c.id.desc())
        return _run(store, query.limit(limit))
    newest = (
        sa.select(logs).where(*time_where).order_by(logs.c.timestamp.desc(), logs.c.id.desc()).offset(0)
    ).subquery("newest")
    source = newest.join(executions, executions.c.id == newest.c.execution_id)
    query = (
        _columns(newest)
        .select_from(source)
        .where(*_line_where(criteria, newest), *_execution_where(criteria))
        .order_by(newest.c.timestamp.desc(), newest.c.id.desc())
    )
    return _run(store, query.limit(limit))


def _columns(table: sa.FromClause) -> sa.Select[Any]:
    return sa.select(
        table.c.id, table.c.execution_id, executions.c.namespace, executions.c.flow_id, table.c.task_id,
        table.c.attempt, table.c.level, table.c.timestamp, table.c.message,
    )  # fmt: skip


def _run(store: Store, query: sa.Select[Any]) -> list[LogHit]:
    with store.engine.connect() as conn:  # one transaction: SET LOCAL holds for the query
        if conn.dialect.name == "postgresql":
            # a LIMITed search costs milliseconds: compiling it to machine code (JIT) only adds to that
            conn.exec_driver_sql("SET LOCAL jit = off")
        return [LogHit(*row) for row in conn.execute(query)]
