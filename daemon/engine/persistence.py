"""Writing through to the store: one step's changes (new executions, created and changed runs, log lines,
execution states) in one fenced transaction. Whatever follows from an execution's end (end hooks, waiters,
promoting a queued execution, forgetting it) happens only once that transaction has committed, and the
end hooks' work is recorded in the outbox in that same transaction (redone after a crash or an error).

Fencing: the transaction starts with ``store.executions.fence``, which holds the rows of the executions
it changes and says whether this process still owns them under the epoch it loaded them with and in the
state it last stored. Every later statement repeats the guard in SQL (owner, epoch, state compare-and-set),
and each state change is checked with ``states.check_transition`` first. An execution found owned by
someone else is lost: dropped from memory, its attempts cancelled, never written again. One whose state
moved under us (a kill from outside) is reloaded from the store.

Faults: when the step's transaction fails, each execution is written again in its own transaction; one
that still fails (or whose stepping raised) is dropped and reloaded from the store, the outcomes of its
finished attempts applied again; after ``POISON_AFTER`` failures in a row that are its own (not the store
being unreachable, see ``transient``) it is failed with the reason (poison quarantine) and the executor
goes on with the others.
"""

from __future__ import annotations

import logging
import shutil
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace
from datetime import datetime
from typing import cast

from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError

from daemon.engine import states as S
from daemon.engine.attempt import Outcome
from daemon.engine.attempts import runs_inline
from daemon.engine.batches import Fenced, roots, split, views_of
from daemon.engine.flow_retry import retry_rows
from daemon.engine.follow_ups import EndFollowUps, end_key
from daemon.engine.runtime import INLINE_BUDGET, Runtime
from daemon.engine.state import Batch, EngineState
from daemon.engine.stepping import Stepper
from daemon.engine.store_ops import fail_in_store
from daemon.engine.view import ExecView
from daemon.language.tasks_core import PauseTask
from daemon.language.tasks_flow import Flowable, SubflowTask
from daemon.store import Execution, LogEntry
from daemon.store.engine import describe_error
from daemon.store.executions import StateChange

log = logging.getLogger(__name__)

POISON_AFTER = 3  # consecutive failed steps of one execution before it is failed (quarantined)


def transient(exc: BaseException) -> bool:
    """An error of the store rather than of the execution (the server unreachable or restarting, a lock
    timeout): retried without end, never counted toward the poison quarantine."""
    if isinstance(exc, OperationalError | InterfaceError | DisconnectionError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, ConnectionError | TimeoutError)


