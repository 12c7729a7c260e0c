"""Backfill: one execution per schedule tick in [start, end), each tick recorded under the scheduler's unique
key, so a repeated backfill (or one over ticks the scheduler fired) creates nothing new. Shared by
``flowd backfill`` and the UI's Triggers page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from daemon.language.model import Flow, ScheduleOnDatesTrigger, ScheduleTrigger
from daemon.schedule.cursor import Schedule, schedule_of, trigger_variables
from daemon.schedule.firing import ExecutionFactory, Tick, create_triggered
from daemon.schedule.ticks import ticks_between
from daemon.store import DeployedFlow, Store


def backfill_ticks(
    namespace: str,
    flow_id: str,
    trigger: ScheduleTrigger | ScheduleOnDatesTrigger,
    begin: datetime,
    finish: datetime,
) -> tuple[Schedule, list[datetime]]:
    """The trigger's schedule and its ticks in [begin, finish) that its conditions allow (as Kestra, a
    backfill skips what the conditions reject)."""
    schedule = schedule_of(namespace, flow_id, trigger)
    if schedule.spec is not None:
        ticks = list(ticks_between(schedule.spec, schedule.tz, begin, finish))
    else:
        ticks = [d for d in schedule.dates if begin <= d < finish]
    return schedule, [t for t in ticks if schedule.allows(t)]


def create_backfill(
    store: Store,
    executor: ExecutionFactory,
    record: DeployedFlow,
    flow: Flow,
    trigger: ScheduleTrigger | ScheduleOnDatesTrigger,
    schedule: Schedule,
    ticks: list[datetime],
    *,
    now: Callable[[], datetime],
    own: bool,
) -> list[tuple[str, datetime]]:
    """Create the executions of ``ticks`` not recorded before (the cursor is left alone); their ids, each
    with its tick."""
    created: list[tuple[str, datetime]] = []
    for tick in ticks:
        execution_id = create_triggered(
            store, executor, record, flow, trigger, trigger_variables(schedule, tick),
            now=now(), tick=Tick(tick, advance=False), own=own,
        )  # fmt: skip
        if execution_id is not None:
            created.append((execution_id, tick))
    return created
