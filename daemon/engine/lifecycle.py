"""Execution lifecycle: create (with its first task runs, in one transaction), kill, resume, recover after a
crash, promote a queued execution; and the store-only kill/fail used when no live process drives one."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from daemon.engine import states as S
from daemon.engine.flowable_runs import FlowableRuns
from daemon.engine.inputs import resolve_inputs
from daemon.engine.labels import with_system_labels
from daemon.engine.persistence import Writer
from daemon.engine.runtime import (
    ADOPT_LIMIT,
    CREATED_ENDS_KEPT,
    INLINE_BUDGET,
    STALE_AFTER,
    Runtime,
    parse_date,
)
from daemon.engine.state import Batch, EngineState, merge_batches
from daemon.engine.stepping import Stepper
from daemon.engine.store_ops import fail_in_store, kill_children, kill_in_store
from daemon.engine.view import ExecView, RunView
from daemon.errors import FlowdError
from daemon.language.tasks_flow import Flowable, SubflowTask
from daemon.store import ACTIVE_STATES, Execution, LogEntry, TaskRun, new_id
from daemon.store.flows import DeployedFlow, FlowRevision

ACTIVE_RUNS = (S.CREATED, S.RUNNING, S.PAUSED, S.RETRYING, S.KILLING)

__all__ = ["ACTIVE_RUNS", "Lifecycle", "fail_in_store", "kill_in_store"]


class Lifecycle:
    """Creating, killing, resuming and recovering executions. ``start_hooks`` are called with each
    execution this executor starts running (created here, or loaded and adopted)."""

    def __init__(
        self,
        rt: Runtime,
        state: EngineState,
        stepper: Stepper,
        writer: Writer,
        flowables: FlowableRuns,
        start_hooks: list[Callable[[Execution], None]],
    ) -> None:
        self.rt = rt
        self.state = state
        self.stepper = stepper
        self.writer = writer
        self.flowables = flowables
        self.start_hooks = start_hooks
        self.store = rt.store
        self.clock = rt.clock
        self.worker_id = rt.worker_id
        self._creating = 0  # depth of _create_now calls (one nested in an end hook plans only)
        # inside ``grouped_creations``: new executions' first steps to write together (group commit)
        self._group: list[tuple[Batch, ExecView | None]] | None = None

    def create_execution(
        self,
        flow_record: DeployedFlow | FlowRevision,
        inputs: Mapping[str, Any],
        *,
        trigger: dict[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        parent: tuple[str, str] | None = None,
        own: bool = True,
        execution_id: str | None = None,
        conn: Connection | None = None,
        rows: list[Execution] | None = None,
    ) -> str:
        """See ``_create_execution``. A flow with a concurrency limit is counted and its new execution
        written under the flow's lock in the store (``store.admission``), so the limit holds across nodes:
        in the caller's transaction (``conn``) until it commits, or around the creation's own transaction.
        A subflow created within its parent's step keeps the lock until that step is written."""
        create = partial(
            self._create_execution, flow_record, inputs, trigger=trigger, labels=labels, parent=parent,
            own=own, execution_id=execution_id, conn=conn, rows=rows,
        )  # fmt: skip
        flow = self.rt.flows.revision(flow_record.namespace, flow_record.flow_id, flow_record.revision).flow
        if flow.concurrency is None:
            return create()
        if self.state.stepping:  # kept until the step has written it (``Writer.commit``, ``_create_now``)
            self.store.admission.hold(flow.namespace, flow.id)
            return create()
        if conn is not None:
            self.store.admission.lock(flow.namespace, flow.id, conn=conn)
            return create()
        with self.store.admission.holding(flow.namespace, flow.id):
            return create()

    def _create_execution(
        self,
        flow_record: DeployedFlow | FlowRevision,
        inputs: Mapping[str, Any],
        *,
        trigger: dict[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        parent: tuple[str, str] | None = None,
        own: bool = True,
        execution_id: str | None = None,
        conn: Connection | None = None,
        rows: list[Execution] | None = None,
    ) -> str:
        """Create an execution of a deployed flow revision; returns its id. Inputs are validated first:
        InputError (naming the input) creates nothing. ``own=False`` leaves it for a daemon to adopt.
        ``conn`` writes it in the caller's transaction (a trigger records its tick in the same one);
        with ``rows`` too, the row is appended there for the caller to insert in that transaction with
        ``store.executions.create_many`` (a scheduler creating many executions at one instant).
        Otherwise the execution and its first task runs are written in one transaction before this
        returns (inside the executor's own step, a subflow's, with that step's transaction)."""
        index = self.rt.flows.revision(flow_record.namespace, flow_record.flow_id, flow_record.revision)
        flow = index.flow
        execution_id = execution_id or new_id()
        now = self.clock.now()

        def upload(input_id: str, path: str) -> str:
            return self.rt.storage.put(
                flow.namespace, flow.id, execution_id, "inputs", input_id, Path(path).expanduser()
            )

        values = resolve_inputs(flow.inputs, inputs, upload=upload)
        state, histories = S.CREATED, [S.history_entry(S.CREATED, now)]
        if flow.concurrency is not None:
            running = self.store.executions.count(flow.namespace, flow.id, states=ACTIVE_STATES, conn=conn)
            if running >= flow.concurrency.limit:
                state = {"QUEUE": S.QUEUED, "CANCEL": S.CANCELLED, "FAIL": S.FAILED}[
                    flow.concurrency.behavior
                ]
                histories.append(S.history_entry(state, now))
        execution = Execution(
            id=execution_id, namespace=flow.namespace, flow_id=flow.id, flow_revision=flow_record.revision,
            state=state, start_date=now, histories=histories, inputs=values,
            labels=with_system_labels({**flow.labels, **(labels or {})}, execution_id=execution_id),
            trigger=trigger,
            parent_execution_id=parent[0] if parent else None,
            parent_task_run_id=parent[1] if parent else None,
            end_date=now if S.is_terminal(state) else None,
            owner_id=self.worker_id if own else None, heartbeat_at=now if own else None,
        )  # fmt: skip
        if state == S.FAILED:
            limit = flow.concurrency.limit if flow.concurrency else 0
            self.state.logs.append(
                LogEntry(execution_id, "ERROR", now, f"flow concurrency limit {limit} reached")
            )
        view = None
        if own and not S.is_terminal(state):
            labels_now = dict(execution.labels or {})
            view = ExecView(execution=execution, index=index, state=state, labels=labels_now, stored=state)
            self.state.views[execution_id] = view
            for hook in self.start_hooks:
                hook(execution)
        if conn is not None:  # the loop plans it and writes its log line at its next step
            if rows is not None:
                rows.append(execution)
            else:
                self.store.executions.create(execution, conn=conn)
            self.state.dirty.add(execution_id)
        elif self.state.stepping:  # a subflow: written with the parent's step
            self.state.batch.executions.append(execution)
            self.state.dirty.add(execution_id)
        else:
            self._create_now(execution, view, now)
        return execution_id

    def _create_now(self, execution: Execution, view: ExecView | None, now: datetime) -> None:
        """Write a new execution with its first step in one transaction: its first task runs, and those of
        the inline core tasks (Log, Return, ...) run here for a bounded time, as a loop step runs them. An
        execution made only of such tasks ends in this one transaction (then ``run_until_done`` returns
        its row without a read). Not when nested (an end hook creating an execution): that one is planned
        only, and its inline tasks wait for the loop's next step. Inside ``grouped_creations`` the step is
        planned here and written with the group's transaction."""
        try:
            mine = self._plan_new(execution, view, now)
        except BaseException:
            if self._group is None:
                self.store.admission.release_held()  # subflows of limited flows it started: not written
            raise
        group = self._group
        if group is not None and view is not None and view.index.flow.concurrency is None:
            group.append((mine, view))  # (a flow with a concurrency limit counts committed rows: not grouped)
            return
        self._write_new([(mine, view)], now)

    def _plan_new(self, execution: Execution, view: ExecView | None, now: datetime) -> Batch:
        """The in-memory first step of a new execution: the batch that writes it."""
        state = self.state
        pending, state.batch = state.batch, Batch()
        others, state.inline = state.inline, {}  # only the new execution's inline runs run here
        until, stepping = state.inline_until, state.stepping
        state.inline_until = 0.0 if self._creating else time.perf_counter() + INLINE_BUDGET
        state.stepping = True  # a subflow it starts joins this transaction
        self._creating += 1
        try:
            if view is not None:
                self.stepper.advance(view, now)
                execution = self._fold_state(execution, view, now)
            state.batch.executions.insert(0, execution)
            mine, state.batch = state.batch, pending
        except BaseException:
            failed, state.batch = state.batch, pending
            failed.executions.append(execution)
            state.inline, others = {**others, **state.inline}, {}
            self._drop_unwritten(failed)
            raise
        finally:
            state.inline_until, state.stepping = until, stepping
            state.inline = {**others, **state.inline}
            self._creating -= 1
        return mine

    def _write_new(self, planned: list[tuple[Batch, ExecView | None]], now: datetime) -> None:
        """Write the planned first steps of new executions in one transaction (nothing of them is kept
        when it fails), then act on those that ended in it."""
        whole = merge_batches([batch for batch, _ in planned])
        ids = {e.id for e in whole.executions}
        logs = [e for e in self.state.logs if e.execution_id in ids]
        if logs:
            self.state.logs = [e for e in self.state.logs if e.execution_id not in ids]
        self._creating += 1
        try:
            try:
                self.writer.store_batch(whole, logs, now)
            except BaseException:
                self._drop_unwritten(whole)
                raise
            self.writer.after_commit(whole, now)
        finally:
            self._creating -= 1
            if self._group is None:  # (in an open group, the group's members may still hold theirs)
                self.store.admission.release_held()  # subflows of limited flows they started: written now
        for _, view in planned:
            if view is not None and view.done:
                self._remember_end(view.final or view.execution)
        self.rt.wakeup()

    @contextmanager
    def grouped_creations(self) -> Iterator[list[tuple[Batch, ExecView | None]]]:
        """Group commit: the executions ``create_execution`` creates inside this block (planned and run
        inline as usual) are written in one transaction when it ends, not one each. The caller answers
        for them only after the block ends without error; an error there stored none of them (create
        them again one by one). Executions of flows with a concurrency limit are written at once."""
        if self._group is not None:  # nested: the outer group writes
            yield self._group
            return
        group: list[tuple[Batch, ExecView | None]] = []
        self._group = group
        try:
            yield group
        except BaseException:
            self._group = None
            for batch, _ in group:
                self._drop_unwritten(batch)
            self.store.admission.release_held()  # subflows of limited flows they started: not written
            raise
        self._group = None
        if group:
            self._write_new(group, self.clock.now())

    def _drop_unwritten(self, batch: Batch) -> None:
        """Forget the executions of a creating transaction that failed: nothing of them is stored."""
        ids = {e.id for e in batch.executions}
        for execution_id in ids:
            view = self.state.views.get(execution_id)
            if view is not None:
                self.writer.forget(view)
            self.state.dirty.discard(execution_id)
        self.state.inline = {k: (v, r) for k, (v, r) in self.state.inline.items() if v.id not in ids}
        self.state.to_start = [(v, r) for v, r in self.state.to_start if v.id not in ids]
        self.state.logs = [e for e in self.state.logs if e.execution_id not in ids]

    def _remember_end(self, row: Execution) -> None:
        self.state.created_ends[row.id] = row
        while len(self.state.created_ends) > CREATED_ENDS_KEPT:
            self.state.created_ends.popitem(last=False)

    def _fold_state(self, execution: Execution, view: ExecView, now: datetime) -> Execution:
        """The row to insert with the states the new execution went through in its first step (RUNNING,
        and its end when it ended): one INSERT, no UPDATE."""
        change = self.state.batch.states.pop(view.id, None)
        passed = self.state.batch.passed.pop(view.id, [])
        if change is None:
            return execution
        _, state, end, outputs = change
        states = passed or [state]
        histories = [
            *execution.histories,
            *(S.history_entry(s, now) for s in states[:-1]),
            S.history_entry(states[-1], end or now),  # an end keeps its own date (the Gantt chart's)
        ]
        execution = replace(
            execution, state=state, histories=histories, end_date=end, outputs=outputs,
            labels=dict(view.labels),
        )  # fmt: skip
        view.execution = execution
        view.stored = state
        if view.final is not None:
            view.final = execution
        return execution

    def kill(self, execution_id: str) -> bool:
        """Kill an execution: KILLING now, KILLED once its running tasks have stopped. False if terminal.
        An execution owned by another live process is marked KILLING; its owner finishes the kill."""
        now = self.clock.now()
        view = self.state.views.get(execution_id)
        if view is None:
            return kill_in_store(self.store, execution_id, now=now)
        if S.is_terminal(view.state):
            return False
        if view.state != S.KILLING:
            if not self.store.executions.set_state(
                view.id, S.KILLING, date=now, only_from=[view.stored], fence=(self.worker_id, view.epoch)
            ):
                self.writer.lose(view)  # taken over meanwhile: ask whoever holds it now
                return kill_in_store(self.store, execution_id, now=now)
            view.stored = S.KILLING
            self.stepper.stop(view, S.KILLED, now)
            view.move(S.KILLING)
        kill_children(self.store, execution_id, now=now)
        self.rt.wakeup()
        return True

    def resume_execution(self, execution_id: str) -> bool:
        """Resume a PAUSED execution: its paused task runs succeed and the flow goes on."""
        view = self.state.views.get(execution_id)
        if view is None:
            row = self.store.executions.get(execution_id)
            if row is None or row.state != S.PAUSED:
                return False
            view = self.load(row)
        now = self.clock.now()
        paused = [r for r in view.runs.values() if r.state == S.PAUSED]
        for run in paused:
            self.state.timers.pop(run.id, None)
            self.flowables.succeed_pause(view, run, now)
        self.rt.wakeup()
        return bool(paused)

    def recover(self) -> list[str]:
        """Adopt executions whose driver is gone (no owner, or a heartbeat older than ``STALE_AFTER``); their
        interrupted task runs run again. One that cannot be resumed (its flow is gone) is failed with the
        reason logged: none is left RUNNING without a driver."""
        now = self.clock.now()
        adopted = self.store.executions.adopt(
            self.worker_id, stale_before=now - STALE_AFTER, now=now, limit=ADOPT_LIMIT
        )
        # a backlog: the loop looks again at once, while this node has free slots for what it adopts
        # (runs waiting for a slot here are better adopted by another node at its next look)
        self.state.adopted_full = len(adopted) >= ADOPT_LIMIT and len(self.state.waiting) < self.state.workers
        # the task runs of all of them in one query, not one per execution
        runs = self.store.executions.task_runs_of([r.id for r in adopted if r.id not in self.state.views])
        ids = []
        for row in adopted:
            if row.id in self.state.views:
                # adopted back from ourselves: nobody wrote between
                self.state.views[row.id].epoch = row.epoch
                continue
            try:
                view = self.load(row, runs.get(row.id))
            except FlowdError as exc:
                fail_in_store(self.store, row.id, f"cannot resume: {exc.message}", now=now)
                continue
            ids.append(view.id)
            for run in view.runs.values():
                task = view.index.tasks.get(run.task_id)
                interrupted = run.state == S.RUNNING and run.claimed_by not in (None, self.worker_id)
                if interrupted and task is not None and not isinstance(task, Flowable | SubflowTask):
                    self.rt.log(view, run, "WARN", f"worker {run.claimed_by} is gone: running the task again")
                    run.attempts.append({"state": S.KILLED, "startDate": None, "endDate": S.iso(now)})
                    run.move(S.CREATED, now)
                    run.claimed_by = None
                    run.ready_at = now
                    self.state.waiting[run.id] = now
                    self.state.batch.touch(view, run)
        return ids

    def promote(self, view: ExecView, now: datetime) -> None:
        concurrency = view.index.flow.concurrency
        if concurrency is None:
            return
        ex = view.execution
        # counted and written under the flow's lock in the store: the limit holds across nodes
        if self.store.admission.promote(
            view.id, ex.namespace, ex.flow_id, limit=concurrency.limit, running=ACTIVE_RUNS, date=now,
            fence=(self.worker_id, view.epoch),
        ):  # fmt: skip
            view.move(S.CREATED)
            view.stored = S.CREATED
            self.state.dirty.add(view.id)

    def load(self, row: Execution, task_runs: list[TaskRun] | None = None) -> ExecView:
        """Build the in-memory view of a stored execution (after a restart, or one created elsewhere);
        ``task_runs``: its runs when already read (``recover`` reads those of many at once)."""
        index = self.rt.flows.revision(row.namespace, row.flow_id, row.flow_revision)
        view = ExecView(
            execution=row, index=index, state=row.state, labels=dict(row.labels or {}), epoch=row.epoch,
            stored=row.state,
        )  # fmt: skip
        if task_runs is None:
            task_runs = self.store.executions.list_task_runs(row.id)
        for task_run in task_runs:
            view.add(RunView.from_row(task_run))
        for run in view.runs.values():
            if S.is_terminal(run.state):
                view.record_outputs(run)
            elif run.state == S.CREATED:
                self.state.waiting[run.id] = run.ready_at
            elif run.state == S.PAUSED and "resumeAt" in run.meta:
                self.state.timers[run.id] = (row.id, parse_date(run.meta["resumeAt"], self.clock.now()))
            elif run.state == S.RETRYING and "retryAt" in run.meta:  # a flowable's or subflow's next try
                self.state.timers[run.id] = (row.id, parse_date(run.meta["retryAt"], self.clock.now()))
        if row.state == S.KILLING:
            view.stopping = S.KILLED
        self.state.views[row.id] = view
        self.state.dirty.add(row.id)
        for hook in self.start_hooks:
            hook(row)
        self._catch_up_subflows(view)
        return view

    def _catch_up_subflows(self, view: ExecView) -> None:
        """A subflow child that ended while this view was not in memory (a restart, a reload after a
        failed write): its end is applied to the waiting run now, from the child's stored row."""
        for run in list(view.runs.values()):
            child_id = run.meta.get("executionId")
            if run.state != S.RUNNING or not child_id or not run.meta.get("wait"):
                continue
            if child_id in self.state.views:
                continue
            child = self.store.executions.get(child_id)
            if child is not None and S.is_terminal(child.state):
                self.flowables.subflow_ended(child, child.state, child.outputs or {}, self.clock.now())
