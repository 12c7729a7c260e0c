"""One INFO line in the daemon's terminal per execution start and end (state, duration, failure reason).

Hooked on the executor's start and end hooks; it only reads the store (the first ERROR line of a failed
execution) and never lets a problem of its own reach the executor.

Start lines are written just after the event-loop callback that created the executions, not inside it: a
scheduler firing 1,000 ticks due at one instant creates the 1,000 executions in one go, and formatting and
writing a line within each creation made the later ticks of the burst ~25 ms late (bench W7). An execution's
end line never comes before its start line (``ended`` writes the pending start lines first).
"""

from __future__ import annotations

import asyncio
import logging
import threading

from daemon.store import Execution, Store

log = logging.getLogger("flowd.executions")

_FAILED = frozenset({"FAILED", "KILLED", "CANCELLED"})


def _trigger(execution: Execution) -> str:
    trigger = execution.trigger or {}
    kind = str(trigger.get("type") or "").rsplit(".", 1)[-1]
    return f" by {kind} trigger '{trigger.get('id')}'" if kind and trigger.get("id") else ""


def _seconds(execution: Execution) -> str:
    if execution.end_date is None:
        return "?"
    seconds = (execution.end_date - execution.start_date).total_seconds()
    return f"{seconds:.2f}s" if seconds < 60 else f"{int(seconds // 60)}m{seconds % 60:02.0f}s"


def _log_start(execution: Execution) -> None:
    log.info(
        "execution %s of %s/%s started (revision %d%s)",
        execution.id, execution.namespace, execution.flow_id, execution.flow_revision, _trigger(execution),
    )  # fmt: skip


class ExecutionLog:
    """``started(execution)`` and ``ended(execution)``, for the executor's hooks."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()  # the engine loop and API threads both create executions
        self._starts: list[Execution] = []

    def started(self, execution: Execution) -> None:
        """Log that an execution starts running here: on an event loop, once the current callback is done
        (see the module docstring); at once elsewhere."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            _log_start(execution)
            return
        with self._lock:
            first = not self._starts
            self._starts.append(execution)
        if first:
            loop.call_soon(self.write_starts)

    def write_starts(self) -> None:
        """Write the start lines still pending, in the order the executions were created."""
        with self._lock:
            starts, self._starts = self._starts, []
        for execution in starts:
            _log_start(execution)

    def ended(self, execution: Execution) -> None:
        """Log the end: state, duration, and for a failure its first error line."""
        if self._starts:
            self.write_starts()
        reason = self.reason(execution) if execution.state in _FAILED else None
        log.info(
            "execution %s of %s/%s ended %s in %s%s",
            execution.id, execution.namespace, execution.flow_id, execution.state, _seconds(execution),
            f": {reason}" if reason else "",
        )  # fmt: skip

    def reason(self, execution: Execution) -> str | None:
        """The first ERROR line of the execution (``task_id: message``), first line only."""
        try:
            lines = self.store.logs.for_execution(execution.id, min_level="ERROR", limit=1)
        except Exception:  # the log line is a courtesy: never fail the executor for it
            log.debug("no failure reason for %s", execution.id, exc_info=True)
            return None
        if not lines:
            return None
        first = lines[0]
        message = (first.message or "").strip().splitlines()[0] if first.message else ""
        return f"{first.task_id}: {message}" if first.task_id else message
