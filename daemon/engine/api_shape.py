"""Executions and task runs in Kestra's API shape (``flowd execute --json``, ``flowd status``, HTTP API)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from daemon.engine import states as S
from daemon.engine.states import iso
from daemon.engine.view import META_KEY
from daemon.store.executions import Execution
from daemon.store.task_runs import TaskRun


def _state(current: str, histories: list[dict[str, Any]], end: datetime | None = None) -> dict[str, Any]:
    dates = [h.get("date") for h in histories if h.get("date")]
    start = _text(dates[0]) if dates else None
    terminal_end = _text(end) if end is not None else None
    if terminal_end is None and current in S.TERMINAL:
        terminal_end = _text(dates[-1]) if dates else None
    return {
        "current": current,
        "histories": [{"state": h.get("state"), "date": _text(h.get("date"))} for h in histories],
        "startDate": start,
        "endDate": terminal_end,
    }


def _text(value: Any) -> Any:
    return iso(value) if isinstance(value, datetime) else value


def public_outputs(outputs: dict[str, Any] | None) -> dict[str, Any]:
    """Task run outputs without the engine's bookkeeping."""
    return {k: v for k, v in (outputs or {}).items() if k != META_KEY}


def task_run_to_api(run: TaskRun) -> dict[str, Any]:
    """One task run as Kestra's API shows it."""
    return {
        "id": run.id,
        "executionId": run.execution_id,
        "taskId": run.task_id,
        "parentTaskRunId": run.parent_task_run_id,
        "value": run.value,
        "iteration": run.iteration,
        "state": _state(run.state, run.histories),
        "attempts": [
            {
                "state": {
                    "current": a.get("state"),
                    "startDate": a.get("startDate"),
                    "endDate": a.get("endDate"),
                },
            }
            for a in run.attempts
        ],
        "outputs": public_outputs(run.outputs),
    }


def execution_to_api(execution: Execution, task_runs: Sequence[TaskRun]) -> dict[str, Any]:
    """An execution with its task runs, in Kestra's API shape."""
    trigger = execution.trigger
    return {
        "id": execution.id,
        "namespace": execution.namespace,
        "flowId": execution.flow_id,
        "flowRevision": execution.flow_revision,
        "state": {
            **_state(execution.state, execution.histories, execution.end_date),
            "startDate": iso(execution.start_date),
        },
        "inputs": execution.inputs or {},
        "outputs": execution.outputs or {},
        "labels": [{"key": k, "value": v} for k, v in (execution.labels or {}).items()],
        "trigger": {
            "id": trigger.get("id"), "type": trigger.get("type"), "variables": trigger.get("variables") or {}
        } if trigger else None,
        "parentExecutionId": execution.parent_execution_id,
        "taskRunList": [task_run_to_api(run) for run in task_runs],
    }  # fmt: skip
