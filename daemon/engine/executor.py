"""The executor: drives executions with asyncio, one transaction per step.

The unit of work is a task run. The executor keeps an in-memory view of each execution it owns
(``ExecView``) and writes every change through, batched: the outcomes of the attempts that finished since
the last step, the runs the planner creates in response, log lines and execution state changes go to the
store in one transaction (``persistence``), and nothing that follows from an execution's end is acted on
or reported before that transaction has committed. A run the planner creates while a worker slot is free
is inserted already claimed and started at once (no claim round trip); the core tasks that only render and
log (Log, Return, ...) run inline within the step, so a chain of them costs one transaction, not one per
task. Others wait in CREATED for a claim; retries wait through the run's ``ready_at``, never by sleeping a
worker. A new execution is written with its first step in one transaction: its first task runs, with the
inline ones already run (an execution of Log/Return tasks only is inserted ended, its end hooks called
once that transaction has committed). On PostgreSQL a step's statements go in one pipeline (one round
trip, then the COMMIT).

The store is the authority: each step's transaction starts with a fence (this process still owns the
executions it writes, under the epoch it holds, in the state it last stored), every write repeats that
guard in SQL, a write refused means the execution is let go, and a failed write reloads the execution
from the store (see ``persistence``; the guarantees are listed in docs/ARCHITECTURE.md).

The executor is a facade over collaborators with one job each, built here and passed to each other
explicitly (no inheritance between them; docs/ARCHITECTURE.md has the "who owns what" table):
``EngineState`` (``state``: the mutable data they share, field by field), ``Runtime`` (``runtime``: log
lines, variables, ending a run in memory), ``AttemptRunner`` (``attempts``: running plugins),
``FlowableRuns`` (``flowable_runs``: working directories, pauses, subflows), ``Stepper`` (``stepping``:
outcomes and planner actions, in memory), ``Writer`` (``persistence``: the fenced batched transaction,
faults, reloads), ``Lifecycle`` (``lifecycle``: create, kill, resume, recover), ``Claims`` (``claims``:
claiming runs, heartbeats, polling the store) and ``Loop`` (``loop``: the drive loop), with
``EndFollowUps`` and ``FlowRetries`` for what follows an execution's end. A task run's state changes in
memory in one place: ``RunView.move`` (``view.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from daemon.clock import Clock
from daemon.engine.attempts import FILELESS_TASKS, INLINE_TASKS, AttemptRunner
from daemon.engine.claims import Claims
from daemon.engine.context import PluginFn
from daemon.engine.flow_retry import KIND as RETRY_KIND
from daemon.engine.flow_retry import FlowRetries
from daemon.engine.flowable_runs import FlowableRuns
from daemon.engine.follow_ups import EndFollowUps
from daemon.engine.lifecycle import ACTIVE_RUNS, Lifecycle, fail_in_store, kill_in_store
from daemon.engine.loop import Loop
from daemon.engine.persistence import Writer
from daemon.engine.runtime import BEAT_EVERY, POLL, STALE_AFTER, Runtime
from daemon.engine.state import EngineState
from daemon.engine.stepping import Stepper
from daemon.engine.view import ExecView
from daemon.settings import Settings
from daemon.store import Execution, Store, new_id
from daemon.store.flows import DeployedFlow, FlowRevision
from daemon.store.storage import InternalStorage

__all__ = [
    "ACTIVE_RUNS",
    "BEAT_EVERY",
    "FILELESS_TASKS",
    "INLINE_TASKS",
    "POLL",
    "STALE_AFTER",
    "Executor",
    "fail_in_store",
    "kill_in_store",
]


class Executor:
    """Runs executions of deployed flows; see the module docstring. Builds the collaborators and keeps the
    public API; each call is handed to the one collaborator that does it."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Clock,
        plugins: Mapping[str, PluginFn],
        *,
        workers: int = 8,
        worker_id: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.plugins = plugins
        self.worker_id = worker_id or new_id()
        self.state = state = EngineState(workers=max(workers, 1))
        self.runtime = rt = Runtime(store, settings, clock, state, worker_id=self.worker_id, environ=environ)
        self.flows = rt.flows  # the flow cache (parsed revisions), shared with the scheduler
        self.secrets = rt.secrets
        # called with each execution row (its final state and outputs) once its end is committed, from
        # the outbox: at least once per end (see follow_ups)
        self.end_hooks: list[Callable[[Execution], None]] = []
        # called with each execution this executor starts running (created here, or loaded and adopted)
        self.start_hooks: list[Callable[[Execution], None]] = []
        # called with each task attempt's duration in seconds as its outcome is applied (``Stepper.apply``)
        self.attempt_hooks: list[Callable[[float], None]] = []
        self.follow_ups = EndFollowUps(store, self.end_hooks)
        # the cycles (a subflow's execution is created while stepping; an end promotes a queued execution,
        # a failed write reads one back) go through these callbacks, bound once ``lifecycle`` exists
        lifecycle: Lifecycle

        def create(*args: Any, **kwargs: Any) -> str:
            return lifecycle.create_execution(*args, **kwargs)

        def promote(view: ExecView, now: datetime) -> None:
            lifecycle.promote(view, now)

        def load(row: Execution) -> ExecView:
            return lifecycle.load(row)

        self.attempts = AttemptRunner(rt, state, plugins)
        self.flowables = FlowableRuns(rt, state, create)
        self.stepper = Stepper(rt, state, self.attempts, self.flowables, self.attempt_hooks)
        self.writer = Writer(rt, state, self.stepper, self.follow_ups, promote=promote, load=load)
        lifecycle = Lifecycle(rt, state, self.stepper, self.writer, self.flowables, self.start_hooks)
        self.lifecycle = lifecycle
        self.claims = Claims(rt, state, self.stepper, self.writer, lifecycle, self.flowables)
        self.loop = Loop(
            rt, state, attempts=self.attempts, flowables=self.flowables, writer=self.writer,
            lifecycle=lifecycle, claims=self.claims, follow_ups=self.follow_ups,
        )  # fmt: skip
        # a flow-level CREATE_NEW_EXECUTION retry's new execution, created from the failed one's outbox row
        self.follow_ups.kinds[RETRY_KIND] = FlowRetries(store, lifecycle.create_execution)

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
        """Create an execution; returns its id. See ``Lifecycle.create_execution``."""
        return self.lifecycle.create_execution(
            flow_record, inputs, trigger=trigger, labels=labels, parent=parent, own=own,
            execution_id=execution_id, conn=conn, rows=rows,
        )  # fmt: skip

    def kill(self, execution_id: str) -> bool:
        """Kill an execution (KILLING, then KILLED); False if terminal. See ``Lifecycle.kill``."""
        return self.lifecycle.kill(execution_id)

    def resume_execution(self, execution_id: str) -> bool:
        """Resume a PAUSED execution. See ``Lifecycle.resume_execution``."""
        return self.lifecycle.resume_execution(execution_id)

    def recover(self) -> list[str]:
        """Adopt executions whose driver is gone; returns their ids. See ``Lifecycle.recover``."""
        return self.lifecycle.recover()

    async def run_until_done(self, execution_id: str) -> Execution:
        """Drive one execution (and any other this executor owns) until it is terminal; returns its row."""
        return await self.loop.run_until_done(execution_id)

    async def serve(self, stop: asyncio.Event) -> None:
        """The daemon loop: recover, then adopt and run any execution needing a driver until ``stop``."""
        await self.loop.serve(stop)

    def grouped_creations(self) -> AbstractContextManager[object]:
        """Group commit of the executions ``create_execution`` creates inside the block: one transaction
        when it ends. See ``Lifecycle.grouped_creations``."""
        return self.lifecycle.grouped_creations()

    def wake(self) -> None:
        """Step the loop now: work was added from outside it (an execution created by a trigger)."""
        self.loop.wake()

    def wake_to_poll(self) -> None:
        """Step the loop now and read the store in that step: another node left work there (a ``flowd_work``
        notification). See ``Loop.wake_to_poll``."""
        self.loop.wake_to_poll()

    def drain(self) -> None:
        """Shutdown: start no new task run (no claims); attempts already running go on."""
        self.loop.drain()

    def close(self) -> None:
        """Give back the executor's database connection (it takes a new one when it needs to write)."""
        self.writer.close()

    @property
    def views(self) -> dict[str, ExecView]:
        """The executions driven here, by id."""
        return self.state.views

    @property
    def workers(self) -> int:
        """Worker slots (0 once draining)."""
        return self.state.workers

    @workers.setter
    def workers(self, value: int) -> None:
        self.state.workers = value

    @property
    def busy(self) -> int:
        """How many attempts are running or about to start."""
        return self.loop.busy

    @property
    def storage(self) -> InternalStorage:
        """Internal storage, opened from ``FLOWD_STORAGE`` (``open_storage``) by ``Runtime``."""
        return self.runtime.storage

    @storage.setter
    def storage(self, value: InternalStorage) -> None:
        self.runtime.storage = value

    def running_attempts(self) -> list[asyncio.Task[None]]:
        """The asyncio tasks of the attempts running now (cancelled to abandon this executor)."""
        return list(self.state.tasks.values())
