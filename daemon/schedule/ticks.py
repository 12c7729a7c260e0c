"""Cron ticks: which instants a Schedule trigger fires at (pure; ``now`` is always an argument).

Schedules are evaluated on the wall clock of the trigger's time zone; croniter only ever sees naive local
times (plain calendar arithmetic), and this module maps each local tick to real instants itself, because
croniter's own time-zone handling has had DST bugs. The rules, as classic cron (Vixie cron, cronie) does:

- **Spring forward** (a local time that does not exist): a tick in the skipped hour fires once, at the
  instant of the change (``0 2 * * *`` Europe/Berlin fires at 03:00 CEST that day; ``30 2 * * *`` too).
  Several skipped ticks (``*/15 * * * *``) collapse into that one instant.
- **Fall back** (a local time that happens twice): a *fixed-time* schedule (minute and hour fields both
  without a leading ``*``) fires only at the first occurrence, so ``0 1 * * *`` America/New_York fires
  once. A *wildcard* schedule (minute or hour field starting with ``*``, e.g. ``@hourly``, ``*/15 * * * *``)
  fires at both occurrences: every real hour or quarter gets its tick once.

Every datetime in and out is timezone-aware; results are in UTC.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import takewhile
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadDateError, CroniterError, croniter

from daemon.errors import FlowdError

RecoverPolicy = Literal["ALL", "LAST", "NONE"]

DEFAULT_GRACE = timedelta(seconds=60)
NICKNAMES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
# Longest stretch over which a zone's offset can swing back (a fall-back repeats at most this much wall time).
_FOLD_SPAN = timedelta(hours=3)
_SECOND = timedelta(seconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIELD_NAMES = "minute hour day-of-month month day-of-week"


class CronError(FlowdError):
    """A cron expression or time zone is invalid."""

    exit_code = 1


@dataclass(frozen=True, slots=True)
class CronSpec:
    """A parsed cron expression: ``fields`` has 5 entries, or 6 with seconds first when ``with_seconds``."""

    expr: str
    fields: tuple[str, ...]
    with_seconds: bool

    @property
    def wildcard(self) -> bool:
        """True when the minute or hour field starts with ``*`` (fires twice across a fall-back)."""
        minute, hour = self.fields[1:3] if self.with_seconds else self.fields[0:2]
        return minute.startswith("*") or hour.startswith("*")

    def iterator(self, start: datetime) -> croniter:
        """A croniter over naive local times from ``start`` (exclusive)."""
        expression = " ".join(self.fields)
        return croniter(expression, start, second_at_beginning=self.with_seconds)


def parse_cron(expr: str, *, with_seconds: bool = False) -> CronSpec:
    """Parse a cron expression (5 fields; 6 with seconds first when ``with_seconds``; or a nickname).

    Raises ``CronError`` with a readable message. Jenkins-style ``H`` and random ``R`` are refused because a
    schedule must be deterministic.
    """
    text = " ".join(expr.split())
    if not text:
        raise CronError("cron expression is empty")
    if text.startswith("@"):
        expanded = NICKNAMES.get(text.lower())
        if expanded is None:
            raise CronError(f"unknown cron nickname '{text}' (use one of {', '.join(NICKNAMES)})")
        fields = tuple((["0"] if with_seconds else []) + expanded.split())
    else:
        fields = tuple(text.split(" "))
        expected = 6 if with_seconds else 5
        if len(fields) != expected:
            names = ("second " if with_seconds else "") + _FIELD_NAMES
            hint = "; set withSeconds: true for a seconds field" if len(fields) == 6 > expected else ""
            raise CronError(
                f"cron expression '{text}' has {len(fields)} fields, expected {expected} ({names}){hint}"
            )
        for field in fields:
            for part in field.split(","):
                if part[:1].upper() in ("H", "R") and (len(part) == 1 or part[1] in "(/"):
                    raise CronError(f"cron expression '{text}': '{part}' (hashed or random) is not supported")
    spec = CronSpec(expr=text, fields=fields, with_seconds=with_seconds)
    try:
        spec.iterator(datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        raise CronError(f"cron expression '{text}' never matches a date") from None
    except (CroniterError, ValueError, KeyError, IndexError) as exc:
        raise CronError(f"invalid cron expression '{text}': {exc}") from None
    return spec


def validate_timezone(name: str) -> str | None:
    """None when ``name`` is a known IANA time zone, else the error text."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError, TypeError):
        return f"unknown time zone '{name}' (use an IANA name such as 'Europe/Berlin' or 'UTC')"
    return None


def next_tick(spec: CronSpec, tz: str, after: datetime) -> datetime:
    """The first tick strictly after ``after``."""
    return next(_forward(spec, _zone(tz), _utc(after)))


def previous_tick(spec: CronSpec, tz: str, before: datetime) -> datetime:
    """The last tick strictly before ``before``."""
    return next(_backward(spec, _zone(tz), _utc(before)))


def ticks_between(spec: CronSpec, tz: str, start: datetime, end: datetime) -> Iterator[datetime]:
    """Ticks in the half-open interval [start, end), in order: adjacent backfill windows never share one."""
    end = _utc(end)
    return takewhile(lambda tick: tick < end, _forward(spec, _zone(tz), _utc(start) - timedelta.resolution))


