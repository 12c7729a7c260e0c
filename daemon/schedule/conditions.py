"""Schedule conditions: which ticks of a Schedule (or ScheduleOnDates) trigger may fire (pure).

Kestra's date conditions test the tick date (``{{ trigger.date }}``, in the schedule's time zone): DayWeek,
DayWeekInMonth, Weekend, TimeBetween, DateTimeBetween, and Not / Or around them; a trigger's list of
conditions must all hold. A tick that fails them is skipped: the cursor moves past it and ``trigger.next`` /
``trigger.previous`` name the neighbouring ticks that pass, as Kestra documents ("trigger.previous and
trigger.next reflect the date with the conditions applied"). Backfills skip the same ticks.

Each condition's truth only changes at a few instants (local midnights, the TimeBetween times, the
DateTimeBetween bounds); ``next_change`` / ``previous_change`` return them so a search skips a whole failing
stretch (a weekend condition on a per-minute cron) instead of testing every tick. Around a DST change a wall
time maps to both of its readings and the change itself: the points are a superset of the true ones, which
only ever makes the search test more ticks, never skip a passing one.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from daemon.language.aliases import CONDITION_ALIASES, canonical

CONDITION = "io.kestra.plugin.core.condition."
EVALUATED: frozenset[str] = frozenset(
    CONDITION + name
    for name in ("DayWeek", "DayWeekInMonth", "Weekend", "TimeBetween", "DateTimeBetween", "Not", "Or")
)
DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")
IN_MONTH = ("FIRST", "SECOND", "THIRD", "FOURTH", "LAST")
SEARCH_LIMIT = 1_000  # candidate ticks tested before a schedule is taken to never pass its conditions again
_TICK = timedelta.resolution


class ConditionError(ValueError):
    """A schedule condition's properties are invalid (the validator reports the message)."""


@dataclass(frozen=True, slots=True)
class Leaf:
    """One date condition. ``kind`` is the condition's short name; unused fields are None."""

    kind: str
    day: int | None = None
    which: str | None = None
    after: Any = None  # time (TimeBetween) or aware datetime (DateTimeBetween)
    before: Any = None


@dataclass(frozen=True, slots=True)
class Group:
    """``all`` (a trigger's list), ``any`` (Or) or ``none`` (Not: no child holds)."""

    mode: str
    children: tuple[Leaf | Group, ...]


Node = Leaf | Group


@dataclass(frozen=True, slots=True)
class TickFilter:
    """A trigger's conditions, compiled for its time zone."""

    root: Group
    tz: str

    def allows(self, tick: datetime) -> bool:
        """Whether ``tick`` (aware) passes every condition."""
        return _holds(self.root, tick, ZoneInfo(self.tz))

    def next_change(self, tick: datetime) -> datetime | None:
        """An instant after ``tick`` up to which the answer of ``allows`` cannot change (None: never)."""
        return min(_points(self.root, tick, ZoneInfo(self.tz), forward=True), default=None)

    def previous_change(self, tick: datetime) -> datetime | None:
        """An instant at or before ``tick`` from which ``allows`` has kept its answer (None: always)."""
        return max(_points(self.root, tick, ZoneInfo(self.tz), forward=False), default=None)


def compile_conditions(raw: Iterable[Mapping[str, Any]], tz: str) -> TickFilter | None:
    """The filter for a trigger's conditions (raw mappings); None when there are none it evaluates.

    Conditions flowd does not evaluate are left out (the validator warns about each); ConditionError when
    one it evaluates has invalid properties."""
    children = tuple(node for node in (_compile(c) for c in raw) if node is not None)
    return TickFilter(Group("all", children), tz) if children else None


def condition_problem(raw: Mapping[str, Any]) -> str | None:
    """Why an evaluated condition's properties are invalid; None when they are fine."""
    try:
        _compile(raw)
    except ConditionError as exc:
        return str(exc)
    return None


def search_forward(
    after: Callable[[datetime], datetime | None], flt: TickFilter | None, moment: datetime
) -> datetime | None:
    """The first tick (``after`` gives the raw next tick) strictly after ``moment`` that ``flt`` allows."""
    tick = after(moment)
    if flt is None:
        return tick
    for _ in range(SEARCH_LIMIT):
        if tick is None or flt.allows(tick):
            return tick
        change = flt.next_change(tick)
        if change is None:
            return None
        tick = after(max(tick, change - _TICK))
    return None


def search_backward(
    before: Callable[[datetime], datetime | None], flt: TickFilter | None, moment: datetime
) -> datetime | None:
    """The last tick strictly before ``moment`` that ``flt`` allows."""
    tick = before(moment)
    if flt is None:
        return tick
    for _ in range(SEARCH_LIMIT):
        if tick is None or flt.allows(tick):
            return tick
        change = flt.previous_change(tick)
        if change is None:
            return None
        tick = before(min(tick, change))
    return None


# --- compiling -------------------------------------------------------------------------------------------


def _compile(raw: Mapping[str, Any]) -> Node | None:
    kind = canonical(str(raw.get("type", "")), CONDITION_ALIASES)
    if kind not in EVALUATED:
        return None
    name = kind.removeprefix(CONDITION)
    if name in ("Not", "Or"):
        inner = raw.get("conditions")
        if not isinstance(inner, list) or not inner:
            raise ConditionError(f"{name} needs a non-empty list of 'conditions'")
        children = tuple(n for n in (_compile(c) for c in inner if isinstance(c, Mapping)) if n is not None)
        return Group("none" if name == "Not" else "any", children)
    if name == "Weekend":
        return Leaf("Weekend")
    if name in ("DayWeek", "DayWeekInMonth"):
        day = _choice(raw, "dayOfWeek", DAYS, name)
        which = _choice(raw, "dayInMonth", IN_MONTH, name) if name == "DayWeekInMonth" else None
        return Leaf(name, day=DAYS.index(day), which=which)
    parse = _time if name == "TimeBetween" else _datetime
    after, before = (parse(raw.get(key), key, name) for key in ("after", "before"))
    return Leaf(name, after=after, before=before)


