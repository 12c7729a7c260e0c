"""Core runnable tasks: logging, returning values, failing or exiting, labels, sleeping, purging files."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from daemon.engine.context import RunContext, TaskResult
from daemon.errors import TaskError
from daemon.language.tasks_core import (
    EchoTask,
    ExitTask,
    FailTask,
    LabelsTask,
    LogTask,
    OutputValuesTask,
    PurgeCurrentExecutionFilesTask,
    ReturnTask,
    SleepTask,
)

# Rendered strings that count as false, as Kestra's truthiness does for conditions.
FALSY_TEXT = frozenset({"", "false", "0", "-0", "0.0", "null", "none", "nan"})


def is_truthy(value: Any) -> bool:
    """Kestra-style truthiness of a rendered condition ("false", "0", "" and null are false)."""
    if value is None:
        return False
    if isinstance(value, str):
        return value.strip().lower() not in FALSY_TEXT
    return bool(value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, default=str)


async def run_log(task: LogTask, ctx: RunContext) -> TaskResult:
    """Render each message and log it at the task's level."""
    messages = task.message if isinstance(task.message, list) else [task.message]
    for message in messages:
        ctx.log(task.level, _text(ctx.render(message)))
    return TaskResult()


async def run_echo(task: EchoTask, ctx: RunContext) -> TaskResult:
    """The deprecated Echo: log the rendered ``format``."""
    ctx.log(task.level, _text(ctx.render(task.format)))
    return TaskResult()


async def run_return(task: ReturnTask, ctx: RunContext) -> TaskResult:
    """Output ``{"value": rendered format}``."""
    value = ctx.render(task.format) if task.format is not None else None
    return TaskResult(outputs={"value": value})


async def run_output_values(task: OutputValuesTask, ctx: RunContext) -> TaskResult:
    """Output ``{"values": {...rendered}}``."""
    return TaskResult(outputs={"values": ctx.render(task.values)})


async def run_fail(task: FailTask, ctx: RunContext) -> TaskResult:
    """Fail with the rendered ``errorMessage`` when ``condition`` is absent or renders truthy."""
    if task.condition is None or is_truthy(ctx.render(task.condition)):
        raise TaskError(_text(ctx.render(task.errorMessage)))
    return TaskResult()


async def run_exit(task: ExitTask, ctx: RunContext) -> TaskResult:
    """Ask the engine to end the execution in ``state`` (when ``condition`` is absent or truthy).

    The Exit task run itself succeeds; the engine reads ``execution_effects["exit"]``.
    """
    if task.condition is None or is_truthy(ctx.render(task.condition)):
        ctx.execution_effects["exit"] = task.state
    return TaskResult()


def labels_of(value: Any) -> dict[str, str]:
    """Labels from a map, a list of ``{key, value}`` entries, or a JSON string of either."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise TaskError(f"labels: not a JSON map or list: {value!r}") from exc
    if isinstance(value, dict):
        return {str(k): _label_value(v) for k, v in value.items()}
    if isinstance(value, list):
        labels: dict[str, str] = {}
        for entry in value:
            if not isinstance(entry, dict) or "key" not in entry or "value" not in entry:
                raise TaskError(f"labels: a list entry needs 'key' and 'value': {entry!r}")
            labels[str(entry["key"])] = _label_value(entry["value"])
        return labels
    raise TaskError(f"labels: expected a map or a list, got {type(value).__name__}")


def _label_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _text(value)


async def run_labels(task: LabelsTask, ctx: RunContext) -> TaskResult:
    """Add (or replace) execution labels: the engine applies ``execution_effects["labels"]``."""
    labels = labels_of(ctx.render(task.labels))
    ctx.execution_effects["labels"] = {**ctx.execution_effects.get("labels", {}), **labels}
    return TaskResult()


async def run_sleep(task: SleepTask, ctx: RunContext) -> TaskResult:
    """Wait ``duration``; a cancel ends the wait at once (the task is then KILLED)."""
    try:
        await asyncio.wait_for(ctx.cancelled.wait(), timeout=task.duration.total_seconds())
    except TimeoutError:
        return TaskResult()
    return TaskResult(state="KILLED", error="cancelled while sleeping")


async def run_purge_execution_files(task: PurgeCurrentExecutionFilesTask, ctx: RunContext) -> TaskResult:
    """Delete every internal-storage file of this execution.

    Kestra lists the deleted URIs in ``uris``; the storage port reports a count only, so ``uris`` stays
    empty and ``count`` says how many execution folders were removed.
    """
    count = ctx.storage.delete_execution_files(ctx.execution_id)
    return TaskResult(outputs={"uris": [], "count": count})
