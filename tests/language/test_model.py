"""The flow model: Kestra's syntax, legacy aliases and the seed material's dialect."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from daemon.language.model import Flow, ScheduleTrigger, WebhookTrigger
from daemon.language.tasks import ignored_properties, iter_tasks, task_tag
from daemon.language.tasks_flow import DagTask, ForEachTask, IfTask, SubflowTask
from daemon.language.tasks_scripts import PythonCommandsTask, PythonScriptTask, ShellCommandsTask


def flow(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "f",
        "namespace": "team.a",
        "tasks": [{"id": "t", "type": "io.kestra.plugin.core.log.Log", "message": "hi"}],
    }
    base.update(extra)
    return base


def errors_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as info:
        Flow.model_validate(data)
    return list(info.value.errors())


def test_minimal_flow() -> None:
    f = Flow.model_validate(flow())
    assert f.uid == "team.a/f"
    assert f.tasks[0].type == "io.kestra.plugin.core.log.Log"
    assert not f.is_dag


@pytest.mark.parametrize(
    ("legacy", "current"),
    [
        ("io.kestra.core.tasks.log.Log", "io.kestra.plugin.core.log.Log"),
        ("io.kestra.core.tasks.debugs.Return", "io.kestra.plugin.core.debug.Return"),
        ("io.kestra.core.tasks.scripts.Shell", "io.kestra.plugin.scripts.shell.Commands"),
        ("io.kestra.core.tasks.scripts.Bash", "io.kestra.plugin.scripts.shell.Commands"),
        ("io.kestra.core.tasks.flows.Flow", "io.kestra.plugin.core.flow.Subflow"),
        ("io.kestra.core.tasks.flows.EachSequential", "io.kestra.plugin.core.flow.ForEach"),
    ],
)
def test_legacy_type_names_resolve_to_current(legacy: str, current: str) -> None:
    assert task_tag({"type": legacy, "commands": ["x"]}) == current


def test_unknown_type_and_property_are_errors() -> None:
    errs = errors_of(
        flow(
            tasks=[
                {"id": "a", "type": "io.kestra.plugin.core.log.Nope"},
                {"id": "b", "type": "io.kestra.plugin.core.log.Log", "mesage": "x"},
            ]
        )
    )
    kinds = {e["type"] for e in errs}
    assert "unsupported_task_type" in kinds
    assert "extra_forbidden" in kinds


def test_ignored_kestra_property_is_accepted() -> None:
    f = Flow.model_validate(
        flow(
            tasks=[
                {
                    "id": "t",
                    "type": "io.kestra.plugin.core.log.Log",
                    "message": "m",
                    "workerGroup": {"key": "g"},
                }
            ]
        )
    )
    assert f.tasks[0].id == "t"
    assert "logToFile" in ignored_properties("io.kestra.plugin.core.log.Log")


def test_ids_and_namespace_follow_kestra_rules() -> None:
    assert errors_of(flow(id="bad id"))
    assert errors_of(flow(namespace="Team.A"))
    assert errors_of(flow(tasks=[{"id": "-x", "type": "io.kestra.plugin.core.log.Log", "message": "m"}]))


def test_seed_dialect_flow_is_valid() -> None:
    f = Flow.model_validate(
        {
            "id": "seed-style",
            "namespace": "example",
            "inputs": [
                {"name": "date", "type": "string"},
                {"name": "flag", "type": "bool", "defaults": True},
            ],
            "triggers": [{"id": "daily", "type": "schedule", "cron": "0 0 * * *"}],
            "tasks": [
                {"id": "extract", "type": "io.kestra.core.tasks.scripts.Python", "script": "print('x')"},
                {
                    "id": "transform",
                    "type": "io.kestra.core.tasks.scripts.Shell",
                    "commands": ["echo go"],
                    "dependsOn": ["extract"],
                    "retry": {"maxAttempts": 3, "delay": "PT1M", "multiplier": 2},
                },
                {
                    "id": "notify",
                    "type": "io.kestra.core.tasks.notifications.Slack",
                    "url": "{{ secret.SLACK }}",
                    "message": "done",
                    "dependsOn": ["transform"],
                    "conditions": [
                        {
                            "type": "io.kestra.core.models.conditions.ExecutionStatusCondition",
                            "in": ["SUCCESS"],
                        }
                    ],
                },
                {"id": "call", "type": "io.kestra.core.tasks.http.Request", "url": "http://127.0.0.1/x"},
                {
                    "id": "sub",
                    "type": "io.kestra.core.tasks.flows.Flow",
                    "namespace": "example",
                    "flowId": "child",
                },
            ],
        }
    )
    assert f.is_dag
    assert [i.id for i in f.inputs] == ["date", "flag"]
    assert [i.type for i in f.inputs] == ["STRING", "BOOLEAN"]
    assert isinstance(f.triggers[0], ScheduleTrigger)
    assert isinstance(f.tasks[0], PythonScriptTask)
    shell = f.tasks[1]
    assert isinstance(shell, ShellCommandsTask)
    assert shell.retry is not None
    assert (shell.retry.type, shell.retry.maxAttempt, shell.retry.delayFactor) == ("exponential", 3, 2.0)
    assert shell.retry.interval is not None and shell.retry.interval.total_seconds() == 60
    assert f.tasks[2].conditions[0].type == "io.kestra.plugin.core.condition.ExecutionStatus"
    assert f.tasks[3].uri == "http://127.0.0.1/x"
    assert isinstance(f.tasks[4], SubflowTask)


def test_legacy_python_with_commands_is_python_commands() -> None:
    f = Flow.model_validate(
        flow(
            tasks=[{"id": "p", "type": "io.kestra.core.tasks.scripts.Python", "commands": ["python main.py"]}]
        )
    )
    assert isinstance(f.tasks[0], PythonCommandsTask)


def test_each_parallel_becomes_foreach() -> None:
    f = Flow.model_validate(
        flow(
            tasks=[
                {
                    "id": "each",
                    "type": "io.kestra.core.tasks.flows.EachParallel",
                    "value": ["a", "b"],
                    "concurrent": 2,
                    "tasks": [
                        {"id": "x", "type": "io.kestra.plugin.core.log.Log", "message": "{{ taskrun.value }}"}
                    ],
                }
            ]
        )
    )
    each = f.tasks[0]
    assert isinstance(each, ForEachTask)
    assert (each.values, each.concurrencyLimit) == (["a", "b"], 2)


def test_nested_tasks_are_walked() -> None:
    f = Flow.model_validate(
        flow(
            tasks=[
                {
                    "id": "if",
                    "type": "io.kestra.plugin.core.flow.If",
                    "condition": "{{ true }}",
                    "then": [{"id": "a", "type": "io.kestra.plugin.core.log.Log", "message": "a"}],
                    "else": [{"id": "b", "type": "io.kestra.plugin.core.log.Log", "message": "b"}],
                },
                {
                    "id": "dag",
                    "type": "io.kestra.plugin.core.flow.Dag",
                    "tasks": [
                        {"task": {"id": "c", "type": "io.kestra.plugin.core.log.Log", "message": "c"}},
                        {
                            "task": {"id": "d", "type": "io.kestra.plugin.core.log.Log", "message": "d"},
                            "dependsOn": ["c"],
                        },
                    ],
                },
            ],
            errors=[{"id": "e", "type": "io.kestra.plugin.core.log.Log", "message": "e"}],
        )
    )
    assert isinstance(f.tasks[0], IfTask) and isinstance(f.tasks[1], DagTask)
    assert [t.id for t in f.all_tasks()] == ["if", "a", "b", "dag", "c", "d", "e"]
    assert [t.id for t in iter_tasks(f.tasks)] == ["if", "a", "b", "dag", "c", "d"]


def test_plugin_defaults_fill_and_force_values() -> None:
    f = Flow.model_validate(
        flow(
            taskDefaults=[
                {"type": "io.kestra.plugin.jdbc.postgresql", "values": {"url": "jdbc:x", "username": "u"}}
            ],
            pluginDefaults=[
                {"type": "io.kestra.plugin.core.log", "forced": True, "values": {"level": "WARN"}}
            ],
            tasks=[
                {
                    "id": "q",
                    "type": "io.kestra.plugin.jdbc.postgresql.Query",
                    "sql": "select 1",
                    "username": "me",
                },
                {"id": "l", "type": "io.kestra.plugin.core.log.Log", "message": "m", "level": "DEBUG"},
            ],
        )
    )
    query, log = f.tasks
    assert (query.url, query.username) == ("jdbc:x", "me")
    assert log.level == "WARN"


def test_labels_as_list_and_triggers() -> None:
    f = Flow.model_validate(
        flow(
            labels=[{"key": "env", "value": "dev"}, {"key": "n", "value": 3}],
            triggers=[
                {"id": "hook", "type": "io.kestra.core.models.triggers.types.Webhook", "key": "k1"},
                {
                    "id": "s",
                    "type": "io.kestra.plugin.core.trigger.Schedule",
                    "cron": "*/5 * * * * *",
                    "withSeconds": True,
                },
            ],
        )
    )
    assert f.labels == {"env": "dev", "n": "3"}
    assert isinstance(f.triggers[0], WebhookTrigger)
    assert f.triggers[0].type == "io.kestra.plugin.core.trigger.Webhook"


def test_unknown_trigger_type_is_an_error() -> None:
    errs = errors_of(flow(triggers=[{"id": "x", "type": "io.kestra.plugin.kafka.Trigger"}]))
    assert errs[0]["type"] == "unsupported_trigger_type"
