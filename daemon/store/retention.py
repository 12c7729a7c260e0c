"""Retention: deleting what is old enough that nobody needs it, in short batches.

``purge(store, before=...)`` deletes executions that *ended* before ``before`` (never a running one), with
their task runs, log lines and internal files, and the schedule ticks older than ``before`` that lie behind
their trigger's cursor (``triggers.last_date``: the scheduler never looks behind it, so those rows no longer
guard anything; ticks of a trigger that no longer exists go too). ``keep_failed`` keeps FAILED executions.

Each batch of ``BATCH`` executions is one short transaction, so a purge never holds the write lock for
long. Indexes (migration ``0003_daemon``): ``executions.end_date`` and ``schedule_ticks.scheduled_date``.
``flowd db purge`` runs it by hand; the daemon runs it daily when ``FLOWD_RETENTION`` is set.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import sqlalchemy as sa

from daemon.store.store import Store
from daemon.store.tables import executions, logs, schedule_ticks, task_runs, triggers

log = logging.getLogger(__name__)

BATCH = 500
TERMINAL = ("SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "SKIPPED", "RETRIED")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class ExecutionFiles(Protocol):
    """Where an execution's internal files live: the folder storage or the database one (``open_storage``
    picks it from ``FLOWD_STORAGE``); a purge must delete from the one the executor writes to."""

    def delete_execution_files(
        self, execution_id: str, *, namespace: str | None = None, flow_id: str | None = None
    ) -> int:
        """Remove every file of an execution; returns how many folders (or files) went."""
        ...


class RetentionError(ValueError):
    """A retention period that cannot be read."""


def parse_age(text: str) -> timedelta:
    """``30d``, ``12h``, ``2w``, ``90m``, ``45s`` (or an ISO-8601 ``P30D``) -> a positive timedelta."""
    value = text.strip()
    match = re.fullmatch(r"(\d+)\s*([smhdw])", value.lower())
    if match:
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
    else:
        iso = re.fullmatch(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", value.upper())
        if not iso or not any(iso.groups()):
            raise RetentionError(f"'{text}' is not an age like 30d, 12h, 2w or P30D")
        w, d, h, m, s = (int(g or 0) for g in iso.groups())
        seconds = w * 604800 + d * 86400 + h * 3600 + m * 60 + s
    if seconds <= 0:
        raise RetentionError(f"'{text}': the age must be more than zero")
    return timedelta(seconds=seconds)


@dataclass
class PurgeCounts:
    """What a purge deleted (or, dry, would delete)."""

    executions: int = 0
    task_runs: int = 0
    logs: int = 0
    file_folders: int = 0
    schedule_ticks: int = 0

    def render(self) -> str:
        return (
            f"{self.executions} execution(s), {self.task_runs} task run(s), {self.logs} log line(s), "
            f"{self.file_folders} file folder(s), {self.schedule_ticks} schedule tick(s)"
        )


def purge(
    store: Store,
    *,
    before: datetime,
    keep_failed: bool = False,
    dry_run: bool = False,
    storage: ExecutionFiles | None = None,
) -> PurgeCounts:
    """Delete executions ended before ``before`` (with runs, logs, files) and old ticks; see the module.
    ``storage`` is the internal storage the daemon writes to (``open_storage``); None leaves files alone."""
    counts = PurgeCounts()
    ended = executions.c.end_date.is_not(None) & (executions.c.end_date < before)
    ended &= executions.c.state.in_(TERMINAL)
    if keep_failed:
        ended &= executions.c.state != "FAILED"
    select = sa.select(executions.c.id, executions.c.namespace, executions.c.flow_id).where(ended)
    if dry_run:
        with store.engine.connect() as conn:
            old = sa.select(executions.c.id).where(ended).scalar_subquery()
            counts.executions = _count(conn, executions, executions.c.id.in_(old))
            counts.task_runs = _count(conn, task_runs, task_runs.c.execution_id.in_(old))
            counts.logs = _count(conn, logs, logs.c.execution_id.in_(old))
            counts.schedule_ticks = _count(conn, schedule_ticks, _old_ticks(before))
        return counts
    while True:
        with store.begin() as conn:
            batch = conn.execute(select.order_by(executions.c.end_date).limit(BATCH)).all()
            if not batch:
                break
            ids = [row.id for row in batch]
            counts.logs += conn.execute(logs.delete().where(logs.c.execution_id.in_(ids))).rowcount
            counts.task_runs += conn.execute(
                task_runs.delete().where(task_runs.c.execution_id.in_(ids))
            ).rowcount
            counts.executions += conn.execute(executions.delete().where(executions.c.id.in_(ids))).rowcount
        if storage is not None:  # after the commit: a file without its row is harmless, the reverse is not
            for row in batch:
                counts.file_folders += storage.delete_execution_files(
                    row.id, namespace=row.namespace, flow_id=row.flow_id
                )
    with store.begin() as conn:
        counts.schedule_ticks = conn.execute(schedule_ticks.delete().where(_old_ticks(before))).rowcount
    return counts


def _old_ticks(before: datetime) -> sa.ColumnElement[bool]:
    """Ticks older than ``before`` behind their trigger's cursor, or of a trigger that is gone."""
    same = (
        (triggers.c.namespace == schedule_ticks.c.namespace)
        & (triggers.c.flow_id == schedule_ticks.c.flow_id)
        & (triggers.c.trigger_id == schedule_ticks.c.trigger_id)
    )
    ahead = sa.exists().where(
        same & (triggers.c.last_date.is_(None) | (triggers.c.last_date <= schedule_ticks.c.scheduled_date))
    )
    return (schedule_ticks.c.scheduled_date < before) & ~ahead


def _count(conn: sa.Connection, table: sa.Table, where: sa.ColumnElement[bool]) -> int:
    return int(conn.execute(sa.select(sa.func.count()).select_from(table).where(where)).scalar_one())
