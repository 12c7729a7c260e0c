"""Task runs: batch insert, the claim (how a worker gets work), batch state updates.

Rows come back as ``TaskRun`` frozen dataclasses (their JSON fields are plain lists/dicts; dates inside
them are ISO-8601 strings). ``ExecutionRepository`` (``store.executions``) inherits these methods.

The claim is the one place where several workers meet: ``claim_task_runs`` moves CREATED rows whose
``ready_at`` has come to RUNNING in a single UPDATE. On PostgreSQL the candidate rows are picked with
``FOR UPDATE SKIP LOCKED``, so concurrent claimers (threads or processes) never get the same row and never
wait on each other; on SQLite the UPDATE runs in a ``BEGIN IMMEDIATE`` transaction, which serialises it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from daemon.store.columns import UTCDateTime, json_append, json_dumps
from daemon.store.repository import Repository
from daemon.store.tables import executions, task_runs


@dataclass(frozen=True, slots=True)
class TaskRun:
    """One row of ``task_runs``; also what ``insert_task_runs`` takes."""

    id: str
    execution_id: str
    task_id: str
    state: str
    ready_at: datetime
    histories: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, Any] | None = None
    parent_task_run_id: str | None = None
    value: str | None = None
    iteration: int | None = None
    claimed_by: str | None = None
    claimed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TaskRunUpdate:
    """The new state of one task run, written by ``update_task_runs``.

    ``histories``/``attempts``/``outputs`` replace the stored values. ``ready_at`` (None: unchanged) with
    ``state="CREATED"`` schedules a retry: the claim is released and the row can be claimed again then.
    """

    id: str
    state: str
    histories: list[dict[str, Any]]
    attempts: list[dict[str, Any]]
    outputs: dict[str, Any] | None = None
    ready_at: datetime | None = None
    # the fenced form (``update_task_runs(..., owner_id=...)``): the state the writer last stored (the row
    # changes only from it) and the epoch under which the writer owns the run's execution
    prev_state: str | None = None
    epoch: int = 0


_FIELDS = tuple(f.name for f in fields(TaskRun))


IN_CHUNK = 500  # ids per IN list


def _row(row: sa.Row[Any]) -> TaskRun:
    return TaskRun(**row._mapping)


def _claim_statement(dialect: str, *, by_execution: bool = False) -> sa.Update:
    tr = task_runs
    candidates = (
        sa.select(tr.c.id)
        .where(tr.c.state == "CREATED", tr.c.ready_at <= sa.bindparam("b_now", type_=UTCDateTime()))
        .order_by(tr.c.ready_at, tr.c.id)
        .limit(sa.bindparam("b_limit", type_=sa.Integer()))
    )
    if by_execution:
        # only runs of executions the claimer still owns (an execution adopted away is not claimed)
        owned = sa.select(executions.c.id).where(
            executions.c.id.in_(sa.bindparam("b_executions", expanding=True)),
            executions.c.owner_id == sa.bindparam("b_worker", type_=sa.String()),
        )
        candidates = candidates.where(tr.c.execution_id.in_(owned.scalar_subquery()))
    if dialect == "postgresql":
        candidates = candidates.with_for_update(skip_locked=True)
    return (
        tr.update()
        .where(tr.c.id.in_(candidates.scalar_subquery()))
        .values(
            state="RUNNING",
            claimed_by=sa.bindparam("b_worker", type_=sa.String()),
            claimed_at=sa.bindparam("b_now", type_=UTCDateTime()),
            histories=json_append(dialect, tr.c.histories, sa.bindparam("b_history", type_=sa.String())),
        )
        .returning(*tr.c)
    )


def _update_statement(*, guarded: bool = False, fenced: bool = False) -> sa.Update:
    tr = task_runs
    stmt = tr.update().where(tr.c.id == sa.bindparam("b_id"))
    if guarded:
        stmt = stmt.where(tr.c.claimed_by == sa.bindparam("b_worker", type_=sa.String()))
    if fenced:
        ex = executions
        owner = (
            sa.select(ex.c.id)
            .where(
                ex.c.id == tr.c.execution_id,
                ex.c.owner_id == sa.bindparam("b_worker", type_=sa.String()),
                ex.c.epoch == sa.bindparam("b_epoch", type_=sa.Integer()),
            )
            .exists()
        )
        stmt = stmt.where(tr.c.state == sa.bindparam("b_prev", type_=sa.String()), owner)
    # a row going back to CREATED is a retry: its claim is released
    retry = sa.bindparam("b_state", type_=sa.String()) == "CREATED"
    return stmt.values(
        state=sa.bindparam("b_state"),
        histories=sa.bindparam("b_histories"),
        attempts=sa.bindparam("b_attempts"),
        outputs=sa.bindparam("b_outputs"),
        ready_at=sa.func.coalesce(sa.bindparam("b_ready_at", type_=UTCDateTime()), tr.c.ready_at),
        claimed_by=sa.case((retry, sa.null()), else_=tr.c.claimed_by),
        claimed_at=sa.case((retry, sa.null()), else_=tr.c.claimed_at),
    )


class TaskRunRepository(Repository):
    """Task run methods of ``store.executions``."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        # The hot statements are built once with bind parameters: building a SQLAlchemy statement and
        # its cache key costs more than executing it on SQLite.
        self._claim = _claim_statement(self._dialect)
        self._claim_for = _claim_statement(self._dialect, by_execution=True)
        self._update = _update_statement(guarded=False)
        self._update_guarded = _update_statement(guarded=True)
        self._update_fenced = _update_statement(fenced=True)

    def insert_task_runs(self, runs: Sequence[TaskRun], *, conn: Connection | None = None) -> None:
        """Insert many task runs in one executemany."""
        if not runs:
            return
        params = [{name: getattr(run, name) for name in _FIELDS} for run in runs]
        with self._write(conn) as c:
            c.execute(task_runs.insert(), params)

    def claim_task_runs(
        self,
        worker_id: str,
        limit: int,
        now: datetime,
        *,
        execution_ids: Collection[str] | None = None,
        conn: Connection | None = None,
    ) -> list[TaskRun]:
        """Atomically move up to ``limit`` CREATED task runs with ``ready_at <= now`` to RUNNING, claimed by
        ``worker_id`` (a RUNNING entry is appended to their histories); returns them, oldest ready first.
        With ``execution_ids`` only runs of those executions are claimed."""
        params: dict[str, Any] = {
            "b_worker": worker_id,
            "b_now": now,
            "b_limit": limit,
            "b_history": json_dumps({"state": "RUNNING", "date": now}),
        }
        statement = self._claim
        if execution_ids is not None:
            statement = self._claim_for
            params["b_executions"] = list(execution_ids)
        with self._write(conn) as c:
            claimed = [_row(row) for row in c.execute(statement, params)]
        claimed.sort(key=lambda run: (run.ready_at, run.id))
        return claimed

    def update_task_runs(
        self,
        updates: Sequence[TaskRunUpdate],
        *,
        worker_id: str | None = None,
        owner_id: str | None = None,
        conn: Connection | None = None,
    ) -> int:
        """Write state, histories, attempts, outputs (and ``ready_at``) of many task runs in one executemany.

        With ``worker_id`` only rows still claimed by that worker change (a worker that lost its claim
        cannot overwrite the new owner's work). With ``owner_id`` (the executor's fenced form) a row
        changes only from its ``prev_state`` and while ``owner_id`` owns its execution under the update's
        ``epoch``. Returns the number of rows changed (unreliable inside a PostgreSQL pipeline).
        """
        if not updates:
            return 0
        params = [
            {
                "b_id": u.id, "b_state": u.state, "b_histories": u.histories, "b_attempts": u.attempts,
                "b_outputs": u.outputs, "b_ready_at": u.ready_at, "b_worker": owner_id or worker_id,
                "b_prev": u.prev_state, "b_epoch": u.epoch,
            }
            for u in updates
        ]  # fmt: skip
        stmt = self._update if worker_id is None else self._update_guarded
        if owner_id is not None:
            stmt = self._update_fenced
        with self._write(conn) as c:
            return c.execute(stmt, params).rowcount

    def get_task_run(self, task_run_id: str, *, conn: Connection | None = None) -> TaskRun | None:
        """One task run."""
        with self._read(conn) as c:
            row = c.execute(sa.select(task_runs).where(task_runs.c.id == task_run_id)).one_or_none()
        return _row(row) if row else None

    def list_task_runs(self, execution_id: str, *, conn: Connection | None = None) -> list[TaskRun]:
        """The task runs of an execution, in the order they became ready (then by id)."""
        query = (
            sa.select(task_runs)
            .where(task_runs.c.execution_id == execution_id)
            .order_by(task_runs.c.ready_at, task_runs.c.id)
        )
        with self._read(conn) as c:
            return [_row(row) for row in c.execute(query)]

    def attempts_of(
        self, execution_ids: Collection[str], *, conn: Connection | None = None
    ) -> list[list[dict[str, Any]]]:
        """The attempts of every task run of these executions, one list per run, in no particular order
        (metrics: one query for a batch of ended executions instead of reading every run of each)."""
        ids = list(execution_ids)
        found: list[list[dict[str, Any]]] = []
        with self._read(conn) as c:
            for start in range(0, len(ids), IN_CHUNK):  # SQLite caps the bound parameters of a statement
                rows = c.execute(_ATTEMPTS_OF, {"b_ids": ids[start : start + IN_CHUNK]})
                found.extend(list(row.attempts or []) for row in rows)
        return found

    def requeue_task_runs(
        self, claimed_by: Collection[str], *, now: datetime, conn: Connection | None = None
    ) -> int:
        """Put RUNNING task runs claimed by (dead) workers back to CREATED, ready now; returns how many."""
        if not claimed_by:
            return 0
        tr = task_runs
        stmt = (
            tr.update()
            .where(tr.c.state == "RUNNING", tr.c.claimed_by.in_(list(claimed_by)))
            .values(
                state="CREATED",
                ready_at=now,
                claimed_by=None,
                claimed_at=None,
                histories=json_append(
                    self._dialect, tr.c.histories, sa.literal(json_dumps({"state": "CREATED", "date": now}))
                ),
            )
        )
        with self._write(conn) as c:
            return c.execute(stmt).rowcount


_ATTEMPTS_OF = sa.select(task_runs.c.attempts).where(
    task_runs.c.execution_id.in_(sa.bindparam("b_ids", expanding=True))
)
