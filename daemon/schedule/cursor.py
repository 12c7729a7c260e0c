"""Schedule decisions, pure: where a trigger's cursor starts, which ticks fire now, what ``trigger`` holds.

A Schedule (or ScheduleOnDates) trigger's durable state is its *cursor*: ``next_date`` in its trigger state
row, the earliest tick not yet fired nor skipped. The reconciler sets it to NULL when the trigger is new or
its definition changed; the scheduler then starts it at the first tick at or after the moment of that change
(``first_cursor``), so a schedule never fires for times before it existed. Each loop, ``decide`` turns the
cursor and the time into ticks to fire (``recoverMissedSchedules`` applied to ticks older than the grace
window, ``lateMaximumDelay`` dropping ticks fired too late) and the cursor's next position.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from itertools import takewhile
from typing import Any
from zoneinfo import ZoneInfo

from daemon.engine.states import iso
from daemon.language.model import ScheduleOnDatesTrigger, ScheduleTrigger
from daemon.schedule.conditions import TickFilter, compile_conditions, search_backward, search_forward
from daemon.schedule.ticks import (
    DEFAULT_GRACE,
    CronSpec,
    RecoverPolicy,
    due_ticks,
    next_tick,
    parse_cron,
    previous_tick,
)

SCHEDULE_TYPES = (ScheduleTrigger, ScheduleOnDatesTrigger)
DEFAULT_BATCH = 100  # ticks decided per call: a long catch-up is fired in slices, the cursor saved after each
# Tick arithmetic is pure and costs a croniter build (~0.3 ms); many schedules share a cron and fire at the
# same instants, so a tick computed for one serves the others (and the next reload).
TICK_CACHE = 8192


@dataclass(frozen=True, slots=True)
class Schedule:
    """One deployed schedule trigger, ready for decisions: a cron spec, or fixed dates (UTC, sorted)."""

    namespace: str
    flow_id: str
    trigger_id: str
    tz: str
    policy: RecoverPolicy
    spec: CronSpec | None = None
    dates: tuple[datetime, ...] = ()
    late_max: timedelta | None = None
    # the trigger's date conditions: ticks they reject are skipped (None: every tick fires)
    conditions: TickFilter | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.namespace, self.flow_id, self.trigger_id)

    def after(self, moment: datetime) -> datetime | None:
        """The first tick strictly after ``moment`` that passes the conditions."""
        return search_forward(self._raw_after, self.conditions, moment)

    def before(self, moment: datetime) -> datetime | None:
        """The last tick strictly before ``moment`` that passes the conditions."""
        return search_backward(self._raw_before, self.conditions, moment)

    def allows(self, tick: datetime) -> bool:
        """Whether the conditions let ``tick`` fire."""
        return self.conditions is None or self.conditions.allows(tick)

    def _raw_after(self, moment: datetime) -> datetime | None:
        if self.spec is not None:
            return _next_tick(self.spec, self.tz, moment)
        return next((d for d in self.dates if d > moment), None)

    def _raw_before(self, moment: datetime) -> datetime | None:
        if self.spec is not None:
            return _previous_tick(self.spec, self.tz, moment)
        return next((d for d in reversed(self.dates) if d < moment), None)


@lru_cache(maxsize=TICK_CACHE)
def _next_tick(spec: CronSpec, tz: str, moment: datetime) -> datetime:
    return next_tick(spec, tz, moment)


@lru_cache(maxsize=TICK_CACHE)
def _previous_tick(spec: CronSpec, tz: str, moment: datetime) -> datetime:
    return previous_tick(spec, tz, moment)


@lru_cache(maxsize=TICK_CACHE)
def _parse(expr: str, with_seconds: bool) -> CronSpec:
    return parse_cron(expr, with_seconds=with_seconds)


@dataclass(frozen=True, slots=True)
class Decision:
    """Ticks to fire now (oldest first), how many candidates were dropped, and the cursor afterwards."""

    fire: list[datetime]
    skipped: int
    cursor: datetime | None


def schedule_of(namespace: str, flow_id: str, trigger: ScheduleTrigger | ScheduleOnDatesTrigger) -> Schedule:
    """The decision view of a trigger; CronError for a bad cron or time zone (validation catches both)."""
    policy: RecoverPolicy = trigger.recoverMissedSchedules
    conditions = _conditions(trigger)
    if isinstance(trigger, ScheduleTrigger):
        spec = _parse(trigger.cron, trigger.withSeconds)
        late = trigger.lateMaximumDelay
        return Schedule(
            namespace, flow_id, trigger.id, trigger.timezone, policy, spec=spec, late_max=late,
            conditions=conditions,
        )  # fmt: skip
    zone = ZoneInfo(trigger.timezone)
    dates = sorted({(d if d.tzinfo else d.replace(tzinfo=zone)).astimezone(UTC) for d in trigger.dates})
    return Schedule(
        namespace, flow_id, trigger.id, trigger.timezone, policy, dates=tuple(dates), conditions=conditions
    )


def _conditions(trigger: ScheduleTrigger | ScheduleOnDatesTrigger) -> TickFilter | None:
    """The trigger's evaluated conditions (``scheduleConditions``, their pre-0.15 name, too); conditions
    with invalid properties are left out (validation rejects them, so a deployed flow has none)."""
    raw = [*trigger.conditions, *getattr(trigger, "scheduleConditions", [])]
    dumped = [c.model_dump(by_alias=True, exclude_none=True) for c in raw]
    try:
        return compile_conditions(dumped, trigger.timezone)
    except ValueError:
        return None


def first_cursor(schedule: Schedule, *, since: datetime, last_date: datetime | None) -> datetime | None:
    """Where a new (or redefined) trigger's cursor starts: its first tick at or after ``since`` and after
    the last tick it fired (so a redefinition never fires an instant twice)."""
    start = since - timedelta.resolution
    if last_date is not None and last_date > start:
        start = last_date
    return schedule.after(start)


def decide(
    schedule: Schedule,
    cursor: datetime | None,
    now: datetime,
    *,
    grace: timedelta = DEFAULT_GRACE,
    limit: int = DEFAULT_BATCH,
) -> Decision:
    """The ticks in [cursor, now] to fire, after the recovery policy (ticks older than ``grace`` are missed:
    ALL fires them, LAST the latest, NONE none) and ``lateMaximumDelay``; and the new cursor."""
    if cursor is None or cursor > now:
        return Decision([], 0, cursor)
    if schedule.spec is not None:
        ticks = due_ticks(
            schedule.spec, schedule.tz, cursor - timedelta.resolution, now, schedule.policy, None,
            grace=grace, limit=limit,
        )  # fmt: skip
    else:
        ticks = _due_dates(schedule, cursor, now, grace)[:limit]
    more = len(ticks) >= limit  # a slice of a longer catch-up: resume right after the last one
    ticks_passing = [t for t in ticks if schedule.allows(t)]  # a tick its conditions reject is skipped
    late = [t for t in ticks_passing if schedule.late_max is not None and now - t > schedule.late_max]
    fire = [t for t in ticks_passing if t not in late]
    next_cursor = schedule.after(ticks[-1]) if more else schedule.after(now)
    return Decision(fire, len(late), next_cursor)


def _due_dates(schedule: Schedule, cursor: datetime, now: datetime, grace: timedelta) -> list[datetime]:
    candidates = list(takewhile(lambda d: d <= now, (d for d in schedule.dates if d >= cursor)))
    missed = [d for d in candidates if d < now - grace]
    on_time = [d for d in candidates if d >= now - grace]
    if schedule.policy == "LAST":
        missed = missed[-1:]
    elif schedule.policy == "NONE":
        missed = []
    return missed + on_time


def trigger_variables(schedule: Schedule, tick: datetime) -> dict[str, Any]:
    """``trigger.date``, ``trigger.next``, ``trigger.previous``: ISO-8601 in the trigger's time zone."""
    zone = ZoneInfo(schedule.tz)

    def text(moment: datetime | None) -> str | None:
        return iso(moment.astimezone(zone)) if moment is not None else None

    return {"date": text(tick), "next": text(schedule.after(tick)), "previous": text(schedule.before(tick))}
