"""Flow triggers: when an execution ends, start every flow whose ``io.kestra.plugin.core.trigger.Flow``
trigger matches it.

``matches`` is pure. Supported conditions: ExecutionStatus (``in`` / ``notIn``), ExecutionFlow
(``namespace`` + ``flowId``), ExecutionNamespace (``namespace``, with ``prefix: true`` or ``comparison``
EQUALS / PREFIX / SUFFIX); the trigger's ``states`` (default: any terminal state) and a ``preconditions``
block naming one flow (``flows: [{namespace, flowId, states}]``). The date conditions (DayWeek, Weekend,
TimeBetween, ...: ``conditions.py``) test the moment the execution ended, in UTC. A condition of any other
kind never matches (flowd cannot evaluate it, and starting a flow by mistake is worse than not starting it;
the validator warns about it). A flow never triggers itself, which would loop forever.

``FlowTriggerHook`` is the thin part: an executor end hook holding an index of the deployed Flow triggers,
rebuilt after a sync (``invalidate()``) or when older than ``refresh`` seconds (parsed flows are cached
by revision, so a rebuild costs one query). The executor calls it from its outbox (at least once per
upstream end, again after a crash or an error); the downstream execution's id is derived from the
upstream execution and the trigger, so it is created exactly once however often the hook runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from daemon.clock import Clock
from daemon.errors import FlowdError
from daemon.language.common import Condition
from daemon.language.model import Flow, FlowTrigger
from daemon.schedule.conditions import EVALUATED, compile_conditions
from daemon.schedule.firing import ExecutionFactory, create_triggered
from daemon.store import DeployedFlow, Execution, Store
from daemon.store.ids import derived_id

log = logging.getLogger(__name__)

CORE = "io.kestra.plugin.core.condition"
TERMINAL = ("SUCCESS", "WARNING", "FAILED", "KILLED", "CANCELLED", "SKIPPED")


def matches(trigger: FlowTrigger, execution: Execution) -> bool:
    """Whether ``execution`` (ended, with its final state) satisfies the trigger's states and conditions."""
    if execution.state not in (trigger.states or TERMINAL):
        return False
    if not all(_condition(c, execution) for c in trigger.conditions):
        return False
    return _preconditions(trigger.preconditions, execution)


def _condition(condition: Condition, execution: Execution) -> bool:
    kind = condition.type
    if kind == f"{CORE}.ExecutionStatus":
        if condition.in_ is not None and execution.state not in condition.in_:
            return False
        return condition.notIn is None or execution.state not in condition.notIn
    if kind == f"{CORE}.ExecutionFlow":
        return condition.namespace == execution.namespace and condition.flowId == execution.flow_id
    if kind == f"{CORE}.ExecutionNamespace":
        return _namespace_matches(condition, execution.namespace)
    if kind in EVALUATED:
        return _date_condition(condition, execution)
    return False


def _date_condition(condition: Condition, execution: Execution) -> bool:
    moment = execution.end_date or execution.start_date
    try:
        flt = compile_conditions([condition.model_dump(by_alias=True, exclude_none=True)], "UTC")
    except ValueError:
        return False  # invalid properties: validation rejects them, so a deployed flow has none
    return flt is None or (moment is not None and flt.allows(moment))


def _namespace_matches(condition: Condition, namespace: str) -> bool:
    wanted = condition.namespace or ""
    comparison = (condition.comparison or ("PREFIX" if condition.prefix else "EQUALS")).upper()
    if comparison == "PREFIX":
        return namespace.startswith(wanted)
    if comparison == "SUFFIX":
        return namespace.endswith(wanted)
    return namespace == wanted


def _preconditions(block: dict[str, Any] | None, execution: Execution) -> bool:
    if not block:
        return True
    flows = block.get("flows") or []
    if len(flows) != 1 or not isinstance(flows[0], dict):
        return False  # several upstream flows need a time window of past executions: not supported
    upstream = flows[0]
    if upstream.get("namespace") not in (None, execution.namespace):
        return False
    if upstream.get("flowId") not in (None, execution.flow_id):
        return False
    return execution.state in (upstream.get("states") or TERMINAL)


def trigger_variables(execution: Execution) -> dict[str, Any]:
    """``trigger.executionId``, ``namespace``, ``flowId``, ``flowRevision``, ``state``, ``outputs``."""
    return {
        "executionId": execution.id,
        "namespace": execution.namespace,
        "flowId": execution.flow_id,
        "flowRevision": execution.flow_revision,
        "state": execution.state,
        "outputs": execution.outputs or {},
    }


@dataclass(frozen=True, slots=True)
class _Listener:
    record: DeployedFlow
    flow: Flow
    trigger: FlowTrigger


class FlowTriggerHook:
    """Call with each ended execution (``Executor.end_hooks``); creates the triggered executions."""

    def __init__(
        self,
        store: Store,
        executor: ExecutionFactory,
        clock: Clock,
        *,
        parse: Callable[[DeployedFlow], Flow],
        refresh: float = 10.0,
        on_created: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.executor = executor
        self.clock = clock
        self._parse = parse
        self.refresh = refresh
        self._on_created = on_created
        self._listeners: list[_Listener] | None = None
        self._built_at = 0.0

    def invalidate(self) -> None:
        """The deployed flows changed: rebuild the index on the next ended execution."""
        self._listeners = None

    def __call__(self, execution: Execution) -> None:
        """Errors propagate: the executor's outbox keeps the end and calls again later."""
        self.fire(execution)

    def fire(self, execution: Execution) -> list[str]:
        """Start every matching flow; returns the ids of the executions created."""
        created = []
        for listener in self._index():
            if (listener.record.namespace, listener.record.flow_id) == (
                execution.namespace,
                execution.flow_id,
            ):
                continue
            if not matches(listener.trigger, execution):
                continue
            key = derived_id(
                execution.id, listener.record.namespace, listener.record.flow_id, listener.trigger.id
            )
            execution_id = create_triggered(
                self.store, self.executor, listener.record, listener.flow, listener.trigger,
                trigger_variables(execution), now=self.clock.now(), execution_id=key,
            )  # fmt: skip
            if execution_id is not None:
                created.append(execution_id)
                if self._on_created:
                    self._on_created(execution_id)
        return created

    def _index(self) -> list[_Listener]:
        if self._listeners is None or time.monotonic() - self._built_at > self.refresh:
            listeners = []
            for record in self.store.flows.list():
                if "triggers" not in record.source:
                    # no ``triggers`` key, no Flow trigger: parsing (and caching) every deployed flow here
                    # kept 10,000 parsed flows alive that the collector then walked (bench/loop_stall_bench)
                    continue
                try:
                    flow = self._parse(record)
                except FlowdError:
                    continue
                if flow.disabled:
                    continue
                for trigger in flow.triggers:
                    if isinstance(trigger, FlowTrigger) and not trigger.disabled:
                        listeners.append(_Listener(record, flow, trigger))
            self._listeners, self._built_at = listeners, time.monotonic()
        return self._listeners
