"""The executor's shared mutable state, in one place: what its collaborators (``executor.py``) read and change
between steps. Each collaborator keeps to itself what only it uses (the write connection, the poison
counters, the heartbeat clock); what two or more of them touch is here, field by field.

A task run's state changes in memory only through ``RunView.move`` / ``ExecView.move`` (``view.py``); the
fields below say which runs wait for what, not what state they are in.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from daemon.engine.attempt import Outcome
from daemon.engine.view import ExecView, RunView
from daemon.store import Execution, LogEntry


@dataclass
class Batch:
    """Changes not yet written: executions to insert, runs to insert or update, execution state changes,
    and the executions whose end (after their afterExecution tasks) is in this batch."""

    executions: list[Execution] = field(default_factory=list)
    created: dict[str, tuple[ExecView, RunView]] = field(default_factory=dict)
    touched: dict[str, tuple[ExecView, RunView]] = field(default_factory=dict)
    states: dict[str, tuple[ExecView, str, datetime | None, dict[str, Any] | None]] = field(
        default_factory=dict
    )
    # every state an execution moved to in this batch, in order (``states`` keeps the last): each one
    # is a history entry (CREATED -> RUNNING -> SUCCESS within one step shows RUNNING too)
    passed: dict[str, list[str]] = field(default_factory=dict)
    done: list[ExecView] = field(default_factory=list)

    def touch(self, view: ExecView, run: RunView) -> None:
        if run.id not in self.created:
            self.touched[run.id] = (view, run)

    @property
    def empty(self) -> bool:
        return not (self.executions or self.created or self.touched or self.states or self.done)


def merge_batches(batches: list[Batch]) -> Batch:
    """One batch writing what each of ``batches`` writes (they change disjoint executions)."""
    if len(batches) == 1:
        return batches[0]
    whole = Batch()
    for batch in batches:
        whole.executions.extend(batch.executions)
        whole.created.update(batch.created)
        whole.touched.update(batch.touched)
        whole.states.update(batch.states)
        whole.passed.update(batch.passed)
        whole.done.extend(batch.done)
    return whole


@dataclass
class EngineState:
    """The data the executor's collaborators share (who writes / who reads, in brackets)."""

    # worker slots: attempts running at once; 0 once draining (Loop.drain / Stepper, Claims, Loop)
    workers: int
    # the executions driven here, by id (Lifecycle adds, Writer drops / everyone reads)
    views: dict[str, ExecView] = field(default_factory=dict)
    # running attempts, by run id, and the event that cancels each (AttemptRunner / Stepper, Writer, Loop)
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    cancel: dict[str, asyncio.Event] = field(default_factory=dict)
    # outcomes of attempts that ended since the last step (AttemptRunner appends / Writer applies them)
    finished: list[Outcome] = field(default_factory=list)
    # log lines not written yet (everyone appends / Writer writes them with the step)
    logs: list[LogEntry] = field(default_factory=list)
    # executions to plan again at this step (everyone adds / Writer's step, Stepper discards)
    dirty: set[str] = field(default_factory=set)
    # CREATED run id -> ready_at: runs waiting for a claim (Stepper, Lifecycle / Claims, Loop's timeout)
    waiting: dict[str, datetime] = field(default_factory=dict)
    # paused or RETRYING run id -> (execution id, due at): their timers (FlowableRuns, Lifecycle / Loop)
    timers: dict[str, tuple[str, datetime]] = field(default_factory=dict)
    # runs claimed and to start as asyncio tasks after this step's commit (Stepper, Claims / AttemptRunner)
    to_start: list[tuple[ExecView, RunView]] = field(default_factory=list)
    # claimed runs of synchronous core tasks, run within the step (Stepper, Claims / Stepper)
    inline: dict[str, tuple[ExecView, RunView]] = field(default_factory=dict)
    # perf_counter() deadline of the current step's inline budget (Writer, Lifecycle / Stepper)
    inline_until: float = 0.0
    # inside a step: a new (sub)execution joins the step's transaction (Writer, Lifecycle / Lifecycle)
    stepping: bool = False
    # the step's changes not yet written (Stepper, FlowableRuns, Lifecycle fill it / Writer writes it)
    batch: Batch = field(default_factory=Batch)
    # executions whose stepping raised in this step (Stepper.guarded / Writer reloads them)
    broken: dict[str, Exception] = field(default_factory=dict)
    # views dropped after a failed write, to read back, with outcomes to apply again (Writer / Stepper, Loop)
    reloads: dict[str, tuple[ExecView, list[Outcome]]] = field(default_factory=dict)
    # run_until_done waiters -> their ended row, once committed (Loop registers, Writer fills)
    ended: dict[str, Execution | None] = field(default_factory=dict)
    # rows of executions that ended within create_execution, oldest dropped (Lifecycle / Loop)
    created_ends: OrderedDict[str, Execution] = field(default_factory=OrderedDict)
    # the ready_at of the last run created: runs list in creation order (Runtime / Claims)
    last_ready: datetime | None = None
    # set to step the loop now (Loop creates it / Runtime.wakeup sets it)
    wake: asyncio.Event | None = None
    # the last adoption took a full batch (ADOPT_LIMIT) while this node had free slots: more may be
    # waiting, so the loop looks at the store again at once (Lifecycle.recover / Loop)
    adopted_full: bool = False