def due_ticks(
    spec: CronSpec,
    tz: str,
    last_tick: datetime | None,
    now: datetime,
    policy: RecoverPolicy,
    first_start: datetime | None,
    *,
    grace: timedelta = DEFAULT_GRACE,
    limit: int | None = None,
) -> list[datetime]:
    """The ticks to fire now, oldest first.

    Candidates are ticks after ``last_tick`` (exclusive; the last one fired) up to ``now`` (inclusive). When
    nothing was fired yet (or ``last_tick`` predates ``first_start``, e.g. a re-enabled trigger), they start
    at ``first_start`` (inclusive), and with neither, only the grace window counts. A candidate no older than
    ``grace`` is *on time* and always fires; older ones are *missed* (downtime) and follow
    ``recoverMissedSchedules``: ALL fires every missed tick, LAST only the most recent missed one, NONE none.
    ``limit`` caps the list (the earliest ticks); the caller records the last one and calls again.
    """
    now = _utc(now)
    cut = now - grace
    if last_tick is not None and (first_start is None or _utc(last_tick) >= _utc(first_start)):
        after = _utc(last_tick)
    elif first_start is not None:
        after = _utc(first_start) - timedelta.resolution
    else:
        after = cut - timedelta.resolution
    zone = _zone(tz)
    missed: list[datetime] = []
    if after < cut and policy == "ALL":
        missed = list(takewhile(lambda t: t < cut, _capped(_forward(spec, zone, after), limit)))
    elif after < cut and policy == "LAST":
        latest = next(_backward(spec, zone, cut), None)
        missed = [latest] if latest is not None and latest > after else []
    on_time = takewhile(lambda t: t <= now, _forward(spec, zone, max(after, cut - timedelta.resolution)))
    return missed + list(_capped(on_time, None if limit is None else limit - len(missed)))


def _capped(ticks: Iterator[datetime], limit: int | None) -> Iterator[datetime]:
    if limit is None:
        yield from ticks
        return
    for index, tick in enumerate(ticks):
        if index >= limit:
            return
        yield tick


def _zone(tz: str) -> ZoneInfo:
    error = validate_timezone(tz)
    if error:
        raise CronError(error)
    return ZoneInfo(tz)


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"datetime {moment.isoformat()} must be timezone-aware")
    return moment.astimezone(UTC)


def _offset(zone: ZoneInfo, moment: datetime) -> timedelta:
    offset = moment.astimezone(zone).utcoffset()
    assert offset is not None
    return offset


def _instants(zone: ZoneInfo, local: datetime) -> tuple[datetime, datetime | None]:
    """The real instants of naive wall time ``local``: (first, second occurrence or None).

    A wall time inside a spring-forward gap maps to the instant of the change.
    """
    early = local.replace(tzinfo=zone, fold=0).utcoffset()
    late = local.replace(tzinfo=zone, fold=1).utcoffset()
    assert early is not None and late is not None
    if early == late:
        return (local - early).replace(tzinfo=UTC), None
    if early > late:  # ambiguous: the clock went back, this wall time happens twice
        return (local - early).replace(tzinfo=UTC), (local - late).replace(tzinfo=UTC)
    return _transition(zone, (local - late).replace(tzinfo=UTC), (local - early).replace(tzinfo=UTC)), None


def _transition(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The instant of the offset change in (before, after], to the second (bisection)."""
    target = _offset(zone, after)
    while after - before > _SECOND:
        middle = before + ((after - before) // 2 // _SECOND) * _SECOND
        if middle <= before:
            middle = before + _SECOND
        if _offset(zone, middle) == target:
            after = middle
        else:
            before = middle
    return after


def _forward(spec: CronSpec, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """Fire instants strictly after ``after``, increasing, without duplicates."""
    # Start early enough to see both passes of a fall-back that begins within _FOLD_SPAN of ``after``.
    offset = min(_offset(zone, after), _offset(zone, after + _FOLD_SPAN))
    ticks = spec.iterator((after + offset).replace(tzinfo=None) - _SECOND)
    pending: list[datetime] = []
    last = after
    while True:
        try:
            local = ticks.get_next(datetime)
        except CroniterBadDateError:
            return
        first, second = _instants(zone, local)
        heapq.heappush(pending, first)
        if second is not None and spec.wildcard:
            heapq.heappush(pending, second)
        # First occurrences are non-decreasing in local time, so nothing later can undercut ``first``.
        while pending and pending[0] <= first:
            tick = heapq.heappop(pending)
            if tick > last:
                last = tick
                yield tick


def _backward(spec: CronSpec, zone: ZoneInfo, before: datetime) -> Iterator[datetime]:
    """Fire instants strictly before ``before``, decreasing, without duplicates."""
    offset = max(_offset(zone, before), _offset(zone, before - _FOLD_SPAN))
    ticks = spec.iterator((before + offset).replace(tzinfo=None) + _SECOND)
    pending: list[timedelta] = []  # a max-heap of instants, stored as (epoch - instant)
    last = before
    while True:
        try:
            local = ticks.get_prev(datetime)
        except CroniterBadDateError:
            return
        first, second = _instants(zone, local)
        heapq.heappush(pending, _EPOCH - first)
        if second is not None and spec.wildcard:
            heapq.heappush(pending, _EPOCH - second)
        # Last occurrences are non-decreasing in local time: nothing earlier can exceed this bound.
        bound = second if second is not None else first
        while pending and _EPOCH - pending[0] >= bound:
            tick = _EPOCH - heapq.heappop(pending)
            if tick < last:
                last = tick
                yield tick
