"""Date functions and filters: ``now()``, ``date``, ``dateAdd``, ``timestamp*``.

Values accepted as dates: ``datetime`` (naive means UTC, or the ``timeZone`` argument when given), ``date``,
ISO-8601 strings (``2024-01-15``, ``2024-01-15T10:00:00Z``, with offset or not) and epoch numbers: seconds,
or milliseconds when the absolute value is above 10^11 (later than year 5138 read as seconds).
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import pass_context
from jinja2.runtime import Context

from daemon.clock import SystemClock
from daemon.expressions.errors import ExpressionError
from daemon.expressions.javadate import format_java, parse_java

NOW_KEY = "__now__"
_MILLIS_THRESHOLD = 10**11

# Named formats accepted by the date filter besides Java patterns.
_NAMED = {
    "iso_date": "yyyy-MM-ddXXX",
    "iso_local_date": "yyyy-MM-dd",
    "iso_time": "HH:mm:ss.SSSXXX",
    "iso_local_time": "HH:mm:ss",
    "iso_local_date_time": "yyyy-MM-dd'T'HH:mm:ss",
    "iso_sec": "yyyy-MM-dd'T'HH:mm:ssXXX",
    "sql": "yyyy-MM-dd HH:mm:ss.SSS",
    "rfc_1123_date_time": "EEE, d MMM yyyy HH:mm:ss 'GMT'",
    "iso_week_date": "YYYY-'W'ww-eXXX",
}
_ISO_NAMES = {"iso", "iso8601", "iso_date_time", "iso_offset_date_time", "iso_zoned_date_time", "iso_instant"}


def zone(name: str | None) -> tzinfo | None:
    """A ``timeZone`` argument as a tzinfo (None when not given)."""
    if name is None:
        return None
    if name.upper() in ("UTC", "Z", "GMT"):
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ExpressionError(f"unknown time zone {name!r}") from exc


def to_datetime(value: Any, tz: tzinfo | None = None, existing_format: str | None = None) -> datetime:
    """Coerce a date-like value to an aware datetime (see the module docstring for accepted inputs)."""
    default_zone = tz or UTC
    if isinstance(value, datetime):
        result = value if value.tzinfo else value.replace(tzinfo=default_zone)
    elif isinstance(value, date):
        result = datetime(value.year, value.month, value.day, tzinfo=default_zone)
    elif isinstance(value, bool):
        raise ExpressionError(f"cannot read a date from the boolean {value!r}")
    elif isinstance(value, int | float):
        seconds = value / 1000 if abs(value) > _MILLIS_THRESHOLD else value
        result = datetime.fromtimestamp(seconds, UTC)
    elif isinstance(value, str):
        text = value.strip()
        if existing_format:
            result = parse_java(text, existing_format, default_zone)
        elif text.lstrip("-").isdigit():
            return to_datetime(int(text), tz)
        else:
            try:
                parsed = datetime.fromisoformat(text)
            except ValueError as exc:
                raise ExpressionError(f"cannot read a date from {value!r}: {exc}") from exc
            result = parsed if parsed.tzinfo else parsed.replace(tzinfo=default_zone)
    else:
        raise ExpressionError(f"cannot read a date from a value of type {type(value).__name__}")
    return result.astimezone(tz) if tz else result


def iso(dt: datetime) -> str:
    """ISO-8601 as java.time prints it: fraction in groups of 3 digits, ``Z`` for UTC."""
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        fraction = f"{dt.microsecond:06d}"
        text += "." + (fraction[:3] if fraction.endswith("000") else fraction)
    offset = dt.utcoffset()
    if offset is None:
        return text
    if not offset:
        return text + "Z"
    return text + format_java(dt, "XXX")


def clock_now(context: Mapping[str, Any] | Context) -> datetime:
    """The current time: ``__now__`` from the context (datetime, clock or callable), else the system clock."""
    source = context.get(NOW_KEY)
    if source is None:
        now = SystemClock().now()
    elif isinstance(source, datetime):
        now = source
    elif hasattr(source, "now"):
        now = source.now()
    elif callable(source):
        now = source()
    else:
        raise ExpressionError(f"{NOW_KEY} in the context must be a datetime or a clock")
    return now if now.tzinfo else now.replace(tzinfo=UTC)


@pass_context
def now_function(context: Context, timeZone: str | None = None) -> datetime:
    """``now(timeZone=None)``: the current time as an aware datetime."""
    now = clock_now(context)
    tz = zone(timeZone)
    return now.astimezone(tz) if tz else now


def date_filter(
    value: Any,
    format: str | None = None,
    existingFormat: str | None = None,
    timeZone: str | None = None,
    locale: str | None = None,
) -> str:
    """``value | date(format, existingFormat=, timeZone=)``: format with a Java pattern or a named format.

    With ``timeZone`` an aware date is converted to that zone and a zoneless one is read in it.
    ``locale`` is accepted and ignored (English names only).
    """
    dt = to_datetime(value, zone(timeZone), existingFormat)
    if format is None or format.lower() in _ISO_NAMES:
        return iso(dt)
    named = _NAMED.get(format.lower())
    return format_java(dt, named or format)


def date_function(
    value: Any,
    existingFormat: str | None = None,
    timeZone: str | None = None,
) -> datetime:
    """``date(value, existingFormat=None, timeZone=None)``: parse a value into a datetime."""
    return to_datetime(value, zone(timeZone), existingFormat)


_FIXED_UNITS = {
    "MICROS": timedelta(microseconds=1),
    "MILLIS": timedelta(milliseconds=1),
    "SECONDS": timedelta(seconds=1),
    "MINUTES": timedelta(minutes=1),
    "HOURS": timedelta(hours=1),
    "HALF_DAYS": timedelta(hours=12),
    "DAYS": timedelta(days=1),
    "WEEKS": timedelta(weeks=1),
}
_MONTH_UNITS = {"MONTHS": 1, "YEARS": 12, "DECADES": 120, "CENTURIES": 1200, "MILLENNIA": 12000}


def date_add(
    value: Any,
    amount: int,
    unit: str,
    existingFormat: str | None = None,
    timeZone: str | None = None,
) -> datetime:
    """``value | dateAdd(amount, unit)``: add an amount of a Java ``ChronoUnit`` (``DAYS``, ``MONTHS``...).

    Months and years keep the day of month, clamped to the month's last day (Jan 31 + 1 month = Feb 28/29).
    Days are calendar days in the value's zone.
    """
    dt = to_datetime(value, zone(timeZone), existingFormat)
    key = str(unit).upper()
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise ExpressionError(f"dateAdd: amount must be an integer, got {amount!r}")
    if key == "NANOS":  # datetime holds microseconds: round to the nearest one
        return dt + timedelta(microseconds=round(amount / 1000))
    if key in _FIXED_UNITS:
        if key in ("DAYS", "WEEKS"):
            # Calendar arithmetic in the local zone, so a DST change keeps the wall-clock time.
            local = dt.replace(tzinfo=None) + _FIXED_UNITS[key] * amount
            return local.replace(tzinfo=dt.tzinfo)
        return (dt.astimezone(UTC) + _FIXED_UNITS[key] * amount).astimezone(dt.tzinfo)
    if key in _MONTH_UNITS:
        months = dt.year * 12 + dt.month - 1 + amount * _MONTH_UNITS[key]
        year, month = divmod(months, 12)
        day = min(dt.day, calendar.monthrange(year, month + 1)[1])
        return dt.replace(year=year, month=month + 1, day=day)
    raise ExpressionError(f"dateAdd: unknown unit {unit!r} (use DAYS, HOURS, MINUTES, MONTHS, ...)")


def _epoch(value: Any, timeZone: str | None, existingFormat: str | None, scale: int) -> int:
    dt = to_datetime(value, zone(timeZone), existingFormat)
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    micros = (delta.days * 86400 + delta.seconds) * 10**6 + delta.microseconds
    return micros * scale // 10**6


def timestamp(value: Any, existingFormat: str | None = None, timeZone: str | None = None) -> int:
    """``value | timestamp``: epoch seconds."""
    return _epoch(value, timeZone, existingFormat, 1)


def timestamp_milli(value: Any, existingFormat: str | None = None, timeZone: str | None = None) -> int:
    """``value | timestampMilli``: epoch milliseconds."""
    return _epoch(value, timeZone, existingFormat, 10**3)


def timestamp_micro(value: Any, existingFormat: str | None = None, timeZone: str | None = None) -> int:
    """``value | timestampMicro``: epoch microseconds."""
    return _epoch(value, timeZone, existingFormat, 10**6)


def timestamp_nano(value: Any, existingFormat: str | None = None, timeZone: str | None = None) -> int:
    """``value | timestampNano``: epoch nanoseconds."""
    return _epoch(value, timeZone, existingFormat, 10**9)


FILTERS = {
    "date": date_filter,
    "dateAdd": date_add,
    "timestamp": timestamp,
    "timestampMilli": timestamp_milli,
    "timestampMicro": timestamp_micro,
    "timestampNano": timestamp_nano,
}
FUNCTIONS = {"now": now_function, "date": date_function}
