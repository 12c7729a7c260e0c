"""The overview's bar chart: executions started per hour, stacked by state. Pure geometry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

# bottom to top: the usual outcome first, so problems stack visibly on top
STATE_ORDER = ("SUCCESS", "WARNING", "SKIPPED", "CREATED", "QUEUED", "RUNNING", "PAUSED", "RETRYING",
               "RESTARTED", "RETRIED", "KILLING", "KILLED", "CANCELLED", "FAILED")  # fmt: skip


@dataclass(frozen=True, slots=True)
class Segment:
    """One state's part of one hour's bar."""

    x: float
    y: float
    w: float
    h: float
    state: str
    title: str


@dataclass(frozen=True, slots=True)
class BarChart:
    """Segments, hour labels (x, text), the totals by state, and the SVG size."""

    segments: tuple[Segment, ...]
    labels: tuple[tuple[float, str], ...]
    totals: dict[str, int]
    peak: int
    width: int
    height: int
    plot_height: int


def hourly_chart(
    buckets: list[dict[str, int]],
    *,
    now: datetime,
    width: int = 720,
    plot_height: int = 120,
    step: timedelta = timedelta(hours=1),
    label_every: int = 3,
) -> BarChart:
    """Stacked bars, one per ``step`` of time (``buckets`` oldest first, each ``{state: count}``).
    ``width`` 100 gives percentages: the page's SVG takes its card's width."""
    hours = len(buckets)
    slot = width / max(hours, 1)
    peak = max((sum(b.values()) for b in buckets), default=0)
    scale = plot_height / peak if peak else 0.0
    segments: list[Segment] = []
    totals: dict[str, int] = {}
    first_hour = now - step * hours
    labels: list[tuple[float, str]] = []
    for index, bucket in enumerate(buckets):
        x = index * slot + slot * 0.06
        top = float(plot_height)
        hour = first_hour + step * index
        order = [s for s in STATE_ORDER if s in bucket] + sorted(s for s in bucket if s not in STATE_ORDER)
        for state in order:
            count = bucket[state]
            totals[state] = totals.get(state, 0) + count
            h = count * scale
            top -= h
            day = "" if step < timedelta(hours=2) else f"{hour:%a} "
            title = f"{day}{hour:%H:%M}–{hour + step:%H:%M} UTC: {count} {state}"
            gap = slot * 0.12
            segments.append(
                Segment(round(x, 2), round(top, 1), round(slot - gap, 2), round(h, 1), state, title)
            )
        if index % label_every == 0:
            day = "" if step < timedelta(hours=2) else f"{hour:%a} "
            labels.append((round(x, 2), f"{day}{hour:%H:%M}"))
    ordered = {s: totals[s] for s in sorted(totals, key=lambda s: -totals[s])}
    return BarChart(tuple(segments), tuple(labels), ordered, peak, width, plot_height + 18, plot_height)
