"""The task union builds each task type's schema on first use, and validates, reports and serializes as
the eager union did."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, ValidationInfo, field_validator

from daemon.language import validate_text
from daemon.language.common import tagged_union
from daemon.language.model import Flow
from daemon.language.tasks_core import LogTask

IF = "io.kestra.plugin.core.flow.If"
LOG = "io.kestra.plugin.core.log.Log"
RETURN = "io.kestra.plugin.core.debug.Return"
NESTED = {
    "id": "nested",
    "namespace": "team.a",
    "tasks": [
        {
            "id": "cond",
            "type": IF,
            "condition": "{{ true }}",
            "then": [{"id": "a", "type": LOG, "message": "hi", "retry": {"maxAttempts": 2, "delay": "PT1S"}}],
            "else": [{"id": "b", "type": RETURN, "format": "x"}],
            "finally": [{"id": "c", "type": "io.kestra.core.tasks.log.Log", "message": "bye"}],
        },
        {
            "id": "dag",
            "type": "io.kestra.plugin.core.flow.Dag",
            "tasks": [{"task": {"id": "d", "type": RETURN}}],
        },
    ],
}


def _built_in_fresh_process(flow_text: str) -> list[str]:
    code = (
        "from daemon.language.validate import load_flow\n"
        "from daemon.language.tasks import TASK_CLASSES\n"
        f"load_flow({flow_text!r})\n"
        "print(sorted(c.__name__ for c in TASK_CLASSES.values() if c.__pydantic_complete__))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return list(json.loads(out.replace("'", '"')))


def test_validation_builds_only_the_task_types_a_flow_uses() -> None:
    returns = "".join(f"  - {{id: r{i}, type: {RETURN}, format: x}}\n" for i in range(3))
    assert _built_in_fresh_process(f"id: f\nnamespace: n\ntasks:\n{returns}") == ["ReturnTask"]
    nested = textwrap.dedent(
        f"""\
        id: f
        namespace: n
        tasks:
          - id: each
            type: io.kestra.plugin.core.flow.ForEach
            values: [1, 2]
            tasks:
              - id: par
                type: io.kestra.plugin.core.flow.Parallel
                tasks:
                  - {{id: l, type: {LOG}, message: hi}}
          - id: cond
            type: {IF}
            condition: "{{{{ true }}}}"
            then: [{{id: r, type: {RETURN}}}]
        """
    )
    assert _built_in_fresh_process(nested) == [
        "ForEachTask",
        "IfTask",
        "LogTask",
        "ParallelTask",
        "ReturnTask",
    ]


def test_an_error_keeps_its_location_with_the_union_tags() -> None:
    data = {"id": "f", "namespace": "n", "tasks": [{"id": "i", "type": IF, "condition": True, "then": [
        {"id": "l", "type": LOG, "message": "hi", "retyr": 1}]}]}  # fmt: skip
    with pytest.raises(ValidationError) as caught:
        Flow.model_validate(data)
    (error,) = caught.value.errors(include_url=False)
    assert error["type"] == "extra_forbidden"
    assert error["loc"] == ("tasks", 0, IF, "then", 0, LOG, "retyr")


@pytest.mark.parametrize("task", [{"id": "x", "type": "io.kestra.Nope"}, {"id": "x"}, "a string"])
def test_an_unknown_type_fails_as_before(task: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        Flow.model_validate({"id": "f", "namespace": "n", "tasks": [task]})
    (error,) = caught.value.errors(include_url=False)
    assert (error["type"], error["msg"], error["loc"]) == (
        "unsupported_task_type",
        "unsupported or missing task type",
        ("tasks", 0),
    )


def test_a_task_model_is_taken_as_it_is() -> None:
    task = LogTask(id="l", type=LOG, message="hi")
    flow = Flow.model_validate({"id": "f", "namespace": "n", "tasks": [task]})
    assert flow.tasks[0] is task


def test_serialization_is_each_models_own() -> None:
    flow = Flow.model_validate(NESTED)
    dumped = flow.model_dump(mode="json", by_alias=True, exclude_none=True, exclude_defaults=True)
    assert dumped["tasks"] == [
        {
            "id": "cond",
            "type": IF,
            "condition": "{{ true }}",
            "then": [
                {"id": "a", "type": LOG, "message": "hi", "retry": {"interval": "PT1S", "maxAttempt": 2}}
            ],
            "else": [{"id": "b", "type": RETURN, "format": "x"}],
            "finally": [{"id": "c", "type": LOG, "message": "bye"}],
        },
        {
            "id": "dag",
            "type": "io.kestra.plugin.core.flow.Dag",
            "tasks": [{"task": {"id": "d", "type": RETURN}}],
        },
    ]
    assert Flow.model_validate(flow.model_dump(by_alias=True)) == flow
    assert json.loads(flow.model_dump_json(by_alias=True)) == flow.model_dump(mode="json", by_alias=True)


def test_an_unpickled_flow_serializes_in_a_fresh_process(tmp_path: Path) -> None:
    # the parsed-flow cache hands out flows whose task classes were never built in that process
    flow = Flow.model_validate(NESTED)
    pickled = tmp_path / "flow.pickle"
    pickled.write_bytes(pickle.dumps(flow))
    code = (
        "import json, pickle\n"
        f"flow = pickle.loads(open({str(pickled)!r}, 'rb').read())\n"
        "print(json.dumps(flow.model_dump(mode='json', by_alias=True, exclude_none=True)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == flow.model_dump(mode="json", by_alias=True, exclude_none=True)


@pytest.mark.parametrize(
    ("task", "path", "message", "hint"),
    [
        (
            f"{{id: i, type: {IF}, condition: true, then: [{{id: l, type: {LOG}, message: hi, retyr: 1}}]}}",
            "tasks[0].then[0].retyr",
            f"unknown property 'retyr' for {LOG}",
            "did you mean 'retry'?",
        ),
        (
            "{id: d, type: io.kestra.plugin.core.flow.Dag, tasks: [{task: {id: r, type: "
            f"{RETURN}, formt: x}}}}]}}",
            "tasks[0].tasks[0].task.formt",
            f"unknown property 'formt' for {RETURN}",
            "did you mean 'format'?",
        ),
    ],
)
def test_a_nested_tasks_unknown_property_names_its_type(
    task: str, path: str, message: str, hint: str
) -> None:
    (found,) = validate_text(f"id: f\nnamespace: n\ntasks:\n  - {task}\n", "f.yml").diagnostics
    assert (found.path, found.message, found.hint) == (path, message, hint)


class _Seen(BaseModel):
    model_config = ConfigDict(defer_build=True)

    kind: Literal["seen"]
    value: str

    @field_validator("value")
    @classmethod
    def _context(cls, value: str, info: ValidationInfo) -> str:
        return f"{value}@{(info.context or {}).get('where')}"


def test_the_validation_context_reaches_the_member() -> None:
    union = tagged_union({"seen": _Seen}, lambda v: v.get("kind") if isinstance(v, dict) else None,
                         error_type="unsupported_seen_type", what="seen")  # fmt: skip
    adapter = TypeAdapter(list[union])  # type: ignore[valid-type]
    (seen,) = adapter.validate_python([{"kind": "seen", "value": "v"}], context={"where": "here"})
    assert seen.value == "v@here"
