"""Java ``DateTimeFormatter`` patterns (``yyyy-MM-dd'T'HH:mm:ss.SSSXXX``): formatting and parsing.

Letters follow java.time with an English locale: ``G y u Y D M L d Q q w W E e c F a h K k H m s S A n N
V z O X x Z``. Quoted text (``'T'``, ``''`` for a quote) and other characters are literal; ``[`` and ``]``
(optional sections) are dropped, which matches formatting where every field is available.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from functools import lru_cache

from daemon.expressions.errors import ExpressionError

_MONTHS = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
]  # fmt: skip
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_ORDINALS = ["1st", "2nd", "3rd", "4th"]


def _tokens(pattern: str) -> Iterator[tuple[str, str]]:
    """Yield ("field", letters) and ("text", literal) pieces of a pattern."""
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "'":
            end = i + 1
            text = []
            while end < n:
                if pattern[end] == "'":
                    if end + 1 < n and pattern[end + 1] == "'":
                        text.append("'")
                        end += 2
                        continue
                    break
                text.append(pattern[end])
                end += 1
            if end >= n and i + 1 != end:
                raise ExpressionError(f"date pattern {pattern!r}: unterminated quote")
            yield "text", "".join(text) if end > i + 1 else "'"
            i = end + 1
        elif ch.isascii() and ch.isalpha():
            end = i
            while end < n and pattern[end] == ch:
                end += 1
            yield "field", pattern[i:end]
            i = end
        else:
            if ch not in "[]":
                yield "text", ch
            i += 1


def _offset(dt: datetime) -> timedelta:
    return dt.utcoffset() or timedelta(0)


def _format_offset(delta: timedelta, *, colon: bool, seconds: bool = False, short: bool = False) -> str:
    total = int(delta.total_seconds())
    sign = "-" if total < 0 else "+"
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    sep = ":" if colon else ""
    text = f"{sign}{hours:02d}"
    if not short or minutes or secs:
        text += f"{sep}{minutes:02d}"
    if seconds and secs:
        text += f"{sep}{secs:02d}"
    return text


def _zone_offset(dt: datetime, letters: str, *, zulu: bool) -> str:
    delta = _offset(dt)
    if zulu and not delta:
        return "Z"
    count = len(letters)
    if letters[0] == "Z":
        if count <= 3:
            return _format_offset(delta, colon=False)
        if count == 4:
            return "GMT" + (_format_offset(delta, colon=True) if delta else "")
        return "Z" if not delta else _format_offset(delta, colon=True, seconds=True)
    return _format_offset(delta, colon=count in (3, 5), seconds=count >= 4, short=count == 1)


def _localized_offset(dt: datetime, *, short: bool) -> str:
    """``GMT+5:30`` (O, hour unpadded, minutes only when set) or ``GMT+05:30`` (OOOO); ``GMT`` for zero."""
    delta = _offset(dt)
    if not delta:
        return "GMT"
    text = _format_offset(delta, colon=True, seconds=True)
    if short:
        sign, hours, rest = text[0], int(text[1:3]), text[3:]
        text = f"{sign}{hours}{'' if rest == ':00' else rest}"
    return "GMT" + text


def _zone_id(dt: datetime) -> str:
    tz = dt.tzinfo
    key = getattr(tz, "key", None)
    if key:
        return str(key)
    delta = _offset(dt)
    return "Z" if not delta else _format_offset(delta, colon=True)


def _text(value: str, count: int) -> str:
    if count >= 5:
        return value[0]
    return value if count == 4 else value[:3]


def _num(value: int, count: int) -> str:
    return f"{value:0{count}d}"


def _year(dt: datetime, count: int) -> str:
    return f"{dt.year % 100:02d}" if count == 2 else _num(dt.year, count)


_FIELDS: dict[str, Callable[[datetime, int], str]] = {
    "G": lambda dt, c: "AD" if c < 4 else "Anno Domini",
    "y": _year,
    "u": _year,
    "Y": lambda dt, c: _year(dt.replace(year=dt.isocalendar().year), c),
    "D": lambda dt, c: _num(dt.timetuple().tm_yday, c),
    "M": lambda dt, c: _num(dt.month, c) if c <= 2 else _text(_MONTHS[dt.month - 1], c),
    "d": lambda dt, c: _num(dt.day, c),
    "Q": lambda dt, c: (
        _num((dt.month - 1) // 3 + 1, c)
        if c <= 2
        else f"Q{(dt.month - 1) // 3 + 1}"
        if c == 3
        else f"{_ORDINALS[(dt.month - 1) // 3]} quarter"
    ),
    "w": lambda dt, c: _num(dt.isocalendar().week, c),
    "W": lambda dt, c: _num((dt.day + dt.replace(day=1).weekday() - 1) // 7 + 1, c),
    "E": lambda dt, c: _text(_DAYS[dt.weekday()], c),
    "e": lambda dt, c: _num(dt.isoweekday(), c) if c <= 2 else _text(_DAYS[dt.weekday()], c),
    "F": lambda dt, c: _num((dt.day - 1) // 7 + 1, c),
    "a": lambda dt, c: "AM" if dt.hour < 12 else "PM",
    "h": lambda dt, c: _num(dt.hour % 12 or 12, c),
    "K": lambda dt, c: _num(dt.hour % 12, c),
    "k": lambda dt, c: _num(dt.hour or 24, c),
    "H": lambda dt, c: _num(dt.hour, c),
    "m": lambda dt, c: _num(dt.minute, c),
    "s": lambda dt, c: _num(dt.second, c),
    "S": lambda dt, c: f"{dt.microsecond:06d}000"[:c].ljust(c, "0"),
    "A": lambda dt, c: _num((dt.hour * 3600 + dt.minute * 60 + dt.second) * 1000 + dt.microsecond // 1000, c),
    "n": lambda dt, c: _num(dt.microsecond * 1000, c),
    "N": lambda dt, c: _num(
        ((dt.hour * 3600 + dt.minute * 60 + dt.second) * 10**6 + dt.microsecond) * 1000, c
    ),
    "V": lambda dt, c: _zone_id(dt),
    "z": lambda dt, c: dt.tzname() or _zone_id(dt),
    "O": lambda dt, c: _localized_offset(dt, short=c == 1),
    "X": lambda dt, c: _zone_offset(dt, "X" * c, zulu=True),
    "x": lambda dt, c: _zone_offset(dt, "x" * c, zulu=False),
    "Z": lambda dt, c: _zone_offset(dt, "Z" * c, zulu=False),
}
_FIELDS["L"] = _FIELDS["M"]
_FIELDS["q"] = _FIELDS["Q"]
_FIELDS["c"] = _FIELDS["e"]


@lru_cache(maxsize=256)
def _formatter(pattern: str) -> tuple[tuple[Callable[[datetime, int], str] | None, str | int], ...]:
    """The pattern as (field function, letter count) and (None, literal text) pieces."""
    pieces: list[tuple[Callable[[datetime, int], str] | None, str | int]] = []
    for kind, piece in _tokens(pattern):
        if kind == "text":
            pieces.append((None, piece))
            continue
        field = _FIELDS.get(piece[0])
        if field is None:
            raise ExpressionError(f"date pattern {pattern!r}: unknown pattern letter {piece[0]!r}")
        pieces.append((field, len(piece)))
    return tuple(pieces)


def format_java(dt: datetime, pattern: str) -> str:
    """Format an aware datetime with a Java date pattern."""
    return "".join(str(arg) if field is None else field(dt, int(arg)) for field, arg in _formatter(pattern))


_PARSE_GROUPS: dict[str, str] = {
    "y": r"(?P<year>[+-]?\d{1,9})",
    "u": r"(?P<year>[+-]?\d{1,9})",
    "M": r"(?P<month>\d{1,2})",
    "d": r"(?P<day>\d{1,2})",
    "H": r"(?P<hour>\d{1,2})",
    "k": r"(?P<hour>\d{1,2})",
    "h": r"(?P<hour12>\d{1,2})",
    "K": r"(?P<hour12>\d{1,2})",
    "m": r"(?P<minute>\d{1,2})",
    "s": r"(?P<second>\d{1,2})",
    "S": r"(?P<fraction>\d{1,9})",
    "a": r"(?P<ampm>[AaPp][Mm])",
    "E": r"[A-Za-z]+",
    "X": r"(?P<offset>Z|[+-]\d{2}(?::?\d{2})?(?::?\d{2})?)",
    "x": r"(?P<offset>[+-]\d{2}(?::?\d{2})?(?::?\d{2})?)",
    "Z": r"(?P<offset>Z|[+-]\d{2}:?\d{2}|GMT(?:[+-]\d{2}:\d{2})?)",
    "V": r"(?P<zone>[A-Za-z_]+(?:/[A-Za-z_]+)*|Z|[+-]\d{2}:\d{2})",
}


@lru_cache(maxsize=64)
def _parse_regex(pattern: str) -> re.Pattern[str]:
    parts: list[str] = []
    for kind, piece in _tokens(pattern):
        if kind == "text":
            parts.append(re.escape(piece))
            continue
        letter, count = piece[0], len(piece)
        if letter in "yu" and count == 2:
            parts.append(r"(?P<year2>\d{2})")
        elif letter in "yudHhKkms" and count >= 2:
            name = _PARSE_GROUPS[letter].split(">")[0][4:]
            parts.append(
                rf"(?P<{name}>\d{{{count}}})" if letter not in "yu" else rf"(?P<{name}>\d{{{count},9}})"
            )
        elif letter == "M" and count >= 3:
            parts.append(r"(?P<monthname>[A-Za-z]+)")
        elif letter in _PARSE_GROUPS:
            parts.append(_PARSE_GROUPS[letter])
        else:
            raise ExpressionError(f"date pattern {pattern!r}: cannot parse with pattern letter {letter!r}")
    return re.compile("".join(parts))


def _parse_zone(text: str) -> tzinfo:
    if text in ("Z", "GMT"):
        return UTC
    if text.startswith("GMT"):
        text = text[3:]
    if text[0] in "+-":
        digits = text[1:].replace(":", "")
        hours, minutes, seconds = int(digits[0:2]), int(digits[2:4] or 0), int(digits[4:6] or 0)
        delta = timedelta(hours=hours, minutes=minutes, seconds=seconds)
        return timezone(-delta if text[0] == "-" else delta)
    from zoneinfo import ZoneInfo

    return ZoneInfo(text)


def parse_java(text: str, pattern: str, default_zone: tzinfo) -> datetime:
    """Parse ``text`` written with a Java date pattern; fields not in the pattern default to the epoch."""
    match = _parse_regex(pattern).fullmatch(text.strip())
    if match is None:
        raise ExpressionError(f"date {text!r} does not match the pattern {pattern!r}")
    g = {k: v for k, v in match.groupdict().items() if v is not None}
    year = int(g["year"]) if "year" in g else 2000 + int(g["year2"]) if "year2" in g else 1970
    month = int(g.get("month", 1))
    if "monthname" in g:
        name = g["monthname"].lower()
        found = [i for i, m in enumerate(_MONTHS) if m.lower() == name or m[:3].lower() == name]
        if not found:
            raise ExpressionError(f"date {text!r}: unknown month name {g['monthname']!r}")
        month = found[0] + 1
    hour = int(g.get("hour", 0))
    if "hour12" in g:
        hour = int(g["hour12"]) % 12 + (12 if g.get("ampm", "am").lower() == "pm" else 0)
    micro = int(g.get("fraction", "0").ljust(6, "0")[:6])
    zone = (
        _parse_zone(g["offset"]) if "offset" in g else _parse_zone(g["zone"]) if "zone" in g else default_zone
    )
    try:
        return datetime(
            year, month, int(g.get("day", 1)), hour, int(g.get("minute", 0)), int(g.get("second", 0)), micro,
            tzinfo=zone,
        )  # fmt: skip
    except ValueError as exc:
        raise ExpressionError(f"date {text!r}: {exc}") from exc
