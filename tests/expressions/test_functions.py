"""Kestra filters and functions: JSON/YAML, strings, collections, jq, engine services."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from daemon.errors import FlowdError
from daemon.expressions import ExpressionError, render


def r(template: str, **ctx: Any) -> str:
    return render(template, ctx)


class TestJson:
    def test_serialize(self) -> None:
        assert r("{{ x | toJson }}", x={"a": [1, None, True], "é": "ü"}) == '{"a":[1,null,true],"é":"ü"}'
        assert r("{{ x | json }}", x="text") == '"text"'
        assert r("{{ toJson(x) }}", x=[1]) == "[1]"

    def test_parse(self) -> None:
        assert r("{{ fromJson(s).a.b }}", s='{"a": {"b": 42}}') == "42"
        assert r("{{ json(s)[1] }}", s="[1, 2]") == "2"
        assert r("{{ (s | fromJson).k }}", s='{"k": "v"}') == "v"

    def test_parse_error_is_readable(self) -> None:
        with pytest.raises(ExpressionError, match="fromJson: invalid JSON"):
            r("{{ fromJson('{nope') }}")

    def test_is_json(self) -> None:
        assert r("{{ '{\"a\": 1}' is json }} {{ 'x' is json }}") == "true false"

    def test_yaml(self) -> None:
        assert r("{{ yaml('a: [1, 2]').a[1] }}") == "2"
        assert r("{{ x | toYaml }}", x={"b": 1, "a": [2]}) == "b: 1\na:\n- 2\n"


class TestStrings:
    @pytest.mark.parametrize(
        ("template", "expected"),
        [
            ("{{ 'Héllo, World! 2024' | slugify }}", "hello-world-2024"),
            ("{{ 'hello wORLD' | capitalize }}", "Hello wORLD"),
            ("{{ 'hello world' | title }}", "Hello World"),
            ("{{ ' x ' | trim }}|{{ 'a' | upper }}{{ 'B' | lower }}", "x|Ab"),
            ("{{ 'a.b.c' | substringBefore('.') }}", "a"),
            ("{{ 'a.b.c' | substringAfter('.') }}", "b.c"),
            ("{{ 'a.b.c' | substringBeforeLast('.') }}", "a.b"),
            ("{{ 'a.b.c' | substringAfterLast('.') }}", "c"),
            ("{{ 'abc' | substringBefore('x') }}|{{ 'abc' | substringAfter('x') }}", "abc|"),
            ("{{ 'file.csv' | startsWith('file') }} {{ 'file.csv' | endsWith('.json') }}", "true false"),
            ("{{ 'hi' | base64encode }}", "aGk="),
            ("{{ 'aGk=' | base64decode }}", "hi"),
            ("{{ 'a,b,,c' | split(',') | length }}", "4"),
            ("{{ 'a,b,c' | split(',', 2) | last }}", "b,c"),
            ("{{ 'I like %this%' | replace({'%this%': 'apples'}) }}", "I like apples"),
            ("{{ 'aaa' | replace('a', 'b') }}", "bbb"),
            ("{{ 'a1b22' | replace({'(\\\\d+)': '<$1>'}, regexp=true) }}", "a<1>b<22>"),
            ("{{ 'this is long' | abbreviate(7) }}", "this..."),
            ("{{ 'a\\nb' | indent(2) }}", "a\n  b"),
            ("{{ 'a\\nb' | nindent(2) }}", "\n  a\n  b"),
            ("{{ 'a%20b+c' | urldecode }}", "a b c"),
        ],
    )
    def test_filters(self, template: str, expected: str) -> None:
        assert r(template) == expected

    def test_hashes(self) -> None:
        assert r("{{ 'abc' | sha256 }}") == hashlib.sha256(b"abc").hexdigest()
        assert r("{{ 'abc' | md5 }}") == hashlib.md5(b"abc").hexdigest()
        assert r("{{ 'abc' | sha1 }}") == hashlib.sha1(b"abc").hexdigest()

    def test_bad_base64(self) -> None:
        with pytest.raises(ExpressionError, match="base64decode"):
            r("{{ '***' | base64decode }}")

    def test_string_filter_on_missing_value_is_missing_variable(self) -> None:
        with pytest.raises(ExpressionError, match=r"Missing variable: 'inputs\.x'"):
            r("{{ inputs.x | slugify }}", inputs={})


class TestCollections:
    @pytest.mark.parametrize(
        ("template", "expected"),
        [
            ("{{ m | keys }}", '["a","b"]'),
            ("{{ m | values }}", "[1,2]"),
            ("{{ l | first }} {{ l | last }}", "3 1"),
            ("{{ 'abc' | first }}{{ 'abc' | last }}", "ac"),
            ("{{ m | first }}", "1"),
            ("{{ [] | first ?? 'none' }}|{{ '' | last }}", "none|"),
            ("{{ true | string ~ 1 | string }} {{ 'x' | raw }}", "true1 x"),
            ("{{ l | length }} {{ m | length }} {{ 'abc' | length }} {{ n | length }}", "3 2 3 0"),
            ("{{ l | join('-') }}", "3-2-1"),
            ("{{ l | sort }} {{ l | rsort }}", "[1,2,3] [3,2,1]"),
            ("{{ [1, 2, 3, 4, 5] | chunk(2) }}", "[[1,2],[3,4],[5]]"),
            ("{{ [1, 2, 1, 3, 2] | distinct }}", "[1,2,3]"),
            ("{{ [1] | merge([2]) }} {{ m | merge({'b': 3}) }}", '[1,2] {"a":1,"b":3}'),
            ("{{ [1, 2, 3, 4] | slice(1, 3) }} {{ 'abcdef' | slice(2, 4) }}", "[2,3] cd"),
            ("{{ -3 | abs }}", "3"),
            ("{{ '42' | number + 1 }} {{ '1.5' | number }} {{ '7' | number('FLOAT') }}", "43 1.5 7.0"),
            ("{{ max(1, 5, 3) }} {{ min(4, 2) }}", "5 2"),
            (
                "{{ [] is empty }} {{ {} is empty }} {{ '' is empty }} {{ l is empty }}",
                "true true true false",
            ),
            ("{{ m is map }} {{ l is map }}", "true false"),
            ("{{ 2 is even }} {{ 3 is odd }}", "true true"),
        ],
    )
    def test_filters(self, template: str, expected: str) -> None:
        assert r(template, m={"a": 1, "b": 2}, l=[3, 2, 1], n=None) == expected

    def test_number_errors(self) -> None:
        with pytest.raises(ExpressionError, match="cannot parse 'abc' as a number"):
            r("{{ 'abc' | number }}")


class TestJq:
    DATA = {"a": {"b": [1, 2, {"x": 3}]}, "items": [{"x": 1}, {"x": 2}], "my-key": 5}

    @pytest.mark.parametrize(
        ("program", "expected"),
        [
            (".", [DATA]),
            (".a.b", [[1, 2, {"x": 3}]]),
            (".a.b[0]", [1]),
            (".a.b[-1].x", [3]),
            (".items[]", [{"x": 1}, {"x": 2}]),
            (".items[] | .x", [1, 2]),
            (".items[].x", [1, 2]),
            ('."my-key"', [5]),
            ('.["my-key"]', [5]),
            (".a.missing", [None]),
            (".a.b[]?.x?", [3]),
        ],
    )
    def test_paths(self, program: str, expected: list[Any]) -> None:
        from daemon.expressions.jq import jq

        assert jq(self.DATA, program) == expected

    def test_in_template_with_first_and_json_string(self) -> None:
        assert r("{{ d | jq('.items[].x') | first }}", d=self.DATA) == "1"
        assert r("{{ s | jq('.k') | first }}", s='{"k": "v"}') == "v"

    def test_errors(self) -> None:
        with pytest.raises(ExpressionError, match="jq: "):
            r("{{ d | jq('map(') }}", d={})
        with pytest.raises(ExpressionError, match=r"(?i)cannot iterate"):
            r("{{ d | jq('.a[]') }}", d={"a": 1})

    def test_path_subset_without_the_jq_package(self) -> None:
        from daemon.expressions.jq import _run_paths

        assert _run_paths(self.DATA, ".items[].x") == [1, 2]
        with pytest.raises(ExpressionError, match="jq: unsupported"):
            _run_paths({}, "map(.x)")


class TestServices:
    def test_secret(self) -> None:
        secrets = {"TOKEN": "s3cr3t"}
        assert render("{{ secret('TOKEN') }}", {"__secret__": secrets.__getitem__}) == "s3cr3t"

    def test_secret_without_service(self) -> None:
        with pytest.raises(ExpressionError, match=r"secret\(\) is not available here"):
            r("{{ secret('TOKEN') }}")

    def test_failing_service_is_an_expression_error(self) -> None:
        def missing(name: str) -> str:
            raise FlowdError(f"secret {name} not found")

        with pytest.raises(ExpressionError, match=r"secret\('NOPE'\): secret NOPE not found") as info:
            render("{{ secret('NOPE') }}", {"__secret__": missing})
        assert info.value.expression == "{{ secret('NOPE') }}"

    def test_kv(self) -> None:
        calls: list[Any] = []

        def kv(key: str, *, namespace: str | None, error_on_missing: bool) -> Any:
            calls.append((key, namespace, error_on_missing))
            return {"n": 1}

        assert render("{{ kv('k').n }}", {"__kv__": kv}) == "1"
        render("{{ kv('k', 'team.a', errorOnMissing=false) }}", {"__kv__": kv})
        assert calls == [("k", None, True), ("k", "team.a", False)]

    def test_error_logs_and_read(self) -> None:
        ctx = {"__error_logs__": lambda: [{"message": "boom"}], "__read__": lambda uri: f"content of {uri}"}
        assert render("{{ errorLogs()[0].message }}", ctx) == "boom"
        assert render("{{ read('kestra:///a.txt') }}", ctx) == "content of kestra:///a.txt"

    def test_current_each_output(self) -> None:
        outputs = {"first": {"v1": {"value": "one"}, "v2": {"value": "two"}}}
        ctx = {"outputs": outputs, "taskrun": {"value": "v2"}, "parents": []}
        assert render("{{ currentEachOutput(outputs.first).value }}", ctx) == "two"

    def test_current_each_output_nested(self) -> None:
        outputs = {"inner": {"a": {"1": {"value": "a1"}, "2": {"value": "a2"}}, "b": {"1": {"value": "b1"}}}}
        ctx = {
            "outputs": outputs,
            "taskrun": {"value": "1"},
            "parents": [{"taskrun": {"value": "b"}}],
        }
        assert render("{{ currentEachOutput(outputs.inner).value }}", ctx) == "b1"

    def test_print_context(self) -> None:
        assert (
            render("{{ printContext() }}", {"inputs": {"a": 1}, "__secret__": print}) == '{"inputs":{"a":1}}'
        )
