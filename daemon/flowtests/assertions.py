"""Assertion operators, pure: ``check(operator, actual, expected) -> Outcome``.

Values come out of expressions as text more often than not (``"{{ outputs.x.code }}"`` renders "200"), so an
actual value is compared in the type of the expected one where it converts cleanly: "200" equals 200, "true"
equals true. Otherwise the comparison is on the values as they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

_MISSING = object()


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one assertion: ``ok`` and, when it failed, a one-line ``message``."""

    ok: bool
    operator: str
    expected: Any
    actual: Any
    message: str = ""


def check(operator: str, actual: Any, expected: Any) -> Outcome:
    """Apply one operator; a value that cannot be compared (``"abc" > 3``) fails with the reason."""
    value = coerce(actual, expected)
    try:
        ok = _OPS[operator](value, expected)
    except TypeError as exc:
        return Outcome(False, operator, expected, actual, f"cannot compare: {exc}")
    if ok:
        return Outcome(True, operator, expected, actual)
    return Outcome(False, operator, expected, actual, f"expected {describe(operator, expected)}")


def describe(operator: str, expected: Any) -> str:
    """``equalTo 200`` -> ``a value equal to 200`` (for failure reports)."""
    words = {
        "equalTo": "equal to",
        "notEqualTo": "not equal to",
        "contains": "containing",
        "startsWith": "starting with",
        "endsWith": "ending with",
        "greaterThan": "greater than",
        "greaterThanOrEqualTo": "greater than or equal to",
        "lessThan": "less than",
        "lessThanOrEqualTo": "less than or equal to",
        "in": "one of",
        "notIn": "none of",
    }
    if operator == "isNull":
        return "null" if expected is not False else "not null"
    if operator == "isNotNull":
        return "not null" if expected is not False else "null"
    return f"a value {words[operator]} {json.dumps(expected, default=str)}"


def coerce(actual: Any, expected: Any) -> Any:
    """``actual`` converted to the type of ``expected`` when it is text that parses as that type."""
    if not isinstance(actual, str) or isinstance(expected, str) or expected is None:
        return actual
    sample = expected[0] if isinstance(expected, list) and expected else expected
    if isinstance(sample, str):
        return actual
    try:
        parsed = json.loads(actual)
    except ValueError:
        return actual
    if isinstance(sample, bool):
        return parsed if isinstance(parsed, bool) else actual
    if isinstance(sample, int | float):
        return parsed if isinstance(parsed, int | float) and not isinstance(parsed, bool) else actual
    if isinstance(sample, dict | list):
        return parsed if isinstance(parsed, dict | list) else actual
    return actual


def _null(value: Any) -> bool:
    return value is None or value == ""


def _contains(value: Any, expected: Any) -> bool:
    if isinstance(value, str):
        return str(expected) in value
    if isinstance(value, dict):
        return expected in value
    if isinstance(value, list):
        return expected in value
    return False


_OPS: dict[str, Any] = {
    "equalTo": lambda v, e: v == e,
    "notEqualTo": lambda v, e: v != e,
    "contains": _contains,
    "startsWith": lambda v, e: isinstance(v, str) and v.startswith(str(e)),
    "endsWith": lambda v, e: isinstance(v, str) and v.endswith(str(e)),
    "isNull": lambda v, e: _null(v) == (e is not False),
    "isNotNull": lambda v, e: (not _null(v)) == (e is not False),
    "greaterThan": lambda v, e: v > e,
    "greaterThanOrEqualTo": lambda v, e: v >= e,
    "lessThan": lambda v, e: v < e,
    "lessThanOrEqualTo": lambda v, e: v <= e,
    "in": lambda v, e: v in (e or []),
    "notIn": lambda v, e: v not in (e or []),
}
