"""The Gantt chart of an execution, as geometry for the template. Pure: time is an argument.

One row per task run, children under their parent (ForEach iterations and flowable branches are task runs
with a parent), and one sub-row per attempt when a run was tried more than once. A run's row shows the time
it waited (created, not yet running) as a pale bar and the time it ran as a bar coloured by its state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from daemon.engine.states import is_terminal
from daemon.store import TaskRun

LABEL_WIDTH = 280
CHART_WIDTH = 720
ROW_HEIGHT = 22
AXIS_HEIGHT = 24
_NICE_STEPS = (0.00005, 0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5,
               10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800,
               604800)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Bar:
    """A horizontal bar: ``x``/``width`` in chart pixels, ``kind`` is ``run``, ``wait`` or ``attempt``."""

    x: float
    width: float
    state: str
    kind: str
    title: str


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the chart; ``y`` is its top in pixels."""

    run_id: str
    label: str
    depth: int
    state: str
    y: float
    bars: tuple[Bar, ...]
    attempt: int | None = None


@dataclass(frozen=True, slots=True)
class Gantt:
    """The whole chart: rows, axis ticks (x, text) and its size. The axis starts when the first task ran
    (``queued``: seconds the execution waited before that, shown as a label rather than as axis); with a
    zoom it spans that task run (``zoom``: its id) instead."""

    rows: tuple[Row, ...]
    ticks: tuple[tuple[float, str], ...]
    width: int
    height: int
    label_width: int
    chart_width: int
    row_height: int
    queued: float = 0.0
    zoom: str | None = None
    span: float = 0.0


def parse_date(value: Any) -> datetime | None:
    """A stored date (ISO-8601 text, possibly with ``Z``, or a datetime) as a datetime; None if absent."""
    if isinstance(value, datetime):
        return value
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def format_duration(seconds: float) -> str:
    """``4.5ms``, ``0.35s``, ``12.4s``, ``3m05s``, ``2h01m``."""
    if 0 < seconds < 0.01:
        return f"{seconds * 1000:.1f}ms"
    if seconds < 10:
        return f"{seconds:.2f}s"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def ordered_runs(runs: Sequence[TaskRun]) -> list[tuple[TaskRun, int]]:
    """The runs depth first (each parent before its children, siblings in the given order) with depths.
    A run whose parent is missing is shown as a top-level run."""
    ids = {run.id for run in runs}
    children: dict[str | None, list[TaskRun]] = {}
    for run in runs:
        parent = run.parent_task_run_id if run.parent_task_run_id in ids else None
        children.setdefault(parent, []).append(run)
    out: list[tuple[TaskRun, int]] = []
    stack: list[tuple[TaskRun, int]] = [(run, 0) for run in reversed(children.get(None, []))]
    while stack:
        run, depth = stack.pop()
        out.append((run, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(run.id, [])))
    return out


def _run_times(run: TaskRun, now: datetime) -> tuple[datetime | None, datetime | None, datetime | None]:
    """When a run was created, first started running, and ended (now while it is still going)."""
    dates = [(h.get("state"), parse_date(h.get("date"))) for h in run.histories]
    created = next((d for _, d in dates if d is not None), None)
    started = next((d for s, d in dates if s == "RUNNING" and d is not None), None)
    # a run still going ends "now" on the chart
    ended = next((d for _, d in reversed(dates) if d is not None), None) if is_terminal(run.state) else now
    return created, started, ended


def run_label(run: TaskRun) -> str:
    """The task id, with the ForEach value (or iteration) it ran for."""
    if run.value is not None:
        return f"{run.task_id} [{run.value}]"
    if run.iteration is not None:
        return f"{run.task_id} #{run.iteration}"
    return run.task_id


def _nice_step(span: float, target: int = 6) -> float:
    raw = span / target
    return next((step for step in _NICE_STEPS if step >= raw), _NICE_STEPS[-1])


def layout_gantt(
    runs: Sequence[TaskRun],
    *,
    start: datetime,
    end: datetime | None,
    now: datetime,
    chart_width: int = CHART_WIDTH,
    label_width: int = LABEL_WIDTH,
    row_height: int = ROW_HEIGHT,
    zoom: str | None = None,
) -> Gantt:
    """Lay out the chart of an execution that started at ``start`` and ended at ``end`` (None: running).
    The axis runs from the first task run's start to the last end; ``zoom`` (a task run id) narrows it to
    that run. ``chart_width`` 100 gives percentages (the page's chart takes its card's width)."""
    ordered = ordered_runs(runs)
    times = {run.id: _run_times(run, now) for run, _ in ordered}
    last = end or now
    for created, _, ended in times.values():
        for moment in (created, ended):
            if moment is not None and moment > last:
                last = moment
    firsts = [began or created for created, began, _ in times.values() if (began or created) is not None]
    origin = min([d for d in firsts if d is not None], default=start)
    origin = max(origin, start) if firsts else start
    queued = max((origin - start).total_seconds(), 0.0)
    zoomed = times.get(zoom) if zoom else None
    if zoomed is not None:
        z_created, z_started, z_ended = zoomed
        z_from = z_started or z_created
        if z_from is not None:
            origin, last = z_from, max(z_ended or now, z_from)
    else:
        zoom = None
    span = max((last - origin).total_seconds(), 0.0001)
    scale = chart_width / span

    def x_of(moment: datetime) -> float:
        return max(0.0, min(chart_width, (moment - origin).total_seconds() * scale))

    def bar(begin: datetime, finish: datetime, state: str, kind: str, title: str) -> Bar:
        x = x_of(begin)
        return Bar(round(x, 2), round(max(x_of(finish) - x, chart_width / 500), 2), state, kind, title)

    rows: list[Row] = []
    y = float(AXIS_HEIGHT)
    for run, depth in ordered:
        created, started, ended = times[run.id]
        label = run_label(run)
        bars: list[Bar] = []
        if created is not None and ended is not None:
            running_from = started or ended
            if running_from > max(created, origin):  # a wait before the axis is the queue label
                waited = (running_from - created).total_seconds()
                text = f"{label}: waited {format_duration(waited)}"
                bars.append(bar(created, running_from, run.state, "wait", text))
            if started is not None:
                took = (ended - started).total_seconds()
                title = f"{label}: {run.state} in {format_duration(took)}"
                if len(run.attempts) > 1:
                    title += f" ({len(run.attempts)} attempts)"
                bars.append(bar(started, ended, run.state, "run", title))
        rows.append(Row(run.id, label, depth, run.state, y, tuple(bars)))
        y += row_height
        if len(run.attempts) > 1:
            for number, attempt in enumerate(run.attempts, start=1):
                state = str(attempt.get("state") or run.state)
                a_start, a_end = parse_date(attempt.get("startDate")), parse_date(attempt.get("endDate"))
                a_bars: tuple[Bar, ...] = ()
                if a_start is not None:
                    finish = a_end or (now if not is_terminal(state) else a_start)
                    took = (finish - a_start).total_seconds()
                    text = f"{label} attempt {number}: {state} in {format_duration(took)}"
                    a_bars = (bar(a_start, finish, state, "attempt", text),)
                rows.append(Row(run.id, f"attempt {number}", depth + 1, state, y, a_bars, attempt=number))
                y += row_height
    step = _nice_step(span)
    count = int(span / step)
    ticks = tuple((round(i * step * scale, 2), format_duration(i * step)) for i in range(count + 1))
    height = int(y) + 4
    return Gantt(
        tuple(rows), ticks, label_width + chart_width + 8, height, label_width, chart_width, row_height,
        queued=queued, zoom=zoom, span=span,
    )  # fmt: skip
