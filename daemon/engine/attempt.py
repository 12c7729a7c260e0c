"""Running one attempt of a runnable task: the plugin under a timeout and a cancel event, errors as states.

Flowable decisions (which branch, which values) are taken here too: they render expressions like a task
does, while the planner stays pure.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from daemon.engine.context import PluginFn, RunContext, TaskResult
from daemon.errors import FlowdError
from daemon.expressions import is_truthy, render_value
from daemon.language.task_base import TaskBase
from daemon.language.tasks_flow import ForEachTask, IfTask, SwitchTask

CANCEL_GRACE = timedelta(seconds=5)  # a cancelled plugin gets this long to stop its processes


@dataclass
class Outcome:
    """How an attempt ended (applied to the run by the executor)."""

    execution_id: str
    run_id: str
    state: str
    start: str
    end: str = ""
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    effects: dict[str, Any] = field(default_factory=dict)


async def run_plugin(
    plugin: PluginFn,
    task: TaskBase,
    ctx: RunContext,
    *,
    timeout: timedelta | None,
    grace: timedelta | None = CANCEL_GRACE,
) -> TaskResult:
    """The plugin's result; a timeout or a cancel sets ``ctx.cancelled`` and waits a grace period for the
    plugin to stop (the script runner kills its process tree) before giving up on it (at once with
    ``grace=None``: a plugin rendering in a thread cannot be stopped anyway)."""
    job = asyncio.ensure_future(plugin(task, ctx))
    stop = asyncio.ensure_future(ctx.cancelled.wait())
    limit = timeout.total_seconds() if timeout is not None else None
    try:
        done, _ = await asyncio.wait({job, stop}, timeout=limit, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        job.cancel()
        raise
    finally:
        stop.cancel()
    if job in done:
        return job.result()
    timed_out = not ctx.cancelled.is_set()
    ctx.cancelled.set()
    try:
        await asyncio.wait_for(asyncio.shield(job), grace.total_seconds() if grace else 0)
    except (TimeoutError, FlowdError, Exception):
        job.cancel()
    if timed_out:
        return TaskResult(
            state="FAILED",
            error=f"timeout: task '{task.id}' ran longer than its timeout property ({_human(timeout)})",
        )
    return TaskResult(state="KILLED", error="killed")


def _human(delta: timedelta | None) -> str:
    return f"{delta.total_seconds():g}s" if delta is not None else "?"


def decide(task: TaskBase, context: Mapping[str, Any]) -> dict[str, Any]:
    """The decision of a flowable (stored in its run's meta); raises ExpressionError/ValueError."""
    if isinstance(task, IfTask):
        condition = render_value(task.condition, context)
        return {"decided": True, "branch": "then" if is_truthy(condition) else "else"}
    if isinstance(task, SwitchTask):
        value = render_value(task.value, context) if isinstance(task.value, str) else task.value
        key = _text(value)
        if key not in task.cases and not task.defaults:  # Kestra fails such a Switch
            raise ValueError(f"Switch '{task.id}': value '{key}' matches no case and there are no defaults")
        return {"decided": True, "case": key if key in task.cases else None, "value": key}
    if isinstance(task, ForEachTask):
        return {"decided": True, "values": [_text(v) for v in _values(task.values, context)]}
    return {"decided": True}


def _values(raw: list[Any] | str, context: Mapping[str, Any]) -> list[Any]:
    rendered = render_value(raw, context)
    if isinstance(rendered, str):
        loaded = json.loads(rendered)
        if not isinstance(loaded, list):
            raise ValueError(f"ForEach values must be a list, got {type(loaded).__name__}")
        return loaded
    return list(rendered)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, separators=(",", ":")) if isinstance(value, dict | list) else str(value)


def passes_run_if(task: TaskBase, context: Mapping[str, Any]) -> bool:
    """``runIf`` rendered and judged with Kestra's truthiness (absent: true)."""
    if task.runIf is None:
        return True
    return is_truthy(render_value(task.runIf, context))


def passes_conditions(task: TaskBase, execution_state: str) -> bool:
    """The seed dialect's task ``conditions``: ExecutionStatus ``in``/``notIn`` against the execution's
    current (provisional) state; other condition kinds do not apply to tasks and are ignored."""
    for condition in task.conditions:
        if not condition.type.endswith("ExecutionStatus"):
            continue
        if condition.in_ is not None and execution_state not in condition.in_:
            return False
        if condition.notIn is not None and execution_state in condition.notIn:
            return False
    return True
