"""The test file format: Kestra's shape accepted, mistakes reported with file, line and field."""

from __future__ import annotations

import pytest

from daemon.errors import FlowFileError
from daemon.flowtests.spec import load_suite
from daemon.language.validate import discover, is_test_file

GOOD = """\
id: hello_tests
namespace: tutorial
flowId: hello
testCases:
  - id: greets
    type: io.kestra.core.tests.flow.UnitTest
    description: says hello
    fixtures:
      inputs: {name: Ada}
      files: {a.csv: "x,y"}
      tasks:
        - id: notify
          description: mock Slack
          state: SUCCESS
          outputs: {code: 200}
    assertions:
      - value: "{{ outputs.greet.value }}"
        equalTo: Hello Ada
        description: greeting
      - taskId: notify
        in: [SUCCESS, WARNING]
  - id: later
    disabled: true
    assertions:
      - value: "{{ execution.state }}"
        isNotNull: true
"""


def test_kestra_shape_loads() -> None:
    suite = load_suite(GOOD, "t.test.yml")
    assert suite.flow_uid == "tutorial/hello"
    first = suite.test_cases[0]
    assert first.fixtures.tasks[0].outputs == {"code": 200}
    assert [a.operator for a in first.assertions] == [
        ("equalTo", "Hello Ada"),
        ("in", ["SUCCESS", "WARNING"]),
    ]
    assert suite.lines == {"greets": 5, "later": 22}


def test_two_operators_on_one_assertion_is_an_error_with_its_line() -> None:
    text = GOOD.replace("        equalTo: Hello Ada\n", "        equalTo: Hello Ada\n        contains: Ada\n")
    with pytest.raises(FlowFileError) as info:
        load_suite(text, "t.test.yml")
    [diagnostic] = info.value.diagnostics
    assert diagnostic.path == "testCases[0].assertions[0]"
    assert diagnostic.line == 17
    assert "exactly one operator" in diagnostic.message and "equalTo, contains" in diagnostic.message


def test_unknown_property_and_missing_flow_id() -> None:
    text = GOOD.replace("flowId: hello\n", "").replace(
        "          state: SUCCESS\n", "          stat: SUCCESS\n"
    )
    with pytest.raises(FlowFileError) as info:
        load_suite(text, "t.test.yml")
    rendered = sorted(d.render() for d in info.value.diagnostics)
    assert any("flowId: required property is missing" in r for r in rendered)
    assert any(":13:11: error: testCases[0].fixtures.tasks[0].stat: unknown property" in r for r in rendered)


def test_test_files_are_never_flows(tmp_path: object) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    (root / "f.yml").write_text("id: f\n")
    (root / "f.test.yml").write_text(GOOD)
    (root / "g.test.yaml").write_text(GOOD)
    assert is_test_file("x/f.test.yml") and not is_test_file("x/f.yml")
    assert discover([root]) == [root / "f.yml"]
    assert discover([root / "f.test.yml"]) == []
