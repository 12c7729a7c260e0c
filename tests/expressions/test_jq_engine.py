"""jq() on the real jq engine (the ``jq`` package): whole programs, and nothing that reads the process."""

from __future__ import annotations

from typing import Any

import pytest

from daemon.expressions import ExpressionError, render
from daemon.expressions.jq import check_program, jq

pytest.importorskip("jq")


@pytest.mark.parametrize(
    ("value", "program", "expected"),
    [
        ([1, 2, 3], "map(. * 2) | add", [12]),
        ({"a": [{"b": 1}, {"b": 2}]}, ".a[] | select(.b > 1) | .b", [2]),
        ({"a": 1, "b": 2}, "to_entries | map(.key)", [["a", "b"]]),
        ('{"k": "v"}', ".k | ascii_upcase", ["V"]),
        ({"env": 1}, '.env + .["env"]', [2]),
        ([3, 1, 2], "sort | length", [3]),
    ],
)
def test_programs(value: Any, program: str, expected: list[Any]) -> None:
    assert jq(value, program) == expected


@pytest.mark.parametrize("program", ["env.HOME", "$ENV.PATH", "input", "[inputs]", ".a | halt", "debug"])
def test_programs_reaching_outside_the_value_are_refused(program: str) -> None:
    with pytest.raises(ExpressionError, match="reaches outside the value"):
        jq({"a": 1}, program)


def test_errors_are_one_line() -> None:
    with pytest.raises(ExpressionError, match=r"^jq: syntax error"):
        check_program("map(")
    with pytest.raises(ExpressionError, match="jq: boom"):
        render("{{ 1 | jq('error(\"boom\")') }}", {})


def test_in_a_template() -> None:
    assert (
        render("{{ items | jq('map(.price) | add') | first }}", {"items": [{"price": 2}, {"price": 3}]})
        == "5"
    )
