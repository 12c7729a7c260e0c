"""Changes made in the store alone, for executions no live process of ours drives: a kill (cascading to
subflow children) and failing an execution that cannot be driven. Each is one guarded transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from daemon.engine import states as S
from daemon.engine.runtime import STALE_AFTER
from daemon.engine.view import RunView
from daemon.store import ACTIVE_STATES, LogEntry, Store

# states a kill request may replace (KILLING itself: asking twice changes nothing)
KILLABLE = tuple(s for s in ACTIVE_STATES if s != S.KILLING)


def kill_in_store(store: Store, execution_id: str, *, now: datetime) -> bool:
    """Ask for an execution to be killed: KILLING, which its live owner turns into KILLED. With no live owner
    the kill is finished here: the execution is taken from its (stalled) owner first, so that owner can
    never overwrite the kill, then its unfinished task runs and itself become KILLED. Subflow children
    still running are killed the same way (whatever process owns them acts on their KILLING)."""
    row = store.executions.get(execution_id)
    if row is None or S.is_terminal(row.state):
        return False
    owner_alive = (
        row.owner_id is not None and row.heartbeat_at is not None and row.heartbeat_at >= now - STALE_AFTER
    )
    with store.begin() as conn:
        if (
            not store.executions.set_state(execution_id, S.KILLING, date=now, only_from=KILLABLE, conn=conn)
            and row.state != S.KILLING
        ):
            return False  # it ended meanwhile
        if not owner_alive:
            store.executions.fence_off(execution_id, conn=conn)
            _end_runs(store, execution_id, S.KILLED, now=now, conn=conn)
            store.executions.set_state(
                execution_id, S.KILLED, date=now, end_date=now, only_from=[S.KILLING], conn=conn
            )
    kill_children(store, execution_id, now=now)
    return True


def kill_children(store: Store, execution_id: str, *, now: datetime) -> None:
    """Kill the active subflow executions of ``execution_id`` (and theirs, through ``kill_in_store``)."""
    for child in store.executions.list(parent_execution_id=execution_id, states=KILLABLE, limit=10_000):
        kill_in_store(store, child.id, now=now)


def fail_in_store(
    store: Store, execution_id: str, reason: str, *, now: datetime, fence: tuple[str, int] | None = None
) -> bool:
    """End an execution that cannot be driven any more as FAILED, with the reason as a log line. With
    ``fence=(owner, epoch)`` only while that owner still holds it; returns whether it was failed."""
    with store.begin() as conn:
        if not store.executions.set_state(
            execution_id, S.FAILED, date=now, end_date=now, only_from=ACTIVE_STATES, fence=fence, conn=conn
        ):
            return False
        _end_runs(store, execution_id, S.FAILED, now=now, conn=conn)
        store.logs.insert([LogEntry(execution_id, "ERROR", now, reason)], conn=conn)
    return True


def _end_runs(store: Store, execution_id: str, state: str, *, now: datetime, conn: Any) -> None:
    updates = []
    for task_run in store.executions.list_task_runs(execution_id, conn=conn):
        if not S.is_terminal(task_run.state):
            run = RunView.from_row(task_run)
            if not S.can_transition(run.state, state):
                run.move(S.RUNNING, now)  # e.g. RETRYING/CREATED -> FAILED passes through RUNNING
            run.move(state, now)
            updates.append(run.to_update())
    store.executions.update_task_runs(updates, conn=conn)
