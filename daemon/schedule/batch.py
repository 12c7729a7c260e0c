"""Firing many schedule ticks due at the same instant, a chunk of them per transaction.

Everything that does not depend on the store (the tick, the next cursor, ``trigger`` variables, rendered
inputs) is computed ahead of the tick (``Planned``); firing is then only writes. Per chunk, one
transaction: move the cursors, each guarded by the trigger revision it was planned from (a trigger a sync
changed, disabled or deleted since is left alone: ``gone``), record the ticks insert-or-nothing on the
UNIQUE key, and create an execution only for the ticks this transaction inserted. A racing scheduler or
a restart replaying a tick therefore never duplicates a run (exactly like ``firing.create_triggered``, one
tick at a time).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from daemon.errors import FlowdError
from daemon.language.model import Flow, TriggerBase
from daemon.schedule.cursor import Schedule, trigger_variables
from daemon.schedule.firing import ExecutionFactory, render_inputs, trigger_record
from daemon.schedule.ticks import DEFAULT_GRACE
from daemon.store import Execution, Store, new_id
from daemon.store.flows import DeployedFlow, FlowRevision
from daemon.store.triggers import TickRow, TriggerState

log = logging.getLogger(__name__)

CHUNK = 200  # ticks per transaction: short enough not to hold the write lock long, few enough commits


class BatchFactory(ExecutionFactory, Protocol):
    """``Executor.create_execution`` with ``rows``: the rows are left for the caller to insert at once."""

    def create_execution(
        self,
        flow_record: DeployedFlow | FlowRevision,
        inputs: Mapping[str, Any],
        *,
        trigger: dict[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        own: bool = True,
        execution_id: str | None = None,
        conn: Any = None,
        rows: list[Execution] | None = None,
    ) -> str: ...


@dataclass(frozen=True, slots=True)
class Planned:
    """One on-time tick of a trigger, ready to fire: only the store writes are left."""

    record: DeployedFlow
    trigger: TriggerBase
    date: datetime
    next_date: datetime | None
    variables: dict[str, Any]
    inputs: dict[str, Any]
    late_max: timedelta | None = None
    execution_id: str = ""  # drawn ahead too (used once: a plan fires at most one execution)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.record.namespace, self.record.flow_id, self.trigger.id)


@dataclass
class Fired:
    """What a batch did: executions created, triggers found changed (nothing written for them), ticks
    recorded before (cursor moved, no execution), ticks whose execution could not be created."""

    created: list[tuple[Planned, str]] = field(default_factory=list)
    gone: list[Planned] = field(default_factory=list)
    already: list[Planned] = field(default_factory=list)
    failed: list[Planned] = field(default_factory=list)

    def add(self, other: Fired) -> None:
        self.created += other.created
        self.gone += other.gone
        self.already += other.already
        self.failed += other.failed


def _current(state: TriggerState | None, revision: int) -> bool:
    """The state the tick was planned from is still the deployed one (see ``firing._still_current``)."""
    return (
        state is not None
        and not state.disabled
        and state.next_date is not None
        and state.revision == revision
    )


class _Stale(Exception):
    """A trigger of the chunk changed since it was planned: the chunk's transaction is rolled back."""


def fire_planned(
    store: Store, executor: BatchFactory, planned: Sequence[Planned], *, now: datetime, chunk: int = CHUNK
) -> Fired:
    """Fire ``planned`` ticks, ``chunk`` per transaction; see the module docstring."""
    fired = Fired()
    for start in range(0, len(planned), chunk):
        fired.add(_fire_chunk(store, executor, planned[start : start + chunk], now=now))
    return fired


def _fire_chunk(store: Store, executor: BatchFactory, planned: Sequence[Planned], *, now: datetime) -> Fired:
    """The guarded cursor moves tell whether every trigger is as planned (nearly always); when one is not,
    the chunk is retried without the triggers found changed, and if it changes again under that retry,
    nothing of it is written (all ``gone``: the scheduler re-reads the states and fires them then)."""
    try:
        return _write_chunk(store, executor, planned, now=now)
    except _Stale:
        pass
    states = store.triggers.get_many([p.key for p in planned])
    live = [p for p in planned if _current(states.get(p.key), p.record.revision)]
    try:
        fired = _write_chunk(store, executor, live, now=now)
    except _Stale:
        return Fired(gone=list(planned))
    fired.gone += [p for p in planned if p not in live]
    return fired


def _write_chunk(store: Store, executor: BatchFactory, planned: Sequence[Planned], *, now: datetime) -> Fired:
    fired = Fired()
    with store.begin() as conn:
        rows = [
            TickRow(*p.key, p.date, p.execution_id or new_id(), p.next_date, p.record.revision)
            for p in planned
        ]
        if store.triggers.advance_many(rows, now=now, conn=conn) != len(rows):
            raise _Stale()  # before any execution is created: the rollback leaves nothing behind
        inserted = {row.execution_id for row in store.triggers.record_ticks(rows, now=now, conn=conn)}
        lost: list[str] = []
        executions: list[Execution] = []
        for p, row in zip(planned, rows, strict=True):
            if row.execution_id not in inserted:
                fired.already.append(p)  # fired before (a racing scheduler, a restart): cursor moved only
                continue
            assert row.execution_id is not None
            try:
                executor.create_execution(
                    p.record, p.inputs, trigger=trigger_record(p.trigger, p.variables),
                    labels=p.trigger.labels, execution_id=row.execution_id, conn=conn, rows=executions,
                )  # fmt: skip
            except FlowdError as exc:  # bad inputs: the tick stays recorded, without an execution
                key = p.key
                log.warning(
                    "trigger %s of %s/%s could not start an execution: %s", key[2], *key[:2], exc.message
                )
                lost.append(row.execution_id)
                fired.failed.append(p)
                continue
            fired.created.append((p, row.execution_id))
        store.executions.create_many(executions, conn=conn)
        store.triggers.forget_tick_executions(lost, conn=conn)
    return fired


def plan_tick(
    schedule: Schedule, trigger: TriggerBase, flow: Flow, record: DeployedFlow, date: datetime
) -> Planned:
    """The fire of ``date`` when it comes on time (ahead of the tick: croniter and rendering are the slow
    parts). Raises FlowdError when the trigger's inputs do not render (the one-by-one path reports it)."""
    variables = trigger_variables(schedule, date)
    inputs = render_inputs(trigger, flow, variables)
    return Planned(
        record, trigger, date, schedule.after(date), variables, inputs, schedule.late_max, new_id()
    )


def on_time(planned: Planned, now: datetime, *, grace: timedelta = DEFAULT_GRACE) -> bool:
    """Whether ``decide`` would fire exactly ``planned`` at ``now``: it is due, the only tick due (the next
    one is still ahead), within the grace window and within ``lateMaximumDelay``."""
    late = now - planned.date
    return (
        timedelta(0) <= late <= grace
        and (planned.next_date is None or now < planned.next_date)
        and (planned.late_max is None or late <= planned.late_max)
    )
