"""Flowable tasks and sequencing, on SQLite and PostgreSQL."""

from __future__ import annotations

from tests.engine.conftest import Harness

HEAD = "id: f\nnamespace: test\n"


def test_sequential_log_return_and_flow_outputs(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """
inputs:
  - id: who
    type: STRING
    defaults: world
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "hello {{ inputs.who }}"
  - id: ret
    type: io.kestra.plugin.core.debug.Return
    format: "{{ flow.namespace }}-{{ task.id }}"
outputs:
  - id: result
    type: STRING
    value: "{{ outputs.ret.value }}"
""",
        {"who": "bob"},
    )
    assert ex.state == "SUCCESS"
    assert ex.outputs == {"result": "test-ret"}
    assert harness.logs(ex.id) == ["hello bob"]
    runs = harness.runs(ex.id)
    assert [h["state"] for h in runs[0].histories] == ["CREATED", "RUNNING", "SUCCESS"]
    assert [h["state"] for h in ex.histories] == ["CREATED", "RUNNING", "SUCCESS"]


def test_if_uses_kestra_truthiness(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """
tasks:
  - id: check
    type: io.kestra.plugin.core.flow.If
    condition: "false"
    then:
      - {id: a, type: io.kestra.plugin.core.log.Log, message: then}
    else:
      - {id: b, type: io.kestra.plugin.core.log.Log, message: else}
"""
    )
    assert ex.state == "SUCCESS"
    assert harness.states(ex.id) == {"check": "SUCCESS", "b": "SUCCESS"}


def test_switch_case_and_defaults(harness: Harness) -> None:
    flow = (
        HEAD
        + """
inputs: [{id: v, type: STRING}]
tasks:
  - id: sw
    type: io.kestra.plugin.core.flow.Switch
    value: "{{ inputs.v }}"
    cases:
      A: [{id: a, type: io.kestra.plugin.core.log.Log, message: A}]
    defaults: [{id: d, type: io.kestra.plugin.core.log.Log, message: D}]
"""
    )
    assert set(harness.states(harness.run(flow, {"v": "A"}).id)) == {"sw", "a"}
    assert set(harness.states(harness.run(flow, {"v": "Z"}).id)) == {"sw", "d"}


def test_foreach_values_iterations_and_outputs_by_value(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: '["x", "y", "z"]'
    concurrencyLimit: 0
    tasks:
      - id: inner
        type: io.kestra.plugin.core.debug.Return
        format: "{{ taskrun.value }}-{{ taskrun.iteration }}"
  - id: after
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.inner['y'].value }}"
"""
    )
    assert ex.state == "SUCCESS"
    inner = sorted(harness.runs(ex.id, "inner"), key=lambda r: r.iteration or 0)
    assert [(r.value, r.iteration) for r in inner] == [("x", 0), ("y", 1), ("z", 2)]
    assert [r.outputs for r in inner] == [{"value": "x-0"}, {"value": "y-1"}, {"value": "z-2"}]
    assert harness.runs(ex.id, "after")[0].outputs == {"value": "y-1"}


def test_nested_foreach_sees_parent_value(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """
tasks:
  - id: outer
    type: io.kestra.plugin.core.flow.ForEach
    values: [a, b]
    tasks:
      - id: inner
        type: io.kestra.plugin.core.flow.ForEach
        values: [1, 2]
        tasks:
          - id: leaf
            type: io.kestra.plugin.core.debug.Return
            format: "{{ parent.taskrun.value }}{{ taskrun.value }}"
  - id: pick
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.leaf['b']['2'].value }}"
"""
    )
    assert ex.state == "SUCCESS"
    assert sorted(r.outputs["value"] for r in harness.runs(ex.id, "leaf")) == ["a1", "a2", "b1", "b2"]
    assert harness.runs(ex.id, "pick")[0].outputs == {"value": "b2"}


def test_foreach_sequential_by_default(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """
tasks:
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: [1, 2, 3]
    tasks:
      - {id: l, type: io.kestra.plugin.core.log.Log, message: "{{ taskrun.value }}"}
"""
    )
    assert harness.logs(ex.id) == ["1", "2", "3"]


def test_parallel_and_sequential_and_dag_ordering(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """
tasks:
  - id: par
    type: io.kestra.plugin.core.flow.Parallel
    concurrent: 2
    tasks:
      - {id: p1, type: io.kestra.plugin.core.log.Log, message: p}
      - {id: p2, type: io.kestra.plugin.core.log.Log, message: p}
      - {id: p3, type: io.kestra.plugin.core.log.Log, message: p}
  - id: seq
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - {id: s1, type: io.kestra.plugin.core.log.Log, message: s1}
      - {id: s2, type: io.kestra.plugin.core.log.Log, message: s2}
  - id: dag
    type: io.kestra.plugin.core.flow.Dag
    tasks:
      - task: {id: d3, type: io.kestra.plugin.core.log.Log, message: d3}
        dependsOn: [d2]
      - task: {id: d2, type: io.kestra.plugin.core.log.Log, message: d2}
        dependsOn: [d1]
      - task: {id: d1, type: io.kestra.plugin.core.log.Log, message: d1}
