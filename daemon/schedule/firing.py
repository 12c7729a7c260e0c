"""Creating the execution a trigger asks for, exactly once per schedule tick.

The tick is recorded (insert-or-nothing on its UNIQUE key) in the same transaction that creates the
execution and moves the trigger's cursor: either all three land or none does, and of two racing schedulers
(or a restart replaying a tick) only the one that inserted the tick creates an execution.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from daemon.errors import FlowdError
from daemon.expressions import render_value
from daemon.language.model import Flow, TriggerBase
from daemon.store import Store, new_id
from daemon.store.flows import DeployedFlow, FlowRevision

log = logging.getLogger(__name__)


class ExecutionFactory(Protocol):
    """What firing needs of the executor (``Executor.create_execution``)."""

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
    ) -> str: ...


@dataclass(frozen=True, slots=True)
class Tick:
    """The schedule tick being fired. With ``advance`` (the scheduler) the trigger's cursor moves to
    ``next_date`` in the same transaction, also when the tick was already recorded (by a backfill, or a
    scheduler that crashed before moving it); a backfill leaves the cursor alone."""

    date: datetime
    next_date: datetime | None = None
    advance: bool = True


def _still_current(store: Store, key: tuple[str, str, str], revision: int, conn: Any) -> bool:
    """The trigger state the scheduler planned from is still the deployed one (not disabled, not deleted,
    not redefined, same flow revision): else another sync got in between and the plan is stale."""
    state = store.triggers.get(*key, conn=conn)
    return (
        state is not None
        and not state.disabled
        and state.next_date is not None
        and state.revision == revision
    )


class TriggerGone(Exception):
    """The trigger's state changed (flow deleted, disabled or redefined) since the scheduler read it:
    nothing was written; the scheduler re-reads the trigger states."""


def trigger_record(trigger: TriggerBase, variables: Mapping[str, Any]) -> dict[str, Any]:
    """The execution's ``trigger`` column: ``{id, type, variables}`` (Kestra's execution trigger)."""
    return {"id": trigger.id, "type": trigger.type, "variables": dict(variables)}


def render_inputs(trigger: TriggerBase, flow: Flow, variables: Mapping[str, Any]) -> dict[str, Any]:
    """The trigger's ``inputs`` with expressions rendered (``{{ trigger.date }}`` and the flow's ids)."""
    context = {"trigger": dict(variables), "flow": {"id": flow.id, "namespace": flow.namespace}}
    return {key: render_value(value, context) for key, value in trigger.inputs.items()}


def create_triggered(
    store: Store,
    executor: ExecutionFactory,
    record: DeployedFlow | FlowRevision,
    flow: Flow,
    trigger: TriggerBase,
    variables: Mapping[str, Any],
    *,
    now: datetime,
    tick: Tick | None = None,
    own: bool = True,
    execution_id: str | None = None,
) -> str | None:
    """Create the execution ``trigger`` fires with ``variables``; returns its id, or None when the tick was
    already recorded (fired before) or the execution could not be created (bad inputs: the tick is then
    recorded without an execution and the reason logged, so it is not retried forever). Raises
    ``TriggerGone`` (nothing written) when a scheduler tick's trigger state changed under it.
    ``own=False`` leaves the execution CREATED for a running daemon to adopt. A given ``execution_id`` is
    an idempotency key: when that execution exists already, nothing is created (None)."""
    idempotent = execution_id is not None
    execution_id = execution_id or new_id()
    key = (record.namespace, record.flow_id, trigger.id)
    try:
        inputs = render_inputs(trigger, flow, variables)
        with store.begin() as conn:
            if tick is not None:
                if tick.advance:
                    if not _still_current(store, key, record.revision, conn):
                        raise TriggerGone(tick.date)
                    store.triggers.set_dates(
                        *key, next_date=tick.next_date, last_date=tick.date, now=now, conn=conn
                    )
                recorded = store.triggers.record_tick(
                    *key, tick.date, execution_id=execution_id, now=now, conn=conn
                )
                if not recorded:
                    return None  # fired before: the transaction still commits the cursor move
            if idempotent and store.executions.get(execution_id, conn=conn) is not None:
                return None  # created before (an end hook run again)
            executor.create_execution(
                record, inputs, trigger=trigger_record(trigger, variables), labels=trigger.labels,
                own=own, execution_id=execution_id, conn=conn,
            )  # fmt: skip
    except FlowdError as exc:
        log.warning("trigger %s of %s/%s could not start an execution: %s", trigger.id, *key[:2], exc.message)
        if tick is not None:
            with store.begin() as conn:
                if tick.advance:
                    store.triggers.set_dates(
                        *key, next_date=tick.next_date, last_date=tick.date, now=now, conn=conn
                    )  # fmt: skip
                store.triggers.record_tick(*key, tick.date, execution_id=None, now=now, conn=conn)
        return None
    return execution_id