def _choice(raw: Mapping[str, Any], key: str, allowed: tuple[str, ...], name: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or value.upper() not in allowed:
        raise ConditionError(f"{name} needs '{key}', one of {', '.join(allowed)}; got {value!r}")
    return value.upper()


def _time(value: Any, key: str, name: str) -> time | None:
    if value is None:
        return None
    try:
        return time.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise ConditionError(f"{name} '{key}' must be an ISO-8601 time such as 16:00:00+02:00") from None


def _datetime(value: Any, key: str, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        raise ConditionError(
            f"{name} '{key}' must be an ISO-8601 date-time such as 2024-01-01T08:00:00Z"
        ) from None
    if moment.tzinfo is None:
        raise ConditionError(f"{name} '{key}' needs a zone (use 'Z' for UTC), as Kestra requires")
    return moment.astimezone(UTC)


# --- evaluating ------------------------------------------------------------------------------------------


def _holds(node: Node, tick: datetime, zone: ZoneInfo) -> bool:
    if isinstance(node, Group):
        results = (_holds(child, tick, zone) for child in node.children)
        if node.mode == "all":
            return all(results)
        if node.mode == "any":
            return any(results)
        return not any(results)
    local = tick.astimezone(zone)
    if node.kind == "Weekend":
        return local.weekday() >= 5
    if node.kind == "DayWeek":
        return local.weekday() == node.day
    if node.kind == "DayWeekInMonth":
        return local.weekday() == node.day and _in_month(local.date(), node.which)
    if node.kind == "TimeBetween":
        now = _in_frame(tick, node, zone).time().replace(tzinfo=None)
        after = node.after.replace(tzinfo=None) if node.after is not None else None
        before = node.before.replace(tzinfo=None) if node.before is not None else None
        return (after is None or now > after) and (before is None or now < before)
    return (node.after is None or tick > node.after) and (node.before is None or tick < node.before)


def _in_month(day: date, which: str | None) -> bool:
    if which == "LAST":
        return day.day + 7 > calendar.monthrange(day.year, day.month)[1]
    return (day.day - 1) // 7 == IN_MONTH.index(which or "FIRST")


def _in_frame(tick: datetime, node: Leaf, zone: ZoneInfo) -> datetime:
    # a TimeBetween bound with an offset compares in that offset; without one, on the schedule's wall clock
    bound = node.after if node.after is not None else node.before
    offset = bound.tzinfo if bound is not None and bound.tzinfo is not None else None
    return tick.astimezone(offset or zone)


# --- change points ---------------------------------------------------------------------------------------


def _points(node: Node, tick: datetime, zone: ZoneInfo, *, forward: bool) -> list[datetime]:
    """Change points after ``tick`` (forward) or at/before it (backward); a superset of the true ones."""
    if isinstance(node, Group):
        return [p for child in node.children for p in _points(child, tick, zone, forward=forward)]
    if node.kind == "DateTimeBetween":
        exact = [b for b in (node.after + _TICK if node.after else None, node.before) if b is not None]
        return [b for b in exact if (b > tick if forward else b <= tick)]
    frame: tzinfo = zone
    wall = [time(0)]
    if node.kind == "TimeBetween":
        bound = node.after if node.after is not None else node.before
        frame = bound.tzinfo if bound is not None and bound.tzinfo is not None else zone
        wall += [w for w in (_plus_tick(node.after), _naive(node.before)) if w is not None]
    today = tick.astimezone(frame).date()
    days = (today, today + timedelta(days=1)) if forward else (today - timedelta(days=1), today)
    out = [p for day in days for moment in wall for p in _instants(datetime.combine(day, moment), frame)]
    return [p for p in out if (p > tick if forward else p <= tick)]


def _instants(local: datetime, frame: tzinfo) -> list[datetime]:
    """The instants at which a wall clock in ``frame`` crosses ``local``: one, or around a DST change both
    readings of an ambiguous or skipped wall time and the change itself (the clock jumps across it there)."""
    early = local.replace(tzinfo=frame, fold=0).astimezone(UTC)
    late = local.replace(tzinfo=frame, fold=1).astimezone(UTC)
    if early == late:
        return [early]
    low, high = min(early, late), max(early, late)
    return [early, late, _shift(frame, low, high)]


def _shift(frame: tzinfo, low: datetime, high: datetime) -> datetime:
    """The instant in (low, high] at which ``frame``'s UTC offset changes (bisection to the microsecond: a
    tick exactly at the change must be tested)."""
    target = high.astimezone(frame).utcoffset()
    while high - low > _TICK:
        middle = low + (high - low) / 2
        if middle.astimezone(frame).utcoffset() == target:
            high = middle
        else:
            low = middle
    return high


def _naive(value: time | None) -> time | None:
    return value.replace(tzinfo=None) if value is not None else None


def _plus_tick(value: time | None) -> time | None:
    if value is None:
        return None
    moment = datetime.combine(date(2000, 1, 1), value.replace(tzinfo=None)) + _TICK
    return moment.time()