class Writer:
    """The batch writer, and what happens when a write fails. ``promote`` and ``load`` are
    ``Lifecycle.promote`` and ``Lifecycle.load`` (a queued execution's turn after an end; reading an
    execution back after a failed write), passed in at construction."""

    def __init__(
        self,
        rt: Runtime,
        state: EngineState,
        stepper: Stepper,
        follow_ups: EndFollowUps,
        *,
        promote: Callable[[ExecView, datetime], None],
        load: Callable[[Execution], ExecView],
    ) -> None:
        self.rt = rt
        self.state = state
        self.stepper = stepper
        self.follow_ups = follow_ups
        self.promote = promote
        self.load = load
        self.store = rt.store
        self.settings = rt.settings
        self.worker_id = rt.worker_id
        self._conn: Connection | None = None  # the executor's own write connection, kept between steps
        self._conn_finalizer = weakref.finalize(self, lambda: None)
        self._failures: dict[str, int] = {}  # execution id -> failed steps in a row (poison quarantine)

    def commit(self, now: datetime) -> None:
        """Apply finished attempts, step every changed execution (running inline attempts for a bounded
        time), then write it all in one transaction."""
        state, stepper = self.state, self.stepper
        state.inline_until = time.perf_counter() + INLINE_BUDGET
        state.stepping = True
        finished, state.finished = state.finished, []
        try:
            for outcome in finished:
                stepper.guarded(outcome.execution_id, stepper.apply, outcome, now)
            stepper.run_inline_batch(now)
            while state.dirty:
                dirty, state.dirty = state.dirty, set()
                for execution_id in dirty:
                    view = state.views.get(execution_id)
                    if view is not None and execution_id not in state.broken:
                        stepper.guarded(execution_id, stepper.advance, view, now)
                if time.perf_counter() > state.inline_until:
                    break
        finally:
            state.stepping = False
            state.inline_until = 0.0  # no inline attempt outside a step (create_execution plans only)
        batch, state.batch = state.batch, Batch()
        logs, state.logs = state.logs, []
        broken, state.broken = state.broken, {}
        try:
            self._write_batch(batch, logs, now, broken=broken, finished=finished)
        finally:
            self.store.admission.release_held()  # subflows of limited flows counted in this step

    def _write_batch(
        self,
        batch: Batch,
        logs: list[LogEntry],
        now: datetime,
        *,
        broken: dict[str, Exception] | None = None,
        finished: list[Outcome] | None = None,
    ) -> None:
        if not broken:
            try:
                self.store_batch(batch, logs, now)
            except Exception as exc:
                log.warning("a step's transaction failed (%s): writing each execution apart", exc)
            else:
                self.after_commit(batch, now)
                return
        root = roots(batch)
        broken_roots = {root.get(i, i): exc for i, exc in (broken or {}).items()}
        parts = split(batch, logs)
        for key, (part, part_logs) in parts.items():
            if key in broken_roots:
                self._failed(key, part, broken_roots[key], finished or [], now)
                self._keep_logs(part_logs)
                continue
            try:
                self.store_batch(part, part_logs, now)
            except Fenced as fenced:
                self._fenced(fenced, part, finished or [], now)
                self._keep_logs(part_logs)
            except Exception as error:
                self._failed(key, part, error, finished or [], now)
                self._keep_logs(part_logs)
            else:
                self.after_commit(part, now)
        for key, cause in broken_roots.items():
            if key not in parts:
                self._failed(key, Batch(), cause, finished or [], now)

    def _keep_logs(self, logs: list[LogEntry]) -> None:
        """The log lines of a part that was not written go with the next step, for the executions still
        driven here (an attempt's output is not lost; a line the step writes itself may come twice)."""
        self.state.logs.extend(
            e for e in logs if e.execution_id in self.state.views or e.execution_id in self.state.reloads
        )

    def after_commit(self, batch: Batch, now: datetime) -> None:
        if self._failures:
            for execution_id in views_of(batch):
                self._failures.pop(execution_id, None)
        for view in batch.done:
            self._ended_committed(view, now)

    def store_batch(self, batch: Batch, logs: list[LogEntry], now: datetime) -> None:
        """Write the batch in one fenced transaction (and keep the in-memory rows the same)."""
        done_keys = self.follow_ups.take_done()
        if batch.empty and not logs and not done_keys:
            return
        try:
            self._write(batch, logs, done_keys, now)
        except BaseException:
            self.follow_ups.give_back(done_keys)
            raise
        for view, state, end, _outputs in batch.states.values():
            # the row now has these entries appended (in SQL): keep the in-memory row the same
            passed_states = batch.passed.get(view.id) or [state]
            for passed in passed_states[:-1]:
                view.execution.histories.append(S.history_entry(passed, now))
            view.execution.histories.append(S.history_entry(passed_states[-1], end or now))
            view.stored = state
            if view.final is not None and view.final.state == state:
                view.final = replace(view.final, histories=list(view.execution.histories))
        for _, run in batch.created.values():
            run.stored = run.state
        for _, run in batch.touched.values():
            run.stored = run.state

    def _write(self, batch: Batch, logs: list[LogEntry], done_keys: list[str], now: datetime) -> None:
        executions = self.store.executions
        new_ids = {e.id for e in batch.executions}
        owned = {i: v for i, v in views_of(batch).items() if i not in new_ids}
        me = self.worker_id
        with self._transaction() as conn:
            if owned:
                found = executions.fence(me, owned, now, conn=conn)
                lost = [
                    i for i, v in owned.items()
                    if v.lost or i not in found or found[i][0] != v.epoch
                    or (S.is_terminal(found[i][1]) and found[i][1] != v.stored)
                ]  # fmt: skip
                moved = [i for i, v in owned.items() if i not in lost and found[i][1] != v.stored]
                if lost or moved:
                    raise Fenced(lost, moved)
            changes = []  # (view, from, to, last): each state the execution passed through in this step
            for view, state, _end, _outputs in batch.states.values():
                prev = view.stored
                path = [*batch.passed.get(view.id, [])[:-1], state]
                for i, passed in enumerate(path):
                    S.check_transition(prev, passed)
                    changes.append((view, prev, passed, i == len(path) - 1))
                    prev = passed
            with _pipeline(conn):
                for execution in batch.executions:
                    executions.create(execution, conn=conn)
                executions.insert_task_runs([r.to_row(v.id) for v, r in batch.created.values()], conn=conn)
                executions.update_task_runs(
                    [r.to_update(r.ready_at, epoch=v.epoch) for v, r in batch.touched.values()],
                    owner_id=me, conn=conn,
                )  # fmt: skip
                self.store.logs.insert(logs, conn=conn)
                rows = []
                for view, prev, state, last in changes:
                    _, _, end, outputs = batch.states[view.id]
                    if not last:
                        end = outputs = None
                    rows.append(StateChange(
                        view.id, state, date=end or now, end_date=end, outputs=outputs,
                        labels=view.labels if last else None, only_from=[prev], fence=(me, view.epoch),
                    ))  # fmt: skip
                executions.set_states(rows, conn=conn)  # same-shaped changes in one executemany
                if batch.done:
                    self.store.outbox.add(self.follow_ups.rows([v.id for v in batch.done], now), conn=conn)
                    retries = [(v.id, v.retry) for v in batch.done if v.retry is not None]
                    self.store.outbox.add(retry_rows(retries, now), conn=conn)
                self.store.outbox.delete(done_keys, conn=conn)

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
            with conn.begin():
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

    # --- after a commit -----------------------------------------------------------------------------------
    def _ended_committed(self, view: ExecView, now: datetime) -> None:
        self.forget(view)
        final = view.final or view.execution
        if view.id in self.state.ended:
            self.state.ended[view.id] = final
        if self.follow_ups.hooks:
            self.follow_ups.run(end_key(view.id), final, attempts=0, now=now)
        for other in list(self.state.views.values()):
            if other.state == S.QUEUED and other.execution.flow_id == view.execution.flow_id:
                self.promote(other, now)

    def flush_logs(self) -> None:
        logs, self.state.logs = self.state.logs, []
        if logs:
            self.store.logs.insert(logs)
        if self.follow_ups.pending:
            self.follow_ups.flush()

    def forget(self, view: ExecView) -> None:
        """Drop a finished execution from memory (the store has it all)."""
        self.drop_view(view)
        shutil.rmtree(self.settings.home / "work" / view.id, ignore_errors=True)

    def drop_view(self, view: ExecView) -> None:
        state = self.state
        if state.views.get(view.id) is view:
            del state.views[view.id]
        self.rt.bases.pop(view.id, None)
        state.dirty.discard(view.id)
        waiting, timers, inline = state.waiting, state.timers, state.inline
        for run_id in view.runs:
            waiting.pop(run_id, None)
            timers.pop(run_id, None)
            inline.pop(run_id, None)
        if state.to_start:
            state.to_start = [(v, r) for v, r in state.to_start if v.id != view.id]

    # --- faults ---------------------------------------------------------------------------------------
    def lose(self, view: ExecView, why: str = "owned by another process now") -> None:
        """Ownership lost: cancel the execution's running attempts, drop it, never write it again."""
        log.warning("execution %s: %s; this process lets it go", view.id, why)
        view.lost = view.done = True
        for run_id in view.runs:
            cancel = self.state.cancel.get(run_id)
            if cancel is not None:
                cancel.set()
        self.drop_view(view)
        if view.id in self.state.ended:
            self.state.ended[view.id] = None  # its waiter reads the stored row

    def _fenced(self, fenced: Fenced, part: Batch, finished: list[Outcome], now: datetime) -> None:
        self._drop_new(part)
        for execution_id in fenced.lost:
            view = self.state.views.get(execution_id)
            if view is not None:
                self.lose(view)
        for execution_id in fenced.moved:
            self._reload(execution_id, None, finished, now)
        # the others of the part were not written either: their views (a parent whose waiting run ended
        # from a lost child's end) go back to what the store holds
        new = {e.id for e in part.executions}
        for execution_id in views_of(part).keys() - fenced.lost - fenced.moved - new:
            self._reload(execution_id, None, finished, now)

    def _failed(self, key: str, part: Batch, exc: Exception, finished: list[Outcome], now: datetime) -> None:
        self._drop_new(part)
        for execution_id in {key, *views_of(part)}:
            self._reload(execution_id, exc, finished, now)

    def _drop_new(self, part: Batch) -> None:
        """Forget the executions the failed part would have inserted (subflows: planned again)."""
        for execution in part.executions:
            view = self.state.views.get(execution.id)
            if view is not None:
                self.forget(view)

    def _reload(
        self, execution_id: str, exc: Exception | None, finished: list[Outcome], now: datetime
    ) -> None:
        """Replace the view by one read from the store; the outcomes of its attempts finished in the
        failed step are applied again; runs it had started but not yet recorded start again."""
        view = self.state.views.get(execution_id)
        if view is None or view.lost:
            return
        if exc is not None and not transient(exc):
            failures = self._failures[execution_id] = self._failures.get(execution_id, 0) + 1
            if failures >= POISON_AFTER:
                self._quarantine(view, exc, failures, now)
                return
        self.drop_view(view)
        pending = [o for o in finished if o.execution_id == execution_id]
        self.state.reloads[execution_id] = (view, pending)
        self.retry_reloads()

    def retry_reloads(self) -> None:
        """Load the views dropped after a failure (again at each step while the store cannot be read)."""
        for execution_id, (old, pending) in list(self.state.reloads.items()):
            try:
                row = self.store.executions.get(execution_id)
            except Exception as exc:
                log.warning("execution %s: cannot reload it yet: %s", execution_id, describe_error(exc))
                return
            del self.state.reloads[execution_id]
            if (
                row is None
                or row.owner_id != self.worker_id
                or row.epoch != old.epoch
                or (S.is_terminal(row.state) and row.state != old.stored)
            ):
                self.lose(old)
                continue
            try:
                view = self.load(row)
            except Exception as exc:
                log.warning("execution %s: cannot reload it: %s", execution_id, exc)
                self.state.reloads[execution_id] = (old, pending)
                continue
            view.after, view.done, view.final = old.after, False, old.final if old.after else None
            waiting = {o.run_id for o in pending} | set(self.state.tasks)
            for run in view.runs.values():
                if run.state != S.RUNNING or run.claimed_by != self.worker_id or run.id in waiting:
                    continue
                task = view.index[run.task_id]
                if isinstance(task, Flowable | SubflowTask | PauseTask):
                    continue
                if runs_inline(task):
                    self.state.inline[run.id] = (view, run)
                else:  # started but its outcome was never recorded: at least once, it runs again
                    self.state.to_start.append((view, run))
            self.state.finished.extend(pending)
            self.rt.wakeup()

    def _quarantine(self, view: ExecView, exc: Exception, failures: int, now: datetime) -> None:
        """Fail an execution whose steps keep failing, with the reason, and go on with the others."""
        reason = (
            f"execution stopped after {failures} failed steps in a row (poison quarantine): "
            f"{describe_error(exc)}"
        )
        log.error("execution %s: %s", view.id, reason)
        epoch = view.epoch
        self.lose(view, "quarantined")
        self._failures.pop(view.id, None)
        try:
            fail_in_store(self.store, view.id, reason, now=now, fence=(self.worker_id, epoch))
        except Exception:
            log.exception("execution %s: could not record its failure; releasing it", view.id)
            try:  # unowned with a new epoch: adopted again later, this process never writes it again
                self.store.executions.fence_off(view.id)
            except Exception:
                log.exception("execution %s: could not release it", view.id)


@contextmanager
def _pipeline(conn: Connection) -> Iterator[None]:
    """On PostgreSQL, psycopg's pipeline mode: the transaction's statements (the inserts and updates after
    the fence) go to the server together and their results come back when the pipeline ends, one round
    trip instead of one per statement (then the COMMIT). Only statements whose results are not read go
    in it (no RETURNING, row counts unused: the fence before it is the ownership check); an error
    surfaces when the pipeline ends at the latest, and the transaction then rolls back whole. A driver
    error surfacing there is raised as SQLAlchemy's (IntegrityError, OperationalError...), as it would be
    from the statement itself."""
    driver = conn.connection.driver_connection
    pipeline = getattr(driver, "pipeline", None)
    if conn.dialect.name != "postgresql" or pipeline is None:
        yield
        return
    base = conn.dialect.loaded_dbapi.Error
    try:
        with cast(AbstractContextManager[object], pipeline()):
            yield
    except base as exc:
        raise DBAPIError.instance(None, None, exc, base, dialect=conn.dialect) from exc
