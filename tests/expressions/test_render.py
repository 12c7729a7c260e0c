"""render / render_value: Pebble forms, strictness, sandbox."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from daemon.errors import FlowdError
from daemon.expressions import ExpressionError, ExpressionSyntaxError, render, render_value
from daemon.expressions.render import _compile

CTX: dict[str, Any] = {
    "inputs": {"name": "Bob", "taxi": "yellow", "flag": True, "off": False, "none": None, "n": 3},
    "outputs": {
        "extract": {"outputFiles": {"yellow.csv": "kestra:///y.csv", "green.csv": "kestra:///g.csv"}},
        "my-task": {"value": "dash", "values": [1, 2]},
    },
    "vars": {"greeting": "Hello {{ inputs.name }}", "nested": "{{ render(vars.greeting) }}!"},
    "items": [{"id": "a"}, {"id": "b"}],
    "map": {"x": 1, "y": 2},
}


def r(template: str, **extra: Any) -> str:
    return render(template, {**CTX, **extra})


def test_plain_string_is_returned_untouched_without_compiling() -> None:
    before = _compile.cache_info().misses
    text = "no expression here {# not a comment either #}"
    assert r(text) is text
    assert _compile.cache_info().misses == before


def test_compiled_templates_are_cached() -> None:
    template = "{{ inputs.name }} cached-check"
    r(template)
    hits = _compile.cache_info().hits
    r(template)
    assert _compile.cache_info().hits == hits + 1


def test_simple_variable_and_text() -> None:
    assert r("Hello {{ inputs.name }}!") == "Hello Bob!"


def test_trailing_newline_is_kept() -> None:
    assert r("echo {{ inputs.name }}\n") == "echo Bob\n"


def test_newline_after_block_tag_is_trimmed() -> None:
    assert r("{% if inputs.flag %}\nyes\n{% endif %}\n") == "yes\n"


def test_concat_inside_subscript() -> None:
    assert r("{{ outputs.extract.outputFiles[inputs.taxi ~ '.csv'] }}") == "kestra:///y.csv"


def test_dash_keys_with_brackets() -> None:
    assert r("{{ outputs['my-task'].value }}") == "dash"


def test_map_keys_win_over_dict_methods() -> None:
    assert r("{{ outputs['my-task'].values }}") == "[1,2]"
    assert r("{% for k, v in map.items() %}{{ k }}{% endfor %}") == "xy"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ inputs.flag }}", "true"),
        ("{{ inputs.off }}", "false"),
        ("{{ inputs.none }}", ""),
        ("{{ null }}", ""),
        ("{{ map }}", '{"x":1,"y":2}'),
        ("{{ [1, 'a'] }}", '[1,"a"]'),
        ("{{ 1.5 }}", "1.5"),
    ],
)
def test_printed_values(template: str, expected: str) -> None:
    assert r(template) == expected


def test_datetime_prints_iso() -> None:
    assert r("{{ d }}", d=datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2024-01-02T03:04:05Z"


class TestCoalesce:
    def test_undefined_and_null_fall_back(self) -> None:
        assert r("{{ inputs.missing ?? 'd' }}") == "d"
        assert r("{{ inputs.none ?? 'd' }}") == "d"
        assert r("{{ nothing.at.all ?? 'd' }}") == "d"

    def test_defined_value_wins_even_if_falsy(self) -> None:
        assert r("{{ inputs.off ?? 'd' }}") == "false"
        assert r("{{ inputs.name ?? 'd' }}") == "Bob"

    def test_chain(self) -> None:
        assert r("{{ inputs.a ?? inputs.none ?? inputs.n ?? 'd' }}") == "3"
        assert r("{{ inputs.a ?? inputs.b ?? 'last' }}") == "last"

    def test_right_side_is_not_evaluated_when_not_needed(self) -> None:
        # secret() without a service would raise: it must not be called.
        assert r("{{ inputs.name ?? secret('X') }}") == "Bob"
        with pytest.raises(ExpressionError, match="secret"):
            r("{{ inputs.missing ?? secret('X') }}")

    def test_all_missing_is_an_error(self) -> None:
        with pytest.raises(ExpressionError, match=r"Missing variable: 'inputs\.b'"):
            r("{{ inputs.a ?? inputs.b }}")

    def test_lower_precedence_than_filters_and_or(self) -> None:
        assert r("{{ inputs.missing ?? inputs.name | upper }}") == "BOB"
        assert r("{{ inputs.missing ?? 'a' ~ 'b' }}") == "ab"
        assert r("{{ (inputs.missing ?? 1) + 1 }}") == "2"

    def test_undefined_only(self) -> None:
        assert r("{{ inputs.none ??? 'd' }}") == ""
        assert r("{{ inputs.missing ??? 'd' }}") == "d"

    def test_in_block_tags_and_arguments(self) -> None:
        assert r("{% if inputs.missing ?? true %}y{% endif %}") == "y"
        assert r("{% for i in inputs.missing ?? [1, 2] %}{{ i }}{% endfor %}") == "12"
        assert r("{% set x = inputs.missing ?? 'v' %}{{ x }}") == "v"
        assert r("{{ [inputs.missing ?? 1, 2] | join(',') }}") == "1,2"

    def test_after_a_test(self) -> None:
        assert r("{{ inputs.name is defined ?? 'x' }}") == "true"


class TestTernary:
    def test_basic(self) -> None:
        assert r("{{ inputs.flag ? 'y' : 'n' }}") == "y"
        assert r("{{ inputs.off ? 'y' : 'n' }}") == "n"

    def test_with_test_and_nesting(self) -> None:
        assert r("{{ inputs.x is defined ? 1 : inputs.n > 2 ? 'big' : 'small' }}") == "big"

    def test_coalesce_binds_tighter(self) -> None:
        assert r("{{ inputs.missing ?? false ? 'y' : 'n' }}") == "n"


class TestPebbleSyntax:
    def test_elseif(self) -> None:
        template = "{% if inputs.n == 1 %}one{% elseif inputs.n == 3 %}three{% else %}other{% endif %}"
        assert r(template) == "three"

    def test_equals_and_logic(self) -> None:
        assert r("{{ inputs.name equals 'Bob' and not inputs.off }}") == "true"
        assert r("{{ inputs.n == 2 or inputs.n == 3 }}") == "true"

    def test_contains(self) -> None:
        assert r("{{ ['a', 'b'] contains 'a' }}") == "true"
        assert r("{{ map contains 'y' }}") == "true"
        assert r("{{ inputs.name contains 'ob' }}") == "true"
        assert r("{{ ['a', 'b', 'c'] contains ['a', 'c'] }}") == "true"
        assert r("{{ ['a', 'b'] contains ['a', 'z'] }}") == "false"
        assert r("{% if ['a'] contains 'a' and inputs.flag %}y{% endif %}") == "y"

    def test_in_operator(self) -> None:
        assert r("{{ 'a' in ['a'] }}") == "true"

    def test_for_over_map_entries(self) -> None:
        assert r("{% for e in map %}{{ e.key }}={{ e.value }};{% endfor %}") == "x=1;y=2;"

    def test_for_over_map_key_value(self) -> None:
        assert r("{% for k, v in map %}{{ k }}:{{ v }} {% endfor %}") == "x:1 y:2 "

    def test_for_over_list_and_else(self) -> None:
        assert r("{% for i in items %}{{ i.id }}{% endfor %}") == "ab"
        assert r("{% for i in [] %}x{% else %}empty{% endfor %}") == "empty"
        assert r("{% for i in inputs.none %}x{% else %}empty{% endfor %}") == "empty"

    def test_loop_variables_are_zero_based(self) -> None:
        template = "{% for i in items %}{{ loop.index }}/{{ loop.revindex }}/{{ loop.length }}"
        template += "{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %} {% endfor %}"
        assert r(template) == "0/1/2F 1/0/2L "

    def test_filter_with_arguments(self) -> None:
        assert r("{{ items | length }} {{ ['a', 'b'] | join(', ') }}") == "2 a, b"

    def test_null_literal(self) -> None:
        assert r("{{ inputs.none == null }}") == "true"
        assert r("{{ inputs.none is null }}") == "true"
        assert r("{{ inputs.name is not null }}") == "true"

    def test_range_is_inclusive(self) -> None:
        assert r("{% for i in range(1, 3) %}{{ i }}{% endfor %}") == "123"

    def test_verbatim(self) -> None:
        assert r("{% verbatim %}{{ not rendered ?? x }}{% endverbatim %}") == "{{ not rendered ?? x }}"

    def test_is_defined_and_default(self) -> None:
        assert r("{{ inputs.missing is defined }}") == "false"
        assert r("{{ inputs.missing.deep is not defined }}") == "true"
        assert r("{{ inputs.missing | default('d') }}") == "d"
        assert r("{{ inputs.missing.deep | default('d') }}") == "d"
        assert r("{{ '' | default('d') }}") == "d"
        assert r("{{ inputs.none | default('d') }}") == "d"
        assert r("{{ inputs.off | default('d') }}") == "false"


class TestStrictUndefined:
    def test_missing_input_message(self) -> None:
        with pytest.raises(ExpressionError) as info:
            r("x {{ inputs.foo }}")
        assert str(info.value) == "Missing variable: 'inputs.foo' (in {{ inputs.foo }})"
        assert info.value.expression == "x {{ inputs.foo }}"
        assert isinstance(info.value, FlowdError)

    def test_missing_root_and_deep(self) -> None:
        with pytest.raises(ExpressionError, match=r"Missing variable: 'nope'"):
            r("{{ nope }}")
        with pytest.raises(ExpressionError, match=r"Missing variable: 'outputs\.extract\.missing'"):
            r("{{ outputs.extract.missing.uri }}")

    def test_dash_key_path_message(self) -> None:
        with pytest.raises(ExpressionError, match=r"Missing variable: 'outputs\['other-task'\]'"):
            r("{{ outputs['other-task'].value }}")

    def test_guarded_paths_are_not_blamed(self) -> None:
        with pytest.raises(ExpressionError, match=r"Missing variable: 'inputs\.b'"):
            r("{{ inputs.a ?? 'x' }} {{ inputs.a | default('y') }} {{ inputs.b }}")

    def test_missing_in_condition_and_comparison(self) -> None:
        with pytest.raises(ExpressionError, match=r"Missing variable: 'inputs\.x'"):
            r("{% if inputs.x %}y{% endif %}")
        with pytest.raises(ExpressionError, match=r"Missing variable: 'inputs\.x'"):
            r("{{ inputs.x == 1 }}")

    def test_loop_variable_attribute(self) -> None:
        with pytest.raises(ExpressionError, match=r"Missing variable: 'nope'"):
            r("{% for i in items %}{{ i.nope }}{% endfor %}")

    def test_missing_iterable(self) -> None:
        with pytest.raises(ExpressionError, match=r"Missing variable: 'inputs\.list'"):
            r("{% for i in inputs.list %}{{ i }}{% endfor %}")

    def test_unknown_function(self) -> None:
        with pytest.raises(ExpressionError, match="Unknown function: 'nwo'"):
            r("{{ nwo() }}")

    def test_runtime_errors_are_expression_errors(self) -> None:
        with pytest.raises(ExpressionError, match="division by zero"):
            r("{{ 1 / 0 }}")

    def test_syntax_error_is_raised_on_render(self) -> None:
        with pytest.raises(ExpressionSyntaxError, match="invalid expression"):
            r("{{ inputs.name | }}")


class TestSandbox:
    @pytest.mark.parametrize(
        "template",
        [
            "{{ ''.__class__.__mro__ }}",
            "{{ ''.__class__.__mro__[1].__subclasses__() }}",
            "{{ inputs.__class__ }}",
            "{{ render.__globals__ }}",
            "{{ items.append(1) }}",
            "{{ map.pop('x') }}",
            "{{ range.__init__.__globals__['os'] }}",
            "{{ now().__class__.__init__ }}",
            "{{ 'a' | attr('__class__') }}",
            "{{ inputs.get.__self__ }}",
        ],
    )
    def test_unsafe_access_is_refused(self, template: str) -> None:
        with pytest.raises(ExpressionError) as info:
            r(template)
        assert str(info.value).startswith("not allowed: access to attribute")
        assert "<class" not in str(info.value)
        assert CTX["items"] == [{"id": "a"}, {"id": "b"}]
        assert CTX["map"] == {"x": 1, "y": 2}

    def test_unsafe_attribute_message(self) -> None:
        with pytest.raises(ExpressionError, match="unsafe"):
            r("{{ ''.__class__ }}")


class TestRenderFunction:
    def test_vars_are_not_rendered_automatically(self) -> None:
        assert r("{{ vars.greeting }}") == "Hello {{ inputs.name }}"

    def test_render_var_referring_to_inputs(self) -> None:
        assert r("{{ render(vars.greeting) }}") == "Hello Bob"

    def test_render_var_referring_to_outputs(self) -> None:
        ctx_vars = {"file": "{{ outputs.extract.outputFiles[inputs.taxi ~ '.csv'] }}"}
        assert r("{{ render(vars.file) }}", vars=ctx_vars) == "kestra:///y.csv"

    def test_nested_render(self) -> None:
        assert r("{{ render(vars.nested) }}") == "Hello Bob!"

    def test_recursive_by_default_and_render_once(self) -> None:
        chain = {"a": "{{ vars.b }}", "b": "{{ inputs.name }}"}
        assert r("{{ render(vars.a) }}", vars=chain) == "Bob"
        assert r("{{ renderOnce(vars.a) }}", vars=chain) == "{{ inputs.name }}"
        assert r("{{ render(vars.a, recursive=false) }}", vars=chain) == "{{ inputs.name }}"

    def test_substituted_values_are_never_rendered(self) -> None:
        payload = {"body": "{{ secret('X') }}"}
        assert r("{{ inputs.body }}", inputs=payload) == "{{ secret('X') }}"

    def test_self_reference_is_limited(self) -> None:
        with pytest.raises(ExpressionError, match="render"):
            r("{{ render(vars.loop) }}", vars={"loop": "{{ render(vars.loop) }}"})

    def test_render_non_string(self) -> None:
        assert r("{{ render(inputs.n) + 1 }}") == "4"

    def test_render_missing_variable_inside(self) -> None:
        with pytest.raises(ExpressionError, match=r"Missing variable: 'inputs\.zzz'"):
            r("{{ render(v) }}", v="{{ inputs.zzz }}")


class TestRenderValue:
    def test_recursive_structures(self) -> None:
        value = {
            "a": "{{ inputs.name }}",
            "b": ["x", "{{ inputs.n }}", 3, None, True],
            "{{ inputs.taxi }}": {"deep": ("{{ inputs.flag }}",)},
        }
        assert render_value(value, CTX) == {
            "a": "Bob",
            "b": ["x", "3", 3, None, True],
            "yellow": {"deep": ("true",)},
        }

    def test_non_strings_are_returned_as_is(self) -> None:
        obj = object()
        assert render_value(obj, CTX) is obj
        assert render_value(5, CTX) == 5
