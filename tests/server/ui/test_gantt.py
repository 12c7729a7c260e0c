"""Gantt layout: tree order, waits, attempts, axis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from daemon.server.ui.gantt import format_duration, layout_gantt, ordered_runs
from daemon.store import TaskRun

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def run(run_id: str, task_id: str, state: str, *, created: float, started: float | None, ended: float | None,
        parent: str | None = None, value: str | None = None, attempts: list[dict[str, Any]] | None = None,
        ) -> TaskRun:  # fmt: skip
    histories = [{"state": "CREATED", "date": _at(created)}]
    if started is not None:
        histories.append({"state": "RUNNING", "date": _at(started)})
    if ended is not None:
        histories.append({"state": state, "date": _at(ended)})
    return TaskRun(
        id=run_id, execution_id="e", task_id=task_id, state=state, ready_at=T0, histories=histories,
        attempts=attempts or [], parent_task_run_id=parent, value=value,
    )  # fmt: skip


def test_children_follow_their_parent() -> None:
    runs = [
        run("a", "each", "SUCCESS", created=0, started=0, ended=4),
        run("z", "after", "SUCCESS", created=4, started=4, ended=5),
        run("b", "item", "SUCCESS", created=1, started=1, ended=2, parent="a", value="x"),
        run("c", "item", "SUCCESS", created=1, started=2, ended=3, parent="a", value="y"),
        run("o", "orphan", "SUCCESS", created=1, started=1, ended=1, parent="missing"),
    ]
    assert [(r.id, depth) for r, depth in ordered_runs(runs)] == [
        ("a", 0),
        ("b", 1),
        ("c", 1),
        ("z", 0),
        ("o", 0),
    ]


def test_bars_waits_attempts_and_ticks() -> None:
    retried = run(
        "r", "flaky", "SUCCESS", created=0, started=2, ended=10,
        attempts=[{"state": "FAILED", "startDate": _at(2), "endDate": _at(4)},
                  {"state": "SUCCESS", "startDate": _at(6), "endDate": _at(10)}],
    )  # fmt: skip
    live = run("l", "long", "RUNNING", created=0, started=0, ended=None)
    gantt = layout_gantt(
        [retried, live], start=T0, end=None, now=T0 + timedelta(seconds=10), chart_width=1000
    )
    labels = [row.label for row in gantt.rows]
    assert labels == ["flaky", "attempt 1", "attempt 2", "long"]
    flaky = gantt.rows[0]
    wait, ran = flaky.bars
    assert (wait.kind, wait.x, wait.width) == ("wait", 0.0, 200.0)
    assert (ran.kind, ran.x, ran.width, ran.state) == ("run", 200.0, 800.0, "SUCCESS")
    assert ran.title == "flaky: SUCCESS in 8.00s (2 attempts)"
    first = gantt.rows[1].bars[0]
    assert (first.x, first.width, first.state) == (200.0, 200.0, "FAILED")
    assert gantt.rows[3].bars[0].width == 1000.0  # running: until now
    assert gantt.ticks[0] == (0.0, "0.00s") and gantt.ticks[-1] == (1000.0, "10.0s")
    assert gantt.rows[1].y - gantt.rows[0].y == gantt.row_height


def test_durations() -> None:
    assert [format_duration(s) for s in (0.354, 12.44, 185, 7260)] == ["0.35s", "12.4s", "3m05s", "2h01m"]


def test_the_axis_spans_the_tasks_and_the_queue_time_is_a_label() -> None:
    # the execution waited 4.5 s before its first task ran: that is a label, not 80 % of the axis
    first = run("a", "first", "SUCCESS", created=4, started=4.5, ended=5)
    second = run("b", "second", "SUCCESS", created=5, started=5, ended=6.5)
    gantt = layout_gantt([first, second], start=T0, end=T0 + timedelta(seconds=6.5), now=T0, chart_width=100)
    assert gantt.queued == 4.5 and gantt.span == 2.0
    assert (gantt.rows[0].bars[0].x, gantt.rows[0].bars[0].width) == (0.0, 25.0)
    assert (gantt.rows[1].bars[-1].x, gantt.rows[1].bars[-1].width) == (25.0, 75.0)
    zoomed = layout_gantt(
        [first, second], start=T0, end=T0 + timedelta(seconds=6.5), now=T0, chart_width=100, zoom="b"
    )
    assert zoomed.zoom == "b" and zoomed.span == 1.5
    assert (zoomed.rows[1].bars[-1].x, zoomed.rows[1].bars[-1].width) == (0.0, 100.0)
    unknown = layout_gantt([first], start=T0, end=None, now=T0 + timedelta(seconds=5), zoom="nope")
    assert unknown.zoom is None
