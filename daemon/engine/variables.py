"""The expression context of one task run (Kestra's variables). Pure: services come in as arguments.

``outputs`` is the execution's live outputs map (shared, not copied: building a context stays O(1) as an
execution grows); ForEach children appear under their iteration values: ``outputs.inner[taskrun.value]``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from daemon.engine.states import iso
from daemon.engine.view import ExecView, RunView
from daemon.expressions import ERROR_LOGS_KEY, KV_KEY, NOW_KEY, READ_KEY, SECRET_KEY
from daemon.language.task_base import TaskBase


@dataclass
class Services:
    """Callables the expression functions reach through reserved context keys."""

    secret: Callable[[str], str]
    kv: Callable[..., Any]
    now: Any  # a Clock (``now()``) or a datetime
    envs: Mapping[str, str] = field(default_factory=dict)
    error_logs: Callable[[], list[Any]] | None = None
    read: Callable[[str], str] | None = None
    globals: Mapping[str, Any] = field(default_factory=dict)


def nest_dotted(values: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs with dotted ids (``request.name``) also reachable as nested keys (``inputs.request.name``),
    as Kestra reads them; the flat key stays."""
    out = dict(values)
    for key, value in values.items():
        if "." not in key:
            continue
        *parents, last = key.split(".")
        node = out
        for part in parents:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            elif not isinstance(child, dict):
                break
            node = child
        else:
            node.setdefault(last, value)
    return out


def execution_context(view: ExecView, services: Services) -> dict[str, Any]:
    """Variables shared by every task run of an execution (flow outputs are rendered with these)."""
    ex = view.execution
    flow = view.index.flow
    from daemon.engine.services import SecretAccessor

    ctx: dict[str, Any] = {
        "flow": {"id": ex.flow_id, "namespace": ex.namespace, "revision": ex.flow_revision},
        "execution": {"id": ex.id, "startDate": iso(ex.start_date), "originalId": ex.id, "state": view.state},
        "inputs": nest_dotted(ex.inputs or {}),
        "outputs": view.outputs,
        "vars": flow.variables,
        "labels": view.labels,
        "trigger": (ex.trigger or {}).get("variables") or {},
        "envs": dict(services.envs),
        "globals": services.globals,
        "tasks": view.task_states,
        "secret": SecretAccessor(services.secret),
        SECRET_KEY: services.secret,
        KV_KEY: services.kv,
        NOW_KEY: services.now,
    }
    if services.error_logs is not None:
        ctx[ERROR_LOGS_KEY] = services.error_logs
    if services.read is not None:
        ctx[READ_KEY] = services.read
    return ctx


def task_context(base: Mapping[str, Any], view: ExecView, run: RunView, task: TaskBase) -> dict[str, Any]:
    """``base`` plus ``task``, ``taskrun``, ``parent`` and ``parents`` for one run."""
    start = run.histories[0]["date"] if run.histories else None
    taskrun = {
        "id": run.id,
        "startDate": start,
        "attemptsCount": len(run.attempts),
        "value": run.value,
        "iteration": run.iteration,
        "parentId": run.parent_id,
    }
    # every enclosing flowable's run, nearest first, as Kestra gives them: inside ForEach > If, ``parent`` is
    # the If's run, whose value is the iteration's (Kestra's documented ``parent.taskrun.value``)
    parents = []
    ancestor = view.runs.get(run.parent_id) if run.parent_id else None
    while ancestor is not None:
        parents.append({"taskrun": {"value": ancestor.value, "iteration": ancestor.iteration}})
        ancestor = view.runs.get(ancestor.parent_id) if ancestor.parent_id else None
    ctx = {**base, "task": {"id": task.id, "type": task.type}, "taskrun": taskrun, "parents": parents}
    if parents:
        ctx["parent"] = parents[0]
    return ctx
