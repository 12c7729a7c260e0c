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

The parts, each built on the one before: ``runtime`` (state, logs, variables) -> ``attempts`` (running
plugins) -> ``flowable_runs`` (working directories, pauses, subflows) -> ``stepping`` (outcomes and planner
actions, in memory) -> ``persistence`` (the batch writer) -> ``lifecycle`` (create, kill, resume,
recover) -> ``loop`` (the run loop, claims).
"""

from __future__ import annotations

from typing import Any

from daemon.engine.attempts import FILELESS_TASKS, INLINE_TASKS
from daemon.engine.flow_retry import KIND as RETRY_KIND
from daemon.engine.flow_retry import FlowRetries
from daemon.engine.lifecycle import ACTIVE_RUNS, fail_in_store, kill_in_store
from daemon.engine.loop import Loop
from daemon.engine.runtime import BEAT_EVERY, POLL, STALE_AFTER

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


class Executor(Loop):
    """Runs executions of deployed flows; see the module docstring. Built with
    ``Executor(store, settings, clock, plugins, *, workers=8, worker_id=None, environ=None)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # a flow-level CREATE_NEW_EXECUTION retry's new execution, created from the failed one's outbox row
        self.follow_ups.kinds[RETRY_KIND] = FlowRetries(self.store, self.create_execution)
