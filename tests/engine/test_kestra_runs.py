"""Runs end as Kestra's: loop context of nested flowables, system.correlationId, globals, Switch without a
match, allowWarning, typed ARRAY outputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.engine.globals_config import load_globals
from daemon.errors import UsageError
from daemon.store import Store
from tests.engine.conftest import Harness, deploy

HEAD = "id: f\nnamespace: test\n"
RET = "io.kestra.plugin.core.debug.Return"
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def values(harness: Harness, execution_id: str, task_id: str) -> list[str]:
    return sorted(str((r.outputs or {}).get("value")) for r in harness.runs(execution_id, task_id))


def test_parent_inside_if_inside_foreach_is_the_iteration(harness: Harness) -> None:
    # Kestra's documented pattern: below an If in a ForEach, the iteration value is parent.taskrun.value
    ex = harness.run(
        HEAD
        + f"""tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["v1", "v2"]
    tasks:
      - id: check
        type: io.kestra.plugin.core.flow.If
        condition: "{{{{ taskrun.value == 'v2' }}}}"
        then:
          - {{id: after_if, type: {RET}, format: "{{{{ parent.taskrun.value }}}}"}}
"""
    )
    assert ex.state == "SUCCESS"
    assert values(harness, ex.id, "after_if") == ["v2"]


def test_parents_of_nested_loops_and_branches(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + f"""tasks:
  - id: outer
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b"]
    tasks:
      - id: inner
        type: io.kestra.plugin.core.flow.ForEach
        values: ["x"]
        tasks:
          - id: sw
            type: io.kestra.plugin.core.flow.Switch
            value: "{{{{ parent.taskrun.value }}}}"
            cases:
              b:
                - id: leaf
                  type: {RET}
                  format: >-
                    {{{{ parents[0].taskrun.value }}}}{{{{ parents[1].taskrun.value
                    }}}}{{{{ parents | length }}}}
            defaults:
              - {{id: other, type: {RET}, format: "{{{{ parent.taskrun.value }}}}-{{{{ taskrun.value }}}}"}}
"""
    )
    assert ex.state == "SUCCESS", harness.logs(ex.id)
    # leaf's parents: the Switch run (value x), the inner ForEach run (value b), the outer ForEach run
    assert values(harness, ex.id, "leaf") == ["xb3"]
    # the Switch's value: its parent is the inner ForEach run, whose value is the outer iteration
    assert values(harness, ex.id, "other") == ["x-x"]


def test_correlation_id_is_the_root_execution_and_subflows_inherit_it(harness: Harness) -> None:
    deploy(
        harness.store,
        "id: child\nnamespace: test\ntasks:\n"
        f"  - {{id: r, type: {RET}, format: '{{{{ labels.system.correlationId }}}}'}}\n",
    )
    ex = harness.run(
        HEAD
        + f"""tasks:
  - {{id: mine, type: {RET}, format: "{{{{ labels['system.correlationId'] }}}}"}}
  - id: sub
    type: io.kestra.plugin.core.flow.Subflow
    namespace: test
    flowId: child
    inheritLabels: false
"""
    )
    assert ex.state == "SUCCESS", harness.logs(ex.id)
    assert ex.labels["system.correlationId"] == ex.id
    assert values(harness, ex.id, "mine") == [ex.id]
    (child,) = harness.store.executions.list(parent_execution_id=ex.id)
    assert child.labels["system.correlationId"] == ex.id
    assert values(harness, child.id, "r") == [ex.id]


@SQLITE_ONLY
def test_globals_from_the_environment_and_from_a_file(store: Store, tmp_path: Path) -> None:
    flow = (
        HEAD
        + "tasks:\n"
        + f"  - {{id: g, type: {RET}, format: '{{{{ globals.region }}}}/{{{{ globals.limits.max }}}}'}}\n"
    )
    inline = Harness(store, tmp_path / "a", {"FLOWD_GLOBALS": "region: eu\nlimits: {max: 3}"})
    ex = inline.run(flow)
    assert ex.state == "SUCCESS" and values(inline, ex.id, "g") == ["eu/3"]
    file = tmp_path / "globals.json"
    file.write_text('{"region": "us", "limits": {"max": 5}}')
    from_file = Harness(store, tmp_path / "b", {"FLOWD_GLOBALS": str(file)})
    ex = from_file.run(flow)
    assert ex.state == "SUCCESS" and values(from_file, ex.id, "g") == ["us/5"]


def test_bad_globals_name_the_variable() -> None:
    assert load_globals({}) == {}
    with pytest.raises(UsageError, match="FLOWD_GLOBALS: expected a map"):
        load_globals({"FLOWD_GLOBALS": "[1, 2]"})
    with pytest.raises(UsageError, match="FLOWD_GLOBALS: not valid YAML"):
        load_globals({"FLOWD_GLOBALS": "a: [1"})


def test_switch_matching_no_case_without_defaults_fails(harness: Harness) -> None:
    switch = """tasks:
  - id: sw
    type: io.kestra.plugin.core.flow.Switch
    value: "zzz"
    cases:
      a: [{id: l, type: io.kestra.plugin.core.log.Log, message: a}]
"""
    ex = harness.run(HEAD + switch)
    assert ex.state == "FAILED"
    assert any("matches no case" in line for line in harness.logs(ex.id))
    with_defaults = switch + "    defaults: [{id: d, type: io.kestra.plugin.core.log.Log, message: d}]\n"
    assert harness.run(HEAD.replace("id: f", "id: g") + with_defaults).state == "SUCCESS"


@SQLITE_ONLY
def test_allow_warning_ends_the_execution_in_success(store: Store, tmp_path: Path) -> None:
    harness = Harness(store, tmp_path / "home")
    task = """  - id: w
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner: {type: io.kestra.plugin.core.runner.Process}
    warningOnStdErr: true
    commands: ["echo careful >&2"]
"""
    assert harness.run(HEAD + "tasks:\n" + task).state == "WARNING"
    assert harness.run(HEAD + "tasks:\n" + task + "    allowWarning: true\n").state == "SUCCESS"


def test_array_and_json_outputs_come_back_typed(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + f"""tasks:
  - {{id: r, type: {RET}, format: "x"}}
outputs:
  - {{id: arr, type: ARRAY, value: "[1, 2]"}}
  - {{id: rendered, type: ARRAY, value: "{{{{ [3, 'four'] }}}}"}}
  - {{id: doc, type: JSON, value: '{{"a": [1]}}'}}
"""
    )
    assert ex.state == "SUCCESS", harness.logs(ex.id)
    assert ex.outputs == {"arr": [1, 2], "rendered": [3, "four"], "doc": {"a": [1]}}
