"""references() and check_syntax() for the validator."""

from __future__ import annotations

import pytest

from daemon.expressions import ExpressionSyntaxError, check_syntax, references


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("no expression", set()),
        ("{{ inputs.x }}", {("inputs", "x")}),
        ("{{ outputs['task-id'].value }}", {("outputs", "task-id", "value")}),
        ('{{ outputs["extract"]["uri"] }}', {("outputs", "extract", "uri")}),
        (
            "{{ outputs.extract.outputFiles[inputs.taxi ~ '.csv'] }}",
            {("outputs", "extract", "outputFiles"), ("inputs", "taxi")},
        ),
        ("{{ outputs.list.values[0].x }}", {("outputs", "list", "values")}),
        ("{{ inputs.a ?? inputs.b ?? 'c' }}", {("inputs", "a"), ("inputs", "b")}),
        ("{{ inputs.d | default(vars.e) | upper }}", {("inputs", "d"), ("vars", "e")}),
        (
            "{% if inputs.f is defined %}{{ inputs.g }}{% elseif trigger.date %}{% endif %}",
            {
                ("inputs", "f"),
                ("inputs", "g"),
                ("trigger", "date"),
            },
        ),
        ("{{ now() | date('yyyy') }} {{ secret('X') }} {{ render(vars.v) }}", {("vars", "v")}),
        ("{{ inputs.m.items() }}", {("inputs", "m")}),
        ("{{ currentEachOutput(outputs.first).value }}", {("outputs", "first")}),
        (
            "{{ inputs.flag ? outputs.a.x : outputs.b.y }}",
            {("inputs", "flag"), ("outputs", "a", "x"), ("outputs", "b", "y")},
        ),
        ("{{ ['a'] contains inputs.h }}", {("inputs", "h")}),
        (
            "{{ taskrun.value }} {{ parent.taskrun.value }}",
            {("taskrun", "value"), ("parent", "taskrun", "value")},
        ),
    ],
)
def test_references(template: str, expected: set[tuple[str, ...]]) -> None:
    assert references(template) == expected


def test_local_names_are_not_references() -> None:
    template = (
        "{% for item in inputs.list %}{{ item.name }} {{ loop.index }}{% endfor %}"
        "{% for k, v in outputs.t.map %}{{ k }}{{ v }}{% endfor %}"
        "{% set total = inputs.n %}{{ total }}"
        "{% macro m(arg) %}{{ arg }}{% endmacro %}"
    )
    assert references(template) == {("inputs", "list"), ("outputs", "t", "map"), ("inputs", "n")}


def test_references_raise_on_bad_syntax() -> None:
    with pytest.raises(ExpressionSyntaxError):
        references("{{ inputs.x | }}")


class TestCheckSyntax:
    @pytest.mark.parametrize(
        "template",
        [
            "plain",
            "{{ inputs.x ?? 'y' }}",
            "{% if a %}x{% elseif b %}y{% else %}z{% endif %}",
            "{% for k, v in m %}{{ k }}{% endfor %}",
            "{{ a ? b : c }}",
            "{{ x | date('yyyy-MM-dd', timeZone='UTC') }}",
            "{{ a equals b }} {{ a contains b }}",
            "{% verbatim %}{{ whatever ??? }}{% endverbatim %}",
        ],
    )
    def test_valid(self, template: str) -> None:
        assert check_syntax(template) is None

    @pytest.mark.parametrize(
        ("template", "fragment"),
        [
            ("{{ inputs.x | }}", "expected token 'name'"),
            ("{{ a ?? }}", "unexpected"),
            ("{{ a ? b }}", "expected token ':'"),
            ("{% if x %}", "'elseif' or 'else' or 'endif'"),
            ("{% elsif x %}", "unknown tag 'elsif'"),
            ("{{ x | nofilter }}", "No filter named 'nofilter'"),
            ("{{ x is notatest }}", "No test named 'notatest'"),
            ("{{ nwo() }}", "unknown function 'nwo'"),
            ("{{ 'unterminated }}", "unexpected"),
        ],
    )
    def test_invalid(self, template: str, fragment: str) -> None:
        error = check_syntax(template)
        assert isinstance(error, ExpressionSyntaxError)
        assert fragment in error.message
        assert error.expression == template
        assert "Traceback" not in error.message
        assert "__flowd" not in error.message

    def test_line_number(self) -> None:
        error = check_syntax("first line\n{{ ok }}\n{{ broken | }}")
        assert error is not None
        assert error.line == 3
        assert error.message.startswith("line 3: ")

    def test_macro_call_is_not_unknown(self) -> None:
        assert check_syntax("{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1) }}") is None
