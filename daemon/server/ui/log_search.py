"""The logs search of ``/ui/logs``: lines across executions by time range, namespace (with those below it),
flow, minimum level and text, newest first, keyset-paged on (timestamp, id). Read-only.

The time range is always bounded (the page's default is the last hour), so the ``logs (timestamp, id)``
index of migration 0005 bounds the work however many lines the store holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

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


def _where(criteria: LogFilter) -> list[sa.ColumnElement[bool]]:
    out: list[sa.ColumnElement[bool]] = []
    if criteria.start_from is not None:
        out.append(logs.c.timestamp >= criteria.start_from)
    if criteria.start_to is not None:
        out.append(logs.c.timestamp < criteria.start_to)
    if criteria.namespace:
        below = executions.c.namespace.startswith(criteria.namespace + ".", autoescape=True)
        out.append(sa.or_(executions.c.namespace == criteria.namespace, below))
    if criteria.flow_id:
        out.append(executions.c.flow_id == criteria.flow_id)
    if criteria.min_level in LEVELS and criteria.min_level != LEVELS[0]:
        out.append(logs.c.level.in_(LEVELS[LEVELS.index(criteria.min_level) :]))
    if criteria.text:
        out.append(logs.c.message.icontains(criteria.text, autoescape=True))
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
    ``after_id``, the lines with a larger id oldest first instead (following a live range)."""
    columns = (
        logs.c.id, logs.c.execution_id, executions.c.namespace, executions.c.flow_id, logs.c.task_id,
        logs.c.attempt, logs.c.level, logs.c.timestamp, logs.c.message,
    )  # fmt: skip
    where = _where(criteria)
    query = sa.select(*columns).select_from(logs.join(executions, executions.c.id == logs.c.execution_id))
    if after_id is not None:
        query = query.where(*where, logs.c.id > after_id).order_by(logs.c.id)
    else:
        if before is not None:
            moment, line_id = before
            key = sa.tuple_(logs.c.timestamp, logs.c.id)
            where.append(
                key < sa.tuple_(sa.literal(moment, type_=logs.c.timestamp.type), sa.literal(line_id))
            )
        query = query.where(*where).order_by(logs.c.timestamp.desc(), logs.c.id.desc())
    with store.engine.connect() as conn:
        return [LogHit(*row) for row in conn.execute(query.limit(limit))]