"""
    )
    assert ex.state == "SUCCESS"
    logs = harness.logs(ex.id)
    assert logs[3:] == ["s1", "s2", "d1", "d2", "d3"]


def test_top_level_depends_on_runs_as_dag(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """
tasks:
  - {id: c, type: io.kestra.plugin.core.log.Log, message: c, dependsOn: [a, b]}
  - {id: a, type: io.kestra.plugin.core.log.Log, message: a}
  - {id: b, type: io.kestra.plugin.core.log.Log, message: b, dependsOn: [a]}
"""
    )
    assert ex.state == "SUCCESS"
    assert harness.logs(ex.id) == ["a", "b", "c"]


def test_allow_failure_flowable_gives_warning(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """
tasks:
  - id: af
    type: io.kestra.plugin.core.flow.AllowFailure
    tasks:
      - {id: boom, type: io.kestra.plugin.core.execution.Fail}
  - {id: next, type: io.kestra.plugin.core.log.Log, message: after}
"""
    )
    assert ex.state == "WARNING"
    assert harness.states(ex.id) == {"af": "WARNING", "boom": "FAILED", "next": "SUCCESS"}


def test_subflow_outputs_and_child_execution(harness: Harness) -> None:
    from tests.engine.conftest import deploy

    deploy(
        harness.store,
        """
id: child
namespace: test
inputs: [{id: n, type: INT}]
tasks:
  - {id: r, type: io.kestra.plugin.core.debug.Return, format: "{{ inputs.n * 2 }}"}
outputs:
  - {id: doubled, type: STRING, value: "{{ outputs.r.value }}"}
""",
    )
    ex = harness.run(
        HEAD
        + """
tasks:
  - id: sub
    type: io.kestra.plugin.core.flow.Subflow
    namespace: test
    flowId: child
    inputs: {n: 21}
  - {id: show, type: io.kestra.plugin.core.debug.Return, format: "{{ outputs.sub.outputs.doubled }}"}
"""
    )
    assert ex.state == "SUCCESS"
    sub = harness.runs(ex.id, "sub")[0]
    child = harness.store.executions.get(sub.outputs["executionId"])
    assert child is not None and child.parent_execution_id == ex.id and child.state == "SUCCESS"
    assert harness.runs(ex.id, "show")[0].outputs == {"value": "42"}


def test_failed_subflow_fails_parent(harness: Harness) -> None:
    from tests.engine.conftest import deploy

    deploy(
        harness.store,
        "id: bad\nnamespace: test\ntasks:\n  - {id: f, type: io.kestra.plugin.core.execution.Fail}\n",
    )
    ex = harness.run(
        HEAD
        + "tasks:\n  - {id: sub, type: io.kestra.plugin.core.flow.Subflow, namespace: test, flowId: bad}\n"
    )
    assert ex.state == "FAILED"


def test_pause_with_duration_resumes(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """
tasks:
  - {id: wait, type: io.kestra.plugin.core.flow.Pause, pauseDuration: PT0.05S}
  - {id: after, type: io.kestra.plugin.core.log.Log, message: resumed}
"""
    )
    assert ex.state == "SUCCESS"
    states = [h["state"] for h in harness.runs(ex.id, "wait")[0].histories]
    assert states == ["CREATED", "RUNNING", "PAUSED", "RUNNING", "SUCCESS"]


def test_exit_ends_execution_with_state(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """
tasks:
  - {id: stop, type: io.kestra.plugin.core.execution.Exit, state: WARNING}
  - {id: never, type: io.kestra.plugin.core.log.Log, message: nope}
"""
    )
    assert ex.state == "WARNING"
    assert "never" not in harness.states(ex.id)


def test_working_directory_shares_files(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """
tasks:
  - id: wd
    type: io.kestra.plugin.core.flow.WorkingDirectory
    inputFiles:
      hello.txt: "hi {{ flow.id }}"
    outputFiles: ["*.txt"]
    tasks:
      - {id: r, type: io.kestra.plugin.core.log.Log, message: inside}
"""
    )
    assert ex.state == "SUCCESS"
    wd = harness.runs(ex.id, "wd")[0]
    assert "hello.txt" in (wd.outputs or {}).get("outputFiles", {})
