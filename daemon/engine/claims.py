"""Claims: the executor's dealings with other processes through the store. Claiming waiting runs for free
worker slots, the heartbeat (an execution it did not beat for is let go), and polling the store for kill
requests, queued executions and the ends of subflow children driven by another node (adopting executions
whose owner is gone, with ``Lifecycle.recover``)."""

from __future__ import annotations

from datetime import datetime

from daemon.engine import states as S
from daemon.engine.attempts import runs_inline
from daemon.engine.flowable_runs import FlowableRuns
from daemon.engine.lifecycle import Lifecycle
from daemon.engine.persistence import Writer
from daemon.engine.runtime import Runtime
from daemon.engine.state import EngineState
from daemon.engine.stepping import Stepper
from daemon.engine.view import ExecView


class Claims:
    """Claiming runs, heartbeats, and polling the store for work left by other processes."""

    def __init__(
        self,
        rt: Runtime,
        state: EngineState,
        stepper: Stepper,
        writer: Writer,
        lifecycle: Lifecycle,
        flowables: FlowableRuns,
    ) -> None:
        self.rt = rt
        self.state = state
        self.stepper = stepper
        self.writer = writer
        self.lifecycle = lifecycle
        self.flowables = flowables
        self.store = rt.store
        self.clock = rt.clock
        self.worker_id = rt.worker_id

    def beat(self, now: datetime) -> None:
        """Heartbeat, checking its row count: an execution it did not beat for under our epoch was taken
        over (or ended) elsewhere, and is let go."""
        beaten = self.store.executions.beat(self.worker_id, now)
        for view in list(self.state.views.values()):
            if view.done or S.is_terminal(view.stored) or beaten.get(view.id) == view.epoch:
                continue
            row = self.store.executions.get(view.id)
            if row is None:
                continue  # its creator's transaction has not committed yet
            if row.owner_id != self.worker_id or row.epoch != view.epoch or S.is_terminal(row.state):
                self.writer.lose(view)

    def poll_store(self, now: datetime, *, adopt: bool) -> None:
        """Work that other processes leave in the store: kill requests, queued executions, adoptable ones."""
        if adopt:
            self.lifecycle.recover()
        mine = [v for v in self.state.views.values() if not S.is_terminal(v.state)]
        if not mine:
            return
        killing = self.store.executions.list(states=[S.KILLING], limit=1000)
        for row in killing:
            view = self.state.views.get(row.id)
            if view is not None and view.stopping is None:
                self.stepper.stop(view, S.KILLED, now)
                view.move(S.KILLING)
                view.stored = S.KILLING
        for view in mine:
            if view.state == S.QUEUED:
                self.lifecycle.promote(view, now)
        self._children_ended_elsewhere(mine)

    def _children_ended_elsewhere(self, mine: list[ExecView]) -> None:
        """Subflow runs waiting on a child this executor does not drive (adopted by another node): the
        child's end is read from the store, since no end hook of ours sees it."""
        waiting = [
            child_id
            for view in mine
            for run in view.runs.values()
            if run.state == S.RUNNING
            and run.meta.get("wait")
            and (child_id := run.meta.get("executionId"))
            and child_id not in self.state.views
        ]
        if not waiting:
            return
        for child in self.store.executions.get_many(waiting):
            if S.is_terminal(child.state):
                self.flowables.subflow_ended(child, child.state, child.outputs or {}, self.clock.now())

    def claim(self, now: datetime) -> None:
        """Claim waiting runs (retries, runs beyond the worker slots) that are ready."""
        state = self.state
        free = state.workers - len(state.tasks) - len(state.to_start)
        # runs are created up to microseconds "in the future" to keep their order: they count as ready
        at = max(now, state.last_ready) if state.last_ready is not None else now
        if free <= 0 or not any(ready <= at for ready in state.waiting.values()):
            return
        owned = [v.id for v in state.views.values() if not S.is_terminal(v.state)]
        for row in self.store.executions.claim_task_runs(self.worker_id, free, at, execution_ids=owned):
            view = state.views[row.execution_id]
            run = view.runs[row.id]
            state.waiting.pop(row.id, None)
            run.sync(row)
            if runs_inline(view.index[run.task_id]):
                state.inline[run.id] = (view, run)
            else:
                state.to_start.append((view, run))
