"""The executor's in-memory view of an execution, written through to the store (which stays the truth).

Every state change of a task run or an execution in memory goes through ``RunView.move`` or
``ExecView.move``, which refuse what ``states.check_transition`` refuses; the store side of the same moves
is ``persistence.Writer.store_batch`` (fenced, compare-and-set on the state last stored).

Flowable decisions (If branch, Switch case, ForEach values) are kept in ``RunView.meta`` and stored inside
the task run's outputs under ``META_KEY``; ``public_outputs`` strips it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from daemon.engine import states as S
from daemon.engine.labels import Labels
from daemon.engine.planner import Cursors, Key, RunLike, TaskIndex, run_key
from daemon.store.executions import Execution
from daemon.store.task_runs import TaskRun, TaskRunUpdate

if TYPE_CHECKING:
    from daemon.engine.flow_retry import RetryPlan

META_KEY = "__flowd__"


@dataclass
class RunView:
    """One task run as the executor holds it."""

    id: str
    task_id: str
    parent_id: str | None
    value: str | None
    iteration: int | None
    state: str
    ready_at: datetime
    histories: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    claimed_by: str | None = None
    stored: str | None = None  # the state the store holds (None: not inserted yet)
    # the planner's cursors of the view holding this run (set by ``ExecView.add``): forgotten when the run
    # leaves a terminal state, since they skip the runs they found over
    cursors: Cursors | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_row(cls, row: TaskRun) -> RunView:
        outputs = dict(row.outputs or {})
        meta = outputs.pop(META_KEY, None) or {}
        return cls(
            id=row.id, task_id=row.task_id, parent_id=row.parent_task_run_id, value=row.value,
            iteration=row.iteration, state=row.state, ready_at=row.ready_at, histories=list(row.histories),
            attempts=list(row.attempts), outputs=outputs, meta=meta, claimed_by=row.claimed_by,
            stored=row.state,
        )  # fmt: skip

    def stored_outputs(self) -> dict[str, Any] | None:
        if self.meta:
            return {**self.outputs, META_KEY: self.meta}
        return self.outputs or None

    def to_row(self, execution_id: str) -> TaskRun:
        return TaskRun(
            id=self.id, execution_id=execution_id, task_id=self.task_id, state=self.state,
            ready_at=self.ready_at, histories=self.histories, attempts=self.attempts,
            outputs=self.stored_outputs(), parent_task_run_id=self.parent_id, value=self.value,
            iteration=self.iteration, claimed_by=self.claimed_by,
            claimed_at=self.ready_at if self.claimed_by else None,
        )  # fmt: skip

    def to_update(self, ready_at: datetime | None = None, *, epoch: int = 0) -> TaskRunUpdate:
        return TaskRunUpdate(
            id=self.id, state=self.state, histories=self.histories, attempts=self.attempts,
            outputs=self.stored_outputs(), ready_at=ready_at, prev_state=self.stored, epoch=epoch,
        )  # fmt: skip

    def move(self, state: str, now: datetime, *, record: bool = True) -> None:
        """Change state (``IllegalTransition`` unless the state machine allows it) and record it in the
        history (``record=False``: a retry going back to CREATED, whose claim records RUNNING)."""
        if state != self.state:
            S.check_transition(self.state, state)
            self._leaving(state)
            self.state = state
            if record:
                self.histories.append(S.history_entry(state, now))

    def sync(self, row: TaskRun) -> None:
        """Take the stored row's state (a claim moved it in SQL)."""
        self._leaving(row.state)
        self.state, self.histories, self.claimed_by = row.state, list(row.histories), row.claimed_by
        self.stored = row.state

    def _leaving(self, state: str) -> None:
        """A terminal run moving (a restart, FAILED -> RETRIED): the planner's cursors may skip it."""
        if state != self.state and S.is_terminal(self.state) and self.cursors is not None:
            self.cursors.forget()


@dataclass
class ExecView:
    """An execution with its task runs, its parsed flow and what the executor decided about it."""

    execution: Execution
    index: TaskIndex
    runs: dict[str, RunView] = field(default_factory=dict)
    state: str = S.CREATED
    labels: dict[str, str] = field(default_factory=dict)
    stopping: str | None = None  # KILLED or an Exit state: no new work
    # expression outputs by task id; ForEach children nest under their values (Kestra's shape)
    outputs: dict[str, Any] = field(default_factory=dict)
    task_states: dict[str, dict[str, str]] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)
    # the execution's end state while its afterExecution tasks run; ``done`` once nothing is left to run
    after: str | None = None
    done: bool = False
    final: Execution | None = None  # the ended row (state, end date, outputs), once the execution ended
    retry: RetryPlan | None = None  # the new execution a flow-level CREATE_NEW_EXECUTION retry starts
    epoch: int = 0  # the fencing epoch under which this process owns the execution
    stored: str = S.CREATED  # the state the store holds, as of the last commit
    lost: bool = False  # ownership lost: this view is never written again
    # the planner's state, kept between steps: runs by (parent, task, iteration), ForEach and sequence
    # cursors (a few per flowable run or ForEach iteration, each a few words: small next to the runs)
    by_key: dict[Key, RunLike] = field(default_factory=dict)
    cursors: Cursors = field(default_factory=Cursors)

    def __post_init__(self) -> None:
        self.labels = Labels(self.labels)  # ``labels.system.correlationId`` in expressions

    @property
    def id(self) -> str:
        return self.execution.id

    def move(self, state: str) -> None:
        """Change the execution's state in memory (``IllegalTransition`` unless allowed)."""
        S.check_transition(self.state, state)
        self.state = state

    def add(self, run: RunView) -> None:
        """Add a run; one with the key of an earlier run replaces it in the plan (a flowable's next try),
        so the planner's cursors, which may skip the earlier one, are forgotten."""
        self.runs[run.id] = run
        key = run_key(run)
        if self.by_key.get(key, run) is not run:
            self.cursors.forget()
        self.by_key[key] = run
        run.cursors = self.cursors

    def children(self, parent_id: str) -> list[RunView]:
        return [r for r in self.runs.values() if r.parent_id == parent_id]

    def value_chain(self, run: RunView) -> list[tuple[str, int | None]]:
        """(value, iteration) of the ForEach iterations enclosing ``run``, outermost first."""
        chain: list[tuple[str, int | None]] = []
        current: RunView | None = run
        while current is not None:
            parent = self.runs.get(current.parent_id) if current.parent_id else None
            if parent is not None and "values" in parent.meta and current.value is not None:
                chain.append((current.value, current.iteration))
            current = parent
        chain.reverse()
        return chain

    def record_outputs(self, run: RunView) -> None:
        """Publish a finished run's outputs and state to later expressions."""
        self.task_states[run.task_id] = {"state": run.state}
        if not run.outputs:
            return
        chain = [value for value, _ in self.value_chain(run)]
        if not chain:
            self.outputs[run.task_id] = run.outputs
            return
        node = self.outputs.setdefault(run.task_id, {})
        for value in chain[:-1]:
            node = node.setdefault(value, {})
        node[chain[-1]] = run.outputs
