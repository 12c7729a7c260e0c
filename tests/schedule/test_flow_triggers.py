"""Flow triggers: pure matching, and the hook creating the downstream execution."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from daemon.clock import FrozenClock
from daemon.engine.executor import Executor
from daemon.language.model import FlowTrigger
from daemon.schedule.flow_triggers import FlowTriggerHook, matches
from daemon.store import Execution, Store

CORE = "io.kestra.plugin.core.condition"


def ended(state: str = "SUCCESS", namespace: str = "company.team", flow_id: str = "a") -> Execution:
    return Execution(
        id="e1", namespace=namespace, flow_id=flow_id, flow_revision=3, state=state,
        start_date=datetime(2024, 1, 1, tzinfo=UTC), outputs={"x": 1},
    )  # fmt: skip


def trigger(**data: Any) -> FlowTrigger:
    return FlowTrigger.model_validate({"id": "on-a", "type": "io.kestra.plugin.core.trigger.Flow", **data})


@pytest.mark.parametrize(
    ("conditions", "execution", "expected"),
    [
        ([], ended(), True),
        ([{"type": f"{CORE}.ExecutionStatus", "in": ["SUCCESS"]}], ended(), True),
        ([{"type": f"{CORE}.ExecutionStatus", "in": ["SUCCESS"]}], ended("FAILED"), False),
        ([{"type": f"{CORE}.ExecutionStatus", "notIn": ["FAILED"]}], ended("FAILED"), False),
        ([{"type": f"{CORE}.ExecutionFlow", "namespace": "company.team", "flowId": "a"}], ended(), True),
        ([{"type": f"{CORE}.ExecutionFlow", "namespace": "company.team", "flowId": "b"}], ended(), False),
        ([{"type": f"{CORE}.ExecutionNamespace", "namespace": "company"}], ended(), False),
        ([{"type": f"{CORE}.ExecutionNamespace", "namespace": "company", "prefix": True}], ended(), True),
        ([{"type": "io.kestra.core.models.conditions.types.ExecutionStatusCondition", "in": ["SUCCESS"]}],
         ended(), True),
        # date conditions test the end (here: start) of the execution, 2024-01-01, a Monday
        ([{"type": f"{CORE}.DayWeek", "dayOfWeek": "MONDAY"}], ended(), True),
        ([{"type": f"{CORE}.DayWeek", "dayOfWeek": "TUESDAY"}], ended(), False),
        ([{"type": f"{CORE}.Not", "conditions": [{"type": f"{CORE}.Weekend"}]}], ended(), True),
        ([{"type": f"{CORE}.PublicHoliday", "country": "FR"}], ended(), False),
    ],
)  # fmt: skip
def test_conditions(conditions: list[dict[str, Any]], execution: Execution, expected: bool) -> None:
    assert matches(trigger(conditions=conditions), execution) is expected


def test_trigger_states_and_preconditions() -> None:
    assert not matches(trigger(states=["FAILED"]), ended())
    assert matches(trigger(states=["FAILED"]), ended("FAILED"))
    pre = {"flows": [{"namespace": "company.team", "flowId": "a", "states": ["SUCCESS"]}]}
    assert matches(trigger(preconditions=pre), ended())
    assert not matches(trigger(preconditions=pre), ended(flow_id="z"))


FLOW_A = """
id: a
namespace: company.team
tasks:
  - id: hi
    type: io.kestra.plugin.core.log.Log
    message: hi
"""
FLOW_B = """
id: b
namespace: company.team
tasks:
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: "after {{ trigger.executionId }}"
triggers:
  - id: after-a
    type: io.kestra.plugin.core.trigger.Flow
    conditions:
      - type: io.kestra.plugin.core.condition.ExecutionFlow
        namespace: company.team
        flowId: a
      - type: io.kestra.plugin.core.condition.ExecutionStatus
        in: [SUCCESS]
"""


def test_b_runs_after_a_succeeds(
    store: Store, executor: Executor, clock: FrozenClock, deploy: Callable[[dict[str, str]], None]
) -> None:
    deploy({"a.yml": FLOW_A, "b.yml": FLOW_B})
    hook = FlowTriggerHook(
        store,
        executor,
        clock,
        parse=lambda r: executor.flows.revision(r.namespace, r.flow_id, r.revision).flow,
    )
    executor.end_hooks.append(hook)
    record = store.flows.get("company.team", "a")
    assert record is not None
    first = executor.create_execution(record, {})
    assert asyncio.run(executor.run_until_done(first)).state == "SUCCESS"
    downstream = store.executions.list(namespace="company.team", flow_id="b")
    assert len(downstream) == 1
    trig = downstream[0].trigger
    assert trig is not None and trig["type"] == "io.kestra.plugin.core.trigger.Flow"
    assert trig["variables"] == {
        "executionId": first, "namespace": "company.team", "flowId": "a", "flowRevision": record.revision,
        "state": "SUCCESS", "outputs": {},
    }  # fmt: skip
    assert asyncio.run(executor.run_until_done(downstream[0].id)).state == "SUCCESS"
    assert len(store.executions.list(namespace="company.team", flow_id="b")) == 1  # b does not trigger b
