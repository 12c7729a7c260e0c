"""Assertion operators: each operator, type coercion of rendered text, and the failure message."""

from __future__ import annotations

from typing import Any

import pytest

from daemon.flowtests.assertions import check, coerce


@pytest.mark.parametrize(
    ("operator", "actual", "expected", "ok"),
    [
        ("equalTo", "200", 200, True),
        ("equalTo", "201", 200, False),
        ("equalTo", "true", True, True),
        ("equalTo", "Hello", "Hello", True),
        ("notEqualTo", "a", "b", True),
        ("notEqualTo", "5", 5, False),
        ("contains", "Hello Ada", "Ada", True),
        ("contains", [1, 2], 2, True),
        ("contains", "Hello", "Bob", False),
        ("startsWith", "Hello Ada", "Hello", True),
        ("startsWith", "Hello Ada", "Ada", False),
        ("endsWith", "report.csv", ".csv", True),
        ("isNull", None, True, True),
        ("isNull", "", True, True),
        ("isNull", "x", True, False),
        ("isNotNull", "x", True, True),
        ("isNotNull", None, True, False),
        ("greaterThan", "10", 3, True),
        ("greaterThan", "2", 3, False),
        ("greaterThanOrEqualTo", "3", 3, True),
        ("lessThan", "2.5", 3, True),
        ("lessThanOrEqualTo", "4", 3, False),
        ("in", "SUCCESS", ["SUCCESS", "WARNING"], True),
        ("in", "FAILED", ["SUCCESS", "WARNING"], False),
        ("notIn", "FAILED", ["SUCCESS"], True),
    ],
)
def test_operators(operator: str, actual: Any, expected: Any, ok: bool) -> None:
    assert check(operator, actual, expected).ok is ok


def test_failure_says_what_was_expected() -> None:
    outcome = check("equalTo", "201", 200)
    assert not outcome.ok
    assert outcome.message == "expected a value equal to 200"
    assert outcome.actual == "201"


def test_uncomparable_values_fail_with_the_reason() -> None:
    outcome = check("greaterThan", "abc", 3)
    assert not outcome.ok and outcome.message.startswith("cannot compare")


def test_coercion_only_when_the_text_parses_as_the_expected_type() -> None:
    assert coerce("200", 200) == 200
    assert coerce("2x", 200) == "2x"
    assert coerce("true", 1) == "true"  # a boolean is not a number here
    assert coerce('{"a": 1}', {"a": 1}) == {"a": 1}
    assert coerce("200", "200") == "200"
