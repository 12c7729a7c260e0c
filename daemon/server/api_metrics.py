"""``GET /metrics``: the daemon's counters (``Services.metrics()``) in Prometheus' text exposition format.

Pure rendering: ``render_metrics(snapshot)`` turns the snapshot of ``daemon.server.counters.Counters`` into
text, one line per sample. Distributions become summaries (``_count``, ``_sum``, the median of recent
samples as ``quantile="0.5"``) plus a ``_max`` gauge.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse

from daemon.server.api_auth import require_token

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "flowd_"


def _number(value: Any) -> str:
    number = float(value or 0)
    if math.isnan(number):
        return "NaN"
    if math.isinf(number):
        return "+Inf" if number > 0 else "-Inf"
    return str(int(number)) if number.is_integer() else repr(number)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in labels.items()) + "}"


class _Text:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.lines.append(f"# HELP {PREFIX}{name} {help_text}")
        self.lines.append(f"# TYPE {PREFIX}{name} {kind}")

    def sample(self, name: str, value: Any, labels: Mapping[str, str] | None = None) -> None:
        self.lines.append(f"{PREFIX}{name}{_labels(labels or {})} {_number(value)}")

    def counter(self, name: str, help_text: str, values: Mapping[str, Any], label: str) -> None:
        self.family(name, "counter", help_text)
        for key in sorted(values):
            self.sample(name, values[key], {label: key})

    def summary(self, name: str, help_text: str, dist: Mapping[str, Any]) -> None:
        self.family(name, "summary", help_text)
        if dist.get("count"):
            self.sample(name, dist.get("median", 0), {"quantile": "0.5"})
        self.sample(name + "_sum", dist.get("sum", 0))
        self.sample(name + "_count", dist.get("count", 0))
        self.family(name + "_max", "gauge", f"largest sample of {PREFIX}{name}")
        self.sample(name + "_max", dist.get("max", 0))


def render_metrics(snapshot: Mapping[str, Any], *, store_up: bool | None = None) -> str:
    """The Prometheus text of a ``Counters.snapshot()`` (missing parts render as zero)."""
    executions = snapshot.get("executions", {})
    tasks = snapshot.get("tasks", {})
    syncs = snapshot.get("syncs", {})
    scheduler = snapshot.get("scheduler", {})
    out = _Text()
    out.counter(
        "executions_created_total",
        "Executions created, by trigger kind.",
        executions.get("created", {}),
        "trigger",
    )
    out.counter(
        "executions_ended_total", "Executions ended, by terminal state.", executions.get("ended", {}), "state"
    )
    out.family("executions", "gauge", "Executions in the store, by current state.")
    for state, count in sorted(executions.get("by_state", {}).items()):
        out.sample("executions", count, {"state": state})
    out.summary("task_duration_seconds", "Duration of task attempts.", tasks.get("duration_seconds", {}))
    out.counter("syncs_total", "Syncs run, by result.", syncs.get("results", {}), "result")
    out.summary("sync_duration_seconds", "Duration of syncs.", syncs.get("duration_seconds", {}))
    out.family("schedule_ticks_fired_total", "counter", "Schedule ticks that started an execution.")
    out.sample("schedule_ticks_fired_total", scheduler.get("ticks_fired", 0))
    out.family("schedule_ticks_skipped_total", "counter", "Missed schedule ticks dropped by their policy.")
    out.sample("schedule_ticks_skipped_total", scheduler.get("ticks_skipped", 0))
    out.summary(
        "schedule_lateness_seconds",
        "How late on-time schedule ticks fired.",
        scheduler.get("lateness_seconds", {}),
    )
    if store_up is not None:
        out.family("store_up", "gauge", "1 when the database answered the last health check.")
        out.sample("store_up", 1 if store_up else 0)
    return "\n".join(out.lines) + "\n"


router = APIRouter(tags=["metrics"], dependencies=[Depends(require_token)])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text exposition format"}},
)
def metrics(request: Request) -> PlainTextResponse:
    """Counters of executions, tasks, syncs and the scheduler since the daemon started."""
    snapshot = request.app.state.services.metrics()
    return PlainTextResponse(render_metrics(snapshot), media_type=CONTENT_TYPE)
