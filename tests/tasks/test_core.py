"""Core tasks through the registry, on a hand-built RunContext."""

from __future__ import annotations

import asyncio

import pytest

from daemon.errors import TaskError
from daemon.tasks.core import is_truthy, labels_of
from tests.tasks.conftest import Harness, make_task

CORE = "io.kestra.plugin.core"


def test_log_renders_each_message_at_its_level(harness: Harness) -> None:
    harness.variables["inputs"] = {"name": "Ada"}
    task = make_task({"type": f"{CORE}.log.Log", "message": ["hi {{ inputs.name }}", "bye"], "level": "WARN"})
    result = harness.run(task)
    assert result.state == "SUCCESS"
    assert harness.logs == [("WARN", "hi Ada"), ("WARN", "bye")]


def test_legacy_log_and_echo(harness: Harness) -> None:
    harness.run(make_task({"type": "io.kestra.core.tasks.log.Log", "message": "one"}))
    harness.run(make_task({"type": "io.kestra.core.tasks.debugs.Echo", "format": "{{ 1 + 1 }}"}))
    assert harness.logs == [("INFO", "one"), ("INFO", "2")]


def test_return_and_output_values(harness: Harness) -> None:
    harness.variables["inputs"] = {"n": 3}
    assert harness.run(make_task({"type": f"{CORE}.debug.Return", "format": "n={{ inputs.n }}"})).outputs == {
        "value": "n=3"
    }
    values = {"a": "{{ inputs.n }}", "b": ["x", "{{ inputs.n }}"]}
    result = harness.run(make_task({"type": f"{CORE}.output.OutputValues", "values": values}))
    assert result.outputs == {"values": {"a": "3", "b": ["x", "3"]}}


def test_fail_without_condition_fails_with_rendered_message(harness: Harness) -> None:
    harness.variables["inputs"] = {"why": "bad input"}
    with pytest.raises(TaskError, match="bad input"):
        harness.run(make_task({"type": f"{CORE}.execution.Fail", "errorMessage": "{{ inputs.why }}"}))


@pytest.mark.parametrize(
    ("condition", "fails"), [("{{ 1 == 1 }}", True), ("{{ 1 == 2 }}", False), (False, False)]
)
def test_fail_condition(harness: Harness, condition: object, fails: bool) -> None:
    task = make_task({"type": f"{CORE}.execution.Fail", "condition": condition})
    if fails:
        with pytest.raises(TaskError, match="Task failure"):
            harness.run(task)
    else:
        assert harness.run(task).state == "SUCCESS"


def test_truthiness() -> None:
    assert [is_truthy(v) for v in ("true", "True", "1", "yes", 1, [0])] == [True] * 6
    assert [is_truthy(v) for v in ("false", "FALSE", "0", "", " ", None, 0, [], "null")] == [False] * 9


def test_exit_sets_execution_effect(harness: Harness) -> None:
    task = make_task({"type": f"{CORE}.execution.Exit", "state": "WARNING", "condition": "{{ true }}"})
    result, ctx = harness.run_with(task, lambda ctx: None)
    assert result.state == "SUCCESS"
    assert ctx.execution_effects == {"exit": "WARNING"}
    skipped = make_task({"type": f"{CORE}.execution.Exit", "state": "KILLED", "condition": "false"})
    _, ctx = harness.run_with(skipped, lambda ctx: None)
    assert ctx.execution_effects == {}


def test_labels_from_map_list_and_json(harness: Harness) -> None:
    harness.variables["inputs"] = {"env": "prod"}
    task = make_task({"type": f"{CORE}.execution.Labels", "labels": {"env": "{{ inputs.env }}", "n": 1}})
    _, ctx = harness.run_with(task, lambda ctx: ctx.execution_effects.update(labels={"old": "x"}))
    assert ctx.execution_effects["labels"] == {"old": "x", "env": "prod", "n": "1"}
    assert labels_of([{"key": "a", "value": True}]) == {"a": "true"}
    assert labels_of('{"a": "b"}') == {"a": "b"}
    with pytest.raises(TaskError):
        labels_of([{"key": "a"}])


def test_sleep_waits_and_is_cancellable(harness: Harness) -> None:
    assert harness.run(make_task({"type": f"{CORE}.flow.Sleep", "duration": "PT0.01S"})).state == "SUCCESS"
    cancelled = asyncio.Event()
    cancelled.set()
    long = make_task({"type": f"{CORE}.flow.Sleep", "duration": "PT1H"})
    assert harness.run(long, harness.context(cancelled=cancelled)).state == "KILLED"


def test_purge_current_execution_files(harness: Harness, tmp_path) -> None:  # type: ignore[no-untyped-def]
    src = tmp_path / "f.txt"
    src.write_text("x")
    uri = harness.storage.put_file("exec1", "run0", "f.txt", src)
    assert harness.storage.path_of(uri).exists()
    result = harness.run(make_task({"type": f"{CORE}.storage.PurgeCurrentExecutionFiles"}))
    assert result.outputs["count"] == 1
    assert not harness.storage.path_of(uri).exists()


def test_registry_refuses_a_model_of_another_type(harness: Harness) -> None:
    from daemon.tasks.registry import PLUGINS

    task = make_task({"type": f"{CORE}.log.Log", "message": "x"})
    with pytest.raises(TaskError, match="not a ReturnTask"):
        asyncio.run(PLUGINS[f"{CORE}.debug.Return"](task, harness.context()))
