"""Typed flow outputs, afterExecution, task run order, flow-level retry; inline core tasks."""

from __future__ import annotations

from dataclasses import replace

import pytest

from daemon.engine.outputs import typed_output
from tests.engine.conftest import Harness

HEAD = "id: f\nnamespace: test\n"
RET = "io.kestra.plugin.core.debug.Return"
LOG = "io.kestra.plugin.core.log.Log"


@pytest.mark.parametrize(
    ("kind", "raw", "value"),
    [
        ("INT", "49", 49),
        ("INT", " 7 ", 7),
        ("INT", "3.0", 3),
        ("FLOAT", "2.5", 2.5),
        ("BOOLEAN", "true", True),
        ("BOOLEAN", "False", False),
        ("JSON", '{"a": [1, 2]}', {"a": [1, 2]}),
        ("STRING", "49", "49"),
    ],
)
def test_typed_output_converts(kind: str, raw: str, value: object) -> None:
    assert typed_output(kind, raw) == value
    assert type(typed_output(kind, raw)) is type(value)


@pytest.mark.parametrize(
    ("kind", "raw"), [("INT", "4.5"), ("INT", "abc"), ("FLOAT", "x"), ("BOOLEAN", "maybe")]
)
def test_typed_output_rejects(kind: str, raw: str) -> None:
    with pytest.raises(ValueError):
        typed_output(kind, raw)


def test_flow_outputs_are_typed(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + f"""tasks:
  - {{id: n, type: {RET}, format: "49"}}
outputs:
  - {{id: count, type: INT, value: "{{{{ outputs.n.value }}}}"}}
  - {{id: ratio, type: FLOAT, value: "0.5"}}
  - {{id: ok, type: BOOLEAN, value: "true"}}
  - {{id: doc, type: JSON, value: '{{"k": 1}}'}}
  - {{id: text, type: STRING, value: "{{{{ outputs.n.value }}}}"}}
"""
    )
    assert ex.state == "SUCCESS"
    assert ex.outputs == {"count": 49, "ratio": 0.5, "ok": True, "doc": {"k": 1}, "text": "49"}


def test_flow_output_that_does_not_convert_fails_naming_it(harness: Harness) -> None:
    ex = harness.run(
        HEAD + f"tasks:\n  - {{id: n, type: {RET}, format: abc}}\noutputs:\n"
        "  - {id: count, type: INT, value: '{{ outputs.n.value }}'}\n"
    )
    assert ex.state == "FAILED"
    assert any("flow output 'count' (INT)" in line for line in harness.logs(ex.id))


def test_after_execution_runs_after_the_end_without_changing_the_state(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + f"""tasks:
  - {{id: boom, type: io.kestra.plugin.core.execution.Fail, errorMessage: stop}}
afterExecution:
  - {{id: seen, type: {LOG}, message: "ended {{{{ execution.state }}}}"}}
  - {{id: fine, type: {RET}, format: ok}}
"""
    )
    assert ex.state == "FAILED"
    assert harness.states(ex.id) == {"boom": "FAILED", "seen": "SUCCESS", "fine": "SUCCESS"}
    assert "ended FAILED" in harness.logs(ex.id)
    row = harness.store.executions.get(ex.id)
    assert row is not None and row.state == "FAILED"
    assert [h["state"] for h in row.histories] == ["CREATED", "RUNNING", "FAILED"]


def test_task_runs_are_listed_in_flow_order(harness: Harness) -> None:
    inner = "".join(f"      - {{id: p{i}, type: {RET}, format: '{i}'}}\n" for i in range(30))
    ex = harness.run(
        HEAD
        + f"tasks:\n  - {{id: first, type: {LOG}, message: a}}\n"
        + f"  - id: par\n    type: io.kestra.plugin.core.flow.Parallel\n    tasks:\n{inner}"
        + f"  - {{id: last, type: {LOG}, message: z}}\n"
    )
    assert ex.state == "SUCCESS"
    order = [r.task_id for r in harness.runs(ex.id)]
    assert order == ["first", "par", *(f"p{i}" for i in range(30)), "last"]


def test_flow_retry_applies_to_tasks_without_their_own(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """retry:
  type: constant
  interval: PT0.01S
  maxAttempt: 3
tasks:
  - id: flaky
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: "attempt {{ taskrun.attemptsCount }}"
    condition: "{{ taskrun.attemptsCount < 2 }}"
  - id: own
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: never again
    retry: {type: constant, interval: PT0.01S, maxAttempt: 1}
"""
    )
    runs = {r.task_id: r for r in harness.runs(ex.id)}
    assert [a["state"] for a in runs["flaky"].attempts] == ["FAILED", "FAILED", "SUCCESS"]
    assert [a["state"] for a in runs["own"].attempts] == ["FAILED"]
    assert ex.state == "FAILED"


def test_flow_retry_with_create_new_execution_is_not_applied_to_tasks(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """retry: {type: constant, interval: PT0.01S, maxAttempt: 3, behavior: CREATE_NEW_EXECUTION}
tasks:
  - {id: boom, type: io.kestra.plugin.core.execution.Fail, errorMessage: stop}
"""
    )
    assert ex.state == "RETRIED"  # a new execution retries it (tests/engine/test_flow_retry.py)
    assert len(harness.runs(ex.id, "boom")[0].attempts) == 1


def test_run_until_done_returns_the_row_as_stored(harness: Harness) -> None:
    ex = harness.run(
        HEAD + f"tasks:\n  - {{id: a, type: {LOG}, message: hi}}\n  - {{id: b, type: {RET}, format: x}}\n"
    )
    row = harness.store.executions.get(ex.id)
    assert row is not None
    assert replace(ex, heartbeat_at=row.heartbeat_at) == row  # the heartbeat is liveness, not state
