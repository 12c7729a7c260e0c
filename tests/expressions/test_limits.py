"""No expression can exhaust the daemon: operator results, widths, loops and output are bounded, and each
refusal is an ordinary ExpressionError naming the expression."""

from __future__ import annotations

import re
from typing import Any

import pytest

from daemon.expressions import limits
from daemon.expressions.errors import ExpressionError, ExpressionSyntaxError
from daemon.expressions.render import check_syntax, render


@pytest.mark.parametrize(
    ("template", "context", "message"),
    [
        ("{{ ('a' * 500000000) | length }}", {}, "'*' would make a str"),
        ("{{ ([1] * 500000000) | length }}", {}, "'*' would make a list"),
        ("{{ (500000000 * 'a') | length }}", {}, "'*' would make a str"),
        ("{{ (7 ** inputs.e) > 1 }}", {"inputs": {"e": 10**9}}, "'**' would make an integer"),
        ("{{ 7 ** 100000 }}", {}, "'**' would make an integer"),
        ("{{ inputs.big * inputs.big }}", {"inputs": {"big": 1 << 10_000}}, "'*' would make an integer"),
        ("{{ inputs.s + inputs.s }}", {"inputs": {"s": "x" * 6_000_000}}, "'+' would make"),
        ("{{ '%999999999d' % 1 }}", {}, "format width"),
        ("{{ '%*d' % (999999999, 1) }}", {}, "format width"),
        ("{{ 'x' | center(999999999) }}", {}, "center: width"),
        ("{{ 'x' | indent(999999999) }}", {}, "indent: width"),
        ("{% for i in range(0, 99999) %}{% for j in range(0, 99999) %}{% endfor %}{% endfor %}", {}, "loops"),
        ("{% for i in range(0, 99999) %}{{ 'x' * 1000000 }}{% endfor %}", {}, "output exceeds"),
        (
            "{% macro f(s, n) %}{% if n > 0 %}{{ f(s ~ s, n - 1) }}{% endif %}{% endmacro %}{{ f('a', 40) }}",
            {},
            "'~' would make a string",
        ),
        (
            "{% macro f(n) %}{% if n > 0 %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(30) }}",
            {},
            "function or macro calls",
        ),
    ],
)
def test_costly_expressions_are_refused(template: str, context: dict[str, Any], message: str) -> None:
    with pytest.raises(ExpressionError, match=re.escape(message)) as caught:
        render(template, context)
    assert caught.value.expression == template
    assert "in expression {" in caught.value.message  # the task's error names the expression


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 'ab' * 3 }}", "ababab"),
        ("{{ 2 ** 64 }}", str(2**64)),
        ("{{ '%05d' % 3 }}", "00003"),
        ("{{ 'x' | center(5) }}", "  x  "),
        ("{% for x in [1, 2, 3] %}{{ loop.index }}{{ loop.last }}{% endfor %}", "0false1false2true"),
        ("{% for k, v in {'a': 1} %}{{ k }}={{ v }}{% endfor %}", "a=1"),
        ("{{ ((((1 + 2)))) }}", "3"),
        ("{{ 'a' ~ 1 ~ true ~ none }}", "a1TrueNone"),
    ],
)
def test_ordinary_expressions_still_work(template: str, expected: str) -> None:
    assert render(template, {}) == expected


def test_budget_is_per_render() -> None:
    # each render starts afresh: many renders of a big-but-allowed loop never add up
    template = "{% for i in range(0, 99999) %}{% endfor %}done"
    for _ in range(15):
        assert render(template, {}) == "done"


def test_deep_nesting_and_huge_literals_are_syntax_errors() -> None:
    nested = "{{ " + "(" * 100 + "1" + ")" * 100 + " }}"
    error = check_syntax(nested)
    assert isinstance(error, ExpressionSyntaxError) and "nests too deeply" in error.message
    huge = "{{ " + "9" * 5000 + " }}"
    error = check_syntax(huge)
    assert isinstance(error, ExpressionSyntaxError) and "4300 digits" in error.message
    with pytest.raises(ExpressionSyntaxError, match="nests too deeply"):
        render(nested, {})


def test_nesting_depth() -> None:
    assert limits.nesting_depth("a(b[c]{d})") == 2 and limits.nesting_depth(")))(") == 1
