"""In-process metrics of a daemon: executions by state, task durations, syncs, scheduler lateness.

Thread-safe (the sync loop records from a worker thread); ``snapshot()`` feeds ``Services.metrics()``.
"""

from __future__ import annotations

import statistics
import threading
from collections import Counter, deque
from collections.abc import Callable
from typing import Any

_WINDOW = 1000  # recent samples kept per distribution (median / max over a sliding window)


class Distribution:
    """Count, sum and max of all samples, plus the median of the most recent ones (seconds)."""

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.max = 0.0
        self.recent: deque[float] = deque(maxlen=_WINDOW)

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.max = max(self.max, value)
        self.recent.append(value)

    def as_dict(self) -> dict[str, float | int]:
        median = statistics.median(self.recent) if self.recent else 0.0
        return {"count": self.count, "sum": self.total, "max": self.max, "median": median}


class Counters:
    """The daemon's counters; every ``record_*`` method may be called from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.executions_created: Counter[str] = Counter()  # by trigger kind (schedule, api, ...)
        self.executions_ended: Counter[str] = Counter()  # by terminal state
        self.task_durations = Distribution()
        self.syncs: Counter[str] = Counter()  # by result
        self.sync_durations = Distribution()
        self.lateness = Distribution()  # scheduler: fire time - tick time, on-time ticks only
        self.ticks_fired = 0
        self.ticks_skipped = 0  # missed ticks dropped by recoverMissedSchedules / lateMaximumDelay
        # called before each snapshot: recorders that batch their samples (``EndMetrics``) add theirs
        self.flushers: list[Callable[[], None]] = []

    def record_created(self, kind: str) -> None:
        with self._lock:
            self.executions_created[kind] += 1

    def record_ended(self, state: str) -> None:
        with self._lock:
            self.executions_ended[state] += 1

    def record_task(self, seconds: float) -> None:
        with self._lock:
            self.task_durations.add(seconds)

    def record_sync(self, result: str, seconds: float) -> None:
        with self._lock:
            self.syncs[result] += 1
            self.sync_durations.add(seconds)

    def record_tick(self, lateness_seconds: float | None) -> None:
        """A tick fired; ``lateness_seconds`` is None for a recovered (missed) tick."""
        with self._lock:
            self.ticks_fired += 1
            if lateness_seconds is not None:
                self.lateness.add(max(lateness_seconds, 0.0))

    def record_skipped(self, count: int) -> None:
        with self._lock:
            self.ticks_skipped += count

    def snapshot(self) -> dict[str, Any]:
        """A JSON-able copy of every counter."""
        for flush in self.flushers:
            flush()
        with self._lock:
            return {
                "executions": {
                    "created": dict(self.executions_created),
                    "ended": dict(self.executions_ended),
                },
                "tasks": {"duration_seconds": self.task_durations.as_dict()},
                "syncs": {"results": dict(self.syncs), "duration_seconds": self.sync_durations.as_dict()},
                "scheduler": {
                    "ticks_fired": self.ticks_fired,
                    "ticks_skipped": self.ticks_skipped,
                    "lateness_seconds": self.lateness.as_dict(),
                },
            }
