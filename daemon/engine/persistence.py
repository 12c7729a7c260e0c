"""Writing through to the store: one step's changes (new executions, created and changed runs, log lines,
execution states) in one transaction. Whatever follows from an execution's end (end hooks, waiters,
promoting a queued execution, forgetting it) happens only once that transaction has committed.
"""

from __future__ import annotations

import shutil
import time
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import replace
from datetime import datetime
from typing import cast

from sqlalchemy.engine import Connection

from daemon.engine import states as S
from daemon.engine.runtime import INLINE_BUDGET, Batch
from daemon.engine.stepping import Stepping
from daemon.engine.view import ExecView
from daemon.store import LogEntry


class Persistence(Stepping):
    """The batch writer."""

    def _commit(self, now: datetime) -> None:
        """Apply finished attempts, step every changed execution (running inline attempts for a bounded
        time), then write it all in one transaction."""
        self._inline_until = time.perf_counter() + INLINE_BUDGET
        self._stepping = True
        try:
            finished, self._finished = self._finished, []
            for outcome in finished:
                self._apply(outcome, now)
            self._run_inline_batch(now)
            while self._dirty:
                dirty, self._dirty = self._dirty, set()
                for execution_id in dirty:
                    view = self.views.get(execution_id)
                    if view is not None:
                        self._advance(view, now)
                if time.perf_counter() > self._inline_until:
                    break
        finally:
            self._stepping = False
            self._inline_until = 0.0  # no inline attempt outside a step (create_execution plans only)
        batch, self._batch = self._batch, Batch()
        logs, self._logs = self._logs, []
        self._write_batch(batch, logs, now)

    def _write_batch(self, batch: Batch, logs: list[LogEntry], now: datetime) -> None:
        self._store_batch(batch, logs, now)
        self._after_commit(batch, now)

    def _after_commit(self, batch: Batch, now: datetime) -> None:
        for view in batch.done:
            self._ended_committed(view, now)

    def _store_batch(self, batch: Batch, logs: list[LogEntry], now: datetime) -> None:
        """Write the batch in one transaction (and keep the in-memory rows' histories the same)."""
        if batch.empty and not logs:
            return
        executions = self.store.executions
        with self._transaction() as conn:
            for execution in batch.executions:
                executions.create(execution, conn=conn)
            executions.insert_task_runs([r.to_row(v.id) for v, r in batch.created.values()], conn=conn)
            executions.update_task_runs(
                [r.to_update(r.ready_at) for _, r in batch.touched.values()], conn=conn
            )
            self.store.logs.insert(logs, conn=conn)
            for view, state, end, outputs in batch.states.values():
                for passed in batch.passed.get(view.id, [])[:-1]:  # a state left within this step
                    executions.set_state(view.id, passed, date=now, conn=conn)
                executions.set_state(
                    view.id, state, date=end or now, end_date=end, outputs=outputs, labels=view.labels,
                    conn=conn,
                )  # fmt: skip
        for view, state, end, _outputs in batch.states.values():
            # the row now has these entries appended (in SQL): keep the in-memory row the same
            passed_states = batch.passed.get(view.id) or [state]
            for passed in passed_states[:-1]:
                view.execution.histories.append(S.history_entry(passed, now))
            view.execution.histories.append(S.history_entry(passed_states[-1], end or now))
            if view.final is not None and view.final.state == state:
                view.final = replace(view.final, histories=list(view.execution.histories))

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        """A transaction on the executor's own connection, kept between steps: a pooled checkout pings the
        server each time (``pool_pre_ping``), which costs as much as a small statement. After any error
        the connection is dropped and the next transaction takes a fresh one."""
        conn = self._conn
        if conn is None or conn.closed or conn.invalidated:
            conn = self._conn = self.store.engine.connect()
            self._conn_finalizer = weakref.finalize(self, conn.close)
        try:
            # the pipeline ends (sending everything, raising the first error) before the COMMIT or the
            # ROLLBACK, so an error is reported as itself, not as the aborted pipeline
            with conn.begin(), _pipeline(conn):
                yield conn
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Give back the executor's database connection (it takes a new one when it needs to write)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._conn_finalizer.detach()
            conn.close()

    def _ended_committed(self, view: ExecView, now: datetime) -> None:
        self._forget(view)
        final = view.final or view.execution
        if view.id in self._ended:
            self._ended[view.id] = final
        for hook in self.end_hooks:
            hook(final)
        for other in list(self.views.values()):
            if other.state == S.QUEUED and other.execution.flow_id == view.execution.flow_id:
                self._promote(other, now)

    def _flush_logs(self) -> None:
        logs, self._logs = self._logs, []
        if logs:
            self.store.logs.insert(logs)

    def _forget(self, view: ExecView) -> None:
        """Drop a finished execution from memory (the store has it all)."""
        self.views.pop(view.id, None)
        self._bases.pop(view.id, None)
        for run_id in view.runs:
            self._waiting.pop(run_id, None)
            self._timers.pop(run_id, None)
        shutil.rmtree(self.settings.home / "work" / view.id, ignore_errors=True)


def _pipeline(conn: Connection) -> AbstractContextManager[object]:
    """On PostgreSQL, psycopg's pipeline mode: the transaction's statements (BEGIN, the inserts and
    updates) go to the server together and their results come back when the pipeline ends, one round
    trip instead of one per statement (then the COMMIT). The batch writer only sends statements whose
    results it does not read (no RETURNING, row counts unused); an error surfaces when the pipeline ends
    at the latest, and the transaction then rolls back whole, as without a pipeline."""
    driver = conn.connection.driver_connection
    pipeline = getattr(driver, "pipeline", None)
    if conn.dialect.name == "postgresql" and pipeline is not None:
        return cast(AbstractContextManager[object], pipeline())
    return nullcontext()
