"""The end hook feeding the daemon's metrics (``server.end_metrics``): every attempt's duration is recorded,
the ends of one loop callback read together after it, and a metrics snapshot sees them all."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest

from daemon.server.counters import Counters
from daemon.server.end_metrics import EndMetrics
from daemon.store import Execution, Store, TaskRun

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _attempt(start: str, end: str | None) -> dict[str, Any]:
    return {"startDate": f"2026-12-05T12:00:{start}Z", "endDate": end and f"2026-12-05T12:00:{end}Z"}


def _ended(store: Store, execution_id: str, attempts: list[list[dict[str, Any]]]) -> Execution:
    execution = Execution(
        id=execution_id, namespace="test.metrics", flow_id="f", flow_revision=1, state="SUCCESS",
        start_date=T0, end_date=T0,
    )  # fmt: skip
    store.executions.create(execution)
    store.executions.insert_task_runs(
        [
            TaskRun(
                id=f"{execution_id}-{i}",
                execution_id=execution_id,
                task_id=f"t{i}",
                state="SUCCESS",
                ready_at=T0,
                attempts=run,
            )
            for i, run in enumerate(attempts)
        ]
    )
    return execution


def test_every_attempt_of_every_ended_execution_is_recorded(store: Store) -> None:
    counters = Counters()
    hook = EndMetrics(store, counters)
    first = _ended(store, "e1", [[_attempt("00", "01"), _attempt("02", "05")], [_attempt("00", None)]])
    second = _ended(store, "e2", [[_attempt("00", "02")]])
    seen: dict[str, Any] = {}

    async def one_callback() -> None:
        hook(first)
        hook(second)
        seen["within"] = counters.task_durations.count  # read after this callback, together
        await asyncio.sleep(0)

    asyncio.run(one_callback())
    assert seen["within"] == 0
    durations = counters.task_durations
    assert durations.count == 3 and durations.total == pytest.approx(6.0) and durations.max == 3.0
    assert counters.executions_ended["SUCCESS"] == 2


def test_a_snapshot_sees_ends_still_pending(store: Store) -> None:
    counters = Counters()
    hook = EndMetrics(store, counters)
    ended = _ended(store, "e1", [[_attempt("00", "04")]])
    seen: dict[str, Any] = {}

    async def end_then_read() -> None:
        hook(ended)
        seen["snapshot"] = counters.snapshot()  # the API thread asking before the loop flushed

    asyncio.run(end_then_read())
    assert seen["snapshot"]["tasks"]["duration_seconds"]["count"] == 1
    assert counters.task_durations.count == 1  # the loop's flush found nothing left: not counted twice


def test_outside_an_event_loop_it_is_recorded_at_once(store: Store) -> None:
    counters = Counters()
    EndMetrics(store, counters)(_ended(store, "e1", [[_attempt("00", "01")]]))
    assert counters.task_durations.count == 1
