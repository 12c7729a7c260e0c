"""The metrics an execution's end feeds (``Counters``): its terminal state, and its task attempts' durations.

An end hook of the executor. The durations are in the store's task runs, which the executor has already
written and forgotten: reading every run of each ended execution, one query per end, took more of the engine
loop than the rest of the end (bench W7: 1,000 executions ending within a second). The ends of one loop
callback are therefore read together, in one query, right after that callback (at once when no event loop
runs in the calling thread, and before a metrics snapshot). At least once, like the other non-outbox hooks;
a failed read costs only those durations, never the executor.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import datetime
from typing import Any

from daemon.server.counters import Counters
from daemon.store import Execution, Store

log = logging.getLogger(__name__)


class EndMetrics:
    """``EndMetrics(store, counters)(execution)``: record an ended execution; see the module docstring."""

    def __init__(self, store: Store, counters: Counters) -> None:
        self.store = store
        self.counters = counters
        self._lock = threading.Lock()  # ends may come from the engine loop and from API threads
        self._pending: list[str] = []
        counters.flushers.append(self.flush)  # a metrics read sees every end recorded so far

    def __call__(self, execution: Execution) -> None:
        self.counters.record_ended(execution.state)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._record([execution.id])
            return
        with self._lock:
            first = not self._pending
            self._pending.append(execution.id)
        if first:
            loop.call_soon(self.flush)

    def flush(self) -> None:
        """Read and record the task durations of the ends still pending."""
        with self._lock:
            ids, self._pending = self._pending, []
        if ids:
            self._record(ids)

    def _record(self, execution_ids: list[str]) -> None:
        try:
            runs = self.store.executions.attempts_of(execution_ids)
        except Exception:  # metrics never break the executor
            log.debug("task durations of %d executions not recorded", len(execution_ids), exc_info=True)
            return
        for attempts in runs:
            for attempt in attempts:
                seconds = _seconds(attempt)
                if seconds is not None:
                    self.counters.record_task(seconds)


def _seconds(attempt: dict[str, Any]) -> float | None:
    start, end = attempt.get("startDate"), attempt.get("endDate")
    if not start or not end:
        return None
    return (_date(end) - _date(start)).total_seconds()


def _date(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
