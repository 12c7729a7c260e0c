"""Collection and number helpers: filters, functions and tests with Pebble semantics."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from jinja2 import Undefined

from daemon.expressions.errors import ExpressionError

MAX_RANGE = 100_000  # the same cap Jinja's sandbox puts on range()


@dataclass(frozen=True, slots=True)
class MapEntry:
    """One entry of a map iterated with ``{% for entry in map %}``: ``entry.key``, ``entry.value``."""

    key: Any
    value: Any

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


def iterate(value: Any, targets: int) -> Any:
    """The iterable of a for loop: maps give entries (one target) or ``(key, value)`` pairs (several)."""
    if isinstance(value, Mapping):
        if targets > 1:
            return list(value.items())
        return [MapEntry(k, v) for k, v in value.items()]
    if value is None:  # Pebble iterates over null as over an empty list
        return []
    return value


def contains(container: Any, item: Any) -> bool:
    """``container contains item``: map key, list element, substring; a list item must be wholly contained."""
    if isinstance(container, Undefined):
        str(container)
    if isinstance(item, list) and not isinstance(container, str):
        return all(element in container for element in item)
    return bool(item in container)


def present(value: Any) -> tuple[Any, ...]:
    """Left side of ``??``: a one-element box when defined and not null, else an empty (false) tuple."""
    return () if value is None or isinstance(value, Undefined) else (value,)


def defined(value: Any) -> tuple[Any, ...]:
    """Left side of ``???``: a one-element box when defined (null counts as defined)."""
    return () if isinstance(value, Undefined) else (value,)


def box(value: Any) -> tuple[Any, ...]:
    """Right side of ``??``/``???``."""
    return (value,)


def unbox(boxed: tuple[Any, ...]) -> Any:
    """The value chosen by ``??``/``???``."""
    return boxed[0]


def keys(value: Mapping[Any, Any]) -> list[Any]:
    """Keys of a map, in order."""
    return list(value.keys())


def values(value: Mapping[Any, Any]) -> list[Any]:
    """Values of a map, in order."""
    return list(value.values())


def length(value: Any) -> int:
    """Length of a string, list or map; null has length 0."""
    if value is None:
        return 0
    return len(value)


def is_empty(value: Any) -> bool:
    """Test ``x is empty``: null, empty string, empty list or empty map."""
    if value is None:
        return True
    if isinstance(value, str | Sequence | Mapping | set):
        return len(value) == 0
    return False


def is_null(value: Any) -> bool:
    """Test ``x is null`` (also ``is none``): null or undefined."""
    return value is None or isinstance(value, Undefined)


def default(value: Any, fallback: Any = "", boolean: bool = False) -> Any:
    """Pebble's ``default``: the fallback when the value is undefined, null or empty (string, list, map)."""
    if isinstance(value, Undefined) or is_empty(value) or (boolean and not value):
        return fallback
    return value


def number(value: Any, type: str | None = None) -> int | float | Decimal:
    """Parse a number; ``type``: INT, LONG, FLOAT, DOUBLE, BIGDECIMAL or BIGINTEGER (default: guess)."""
    text = str(value).strip()
    kind = (type or "").upper()
    try:
        if kind in ("INT", "LONG", "BIGINTEGER", "INTEGER"):
            return int(text)
        if kind in ("FLOAT", "DOUBLE"):
            return float(text)
        if kind == "BIGDECIMAL":
            return Decimal(text)
        if kind:
            raise ExpressionError(f"number: unknown type {type!r}")
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        try:
            return int(text)
        except ValueError:
            return float(text)
    except (ValueError, InvalidOperation) as exc:
        raise ExpressionError(f"number: cannot parse {value!r} as a number") from exc


def chunk(value: Iterable[Any], size: int) -> list[list[Any]]:
    """Split a list into lists of ``size`` elements (the last may be shorter)."""
    if size < 1:
        raise ExpressionError("chunk: size must be at least 1")
    items = list(value)
    return [items[i : i + size] for i in range(0, len(items), size)]


def distinct(value: Iterable[Any]) -> list[Any]:
    """Elements in order, without duplicates."""
    out: list[Any] = []
    for item in value:
        if item not in out:
            out.append(item)
    return out


def merge(value: Any, other: Any) -> Any:
    """Lists are concatenated, maps merged (right wins)."""
    if isinstance(value, Mapping) and isinstance(other, Mapping):
        return {**value, **other}
    return [*value, *other]


def slice_(value: Any, start: int = 0, end: int | None = None) -> Any:
    """Pebble's ``slice(fromIndex, toIndex)`` on a string or list (toIndex exclusive)."""
    return value[start:end]


def rsort(value: Iterable[Any]) -> list[Any]:
    """Sorted in descending order."""
    return sorted(value, reverse=True)


def first(value: Any) -> Any:
    """First element of a list, first character of a string, first value of a map; null when empty."""
    items = list(value.values()) if isinstance(value, Mapping) else value
    if not isinstance(items, str | Sequence):
        items = list(items)
    return items[0] if items else None


def last(value: Any) -> Any:
    """Last element of a list, last character of a string, last value of a map; null when empty."""
    items = list(value.values()) if isinstance(value, Mapping) else value
    if not isinstance(items, str | Sequence):
        items = list(items)
    return items[-1] if items else None


def pebble_range(start: int, end: int, step: int = 1) -> list[int]:
    """Pebble's ``range(start, end, step)``: the end is included."""
    if step == 0:
        raise ExpressionError("range: step must not be 0")
    stop = end + (1 if step > 0 else -1)
    if abs((stop - start) // step) > MAX_RANGE:
        raise ExpressionError(f"range: more than {MAX_RANGE} elements")
    return list(range(start, stop, step))


def maximum(*args: Any) -> Any:
    """``max(a, b, ...)``."""
    return max(args)


def minimum(*args: Any) -> Any:
    """``min(a, b, ...)``."""
    return min(args)


FILTERS = {
    "keys": keys,
    "values": values,
    "length": length,
    "count": length,
    "default": default,
    "d": default,
    "number": number,
    "chunk": chunk,
    "distinct": distinct,
    "merge": merge,
    "slice": slice_,
    "rsort": rsort,
    "first": first,
    "last": last,
}
FUNCTIONS = {"range": pebble_range, "max": maximum, "min": minimum}
TESTS = {"empty": is_empty, "null": is_null, "none": is_null, "map": lambda v: isinstance(v, Mapping)}
