"""Key-value tasks against an in-memory KvPort."""

from __future__ import annotations

import pytest

from daemon.errors import TaskError
from daemon.tasks.kv import typed_value
from tests.tasks.conftest import Harness, make_task

KV = "io.kestra.plugin.core.kv"


def test_set_get_delete_in_flow_namespace(harness: Harness) -> None:
    harness.variables["inputs"] = {"k": "day", "v": "monday"}
    harness.run(
        make_task({"type": f"{KV}.Set", "key": "{{ inputs.k }}", "value": "{{ inputs.v }}", "ttl": "PT1M"})
    )
    assert harness.kv.data == {("company.team", "day"): "monday"}
    assert harness.kv.ttls[("company.team", "day")] == 60
    assert harness.run(make_task({"type": f"{KV}.Get", "key": "day"})).outputs == {"value": "monday"}
    assert harness.run(make_task({"type": f"{KV}.Delete", "key": "day"})).outputs == {"deleted": True}
    assert harness.run(make_task({"type": f"{KV}.Delete", "key": "day"})).outputs == {"deleted": False}
    assert harness.run(make_task({"type": f"{KV}.Get", "key": "day"})).outputs == {"value": None}


def test_other_namespace_and_structured_value(harness: Harness) -> None:
    harness.run(make_task({"type": f"{KV}.Set", "key": "k", "namespace": "other", "value": {"a": [1, 2]}}))
    assert harness.kv.get("other", "k") == {"a": [1, 2]}
    got = harness.run(make_task({"type": f"{KV}.Get", "key": "k", "namespace": "other"}))
    assert got.outputs == {"value": {"a": [1, 2]}}


def test_overwrite_false_and_error_on_missing(harness: Harness) -> None:
    harness.run(make_task({"type": f"{KV}.Set", "key": "k", "value": "1"}))
    with pytest.raises(TaskError, match="already exists"):
        harness.run(make_task({"type": f"{KV}.Set", "key": "k", "value": "2", "overwrite": False}))
    assert harness.kv.get("company.team", "k") == "1"
    with pytest.raises(TaskError, match="no key 'nope'"):
        harness.run(make_task({"type": f"{KV}.Get", "key": "nope", "errorOnMissing": True}))
    with pytest.raises(TaskError, match="no key 'nope'"):
        harness.run(make_task({"type": f"{KV}.Delete", "key": "nope", "errorOnMissing": True}))


def test_kv_types() -> None:
    assert typed_value("42", "NUMBER") == 42
    assert typed_value("4.5", "NUMBER") == 4.5
    assert typed_value("TRUE", "BOOLEAN") is True
    assert typed_value('{"a": 1}', "JSON") == {"a": 1}
    assert typed_value("x", "STRING") == "x"
    with pytest.raises(TaskError):
        typed_value("abc", "NUMBER")
