"""The task union: every supported Kestra task type, resolved by its (canonical or legacy) ``type``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from daemon.language import tasks_core, tasks_flow
from daemon.language.aliases import TASK_ALIASES
from daemon.language.common import tagged_union
from daemon.language.task_base import COMMON_IGNORED, TaskBase
from daemon.language.tasks_core import CORE_TASKS
from daemon.language.tasks_data import DATA_TASKS
from daemon.language.tasks_flow import FLOW_TASKS, Flowable
from daemon.language.tasks_io import IO_TASKS
from daemon.language.tasks_scripts import LEGACY_SCRIPTS, SCRIPT_TASKS, PythonCommandsTask

TASK_CLASSES: dict[str, type[TaskBase]] = {
    cls.TYPE: cls for cls in (*CORE_TASKS, *FLOW_TASKS, *SCRIPT_TASKS, *IO_TASKS, *DATA_TASKS)
}
SUPPORTED_TASK_TYPES: frozenset[str] = frozenset(TASK_CLASSES) | frozenset(
    alias for alias, current in TASK_ALIASES.items() if current in TASK_CLASSES
)


def task_tag(value: Any) -> str | None:
    """The canonical type a raw task (dict) or a task model resolves to; None when unsupported."""
    if isinstance(value, TaskBase):
        return value.type
    if not isinstance(value, dict):
        return None
    raw = value.get("type")
    if not isinstance(raw, str):
        return None
    tag = TASK_ALIASES.get(raw, raw)
    if raw == f"{LEGACY_SCRIPTS}Python" and "commands" in value and "script" not in value:
        tag = PythonCommandsTask.TYPE
    return tag if tag in TASK_CLASSES else None


if TYPE_CHECKING:
    Task = TaskBase
else:
    Task = tagged_union(TASK_CLASSES, task_tag, error_type="unsupported_task_type", what="task")

# the flowable models refer to ``Task`` by name; their schemas are built lazily (defer_build) once it exists
tasks_flow.Task = Task  # type: ignore[attr-defined]
tasks_core.Task = Task  # type: ignore[attr-defined]  # Pause's deprecated ``tasks``


def ignored_properties(task_type: str) -> frozenset[str]:
    """Kestra properties valid for ``task_type`` (canonical or legacy) that flowd accepts and ignores."""
    cls = TASK_CLASSES.get(TASK_ALIASES.get(task_type, task_type))
    return COMMON_IGNORED | (cls.IGNORED if cls else frozenset())


def flowable_children(task: TaskBase) -> list[list[TaskBase]]:
    """The task lists nested in ``task`` (branches, body, errors, finally); empty for runnable tasks."""
    return task.children()


def iter_tasks(tasks: list[TaskBase] | list[Any]) -> Iterator[TaskBase]:
    """Every task in ``tasks``, depth first, nested ones included."""
    for task in tasks:
        yield task
        for branch in task.children():
            yield from iter_tasks(branch)


def is_flowable(task: TaskBase) -> bool:
    """True for tasks that run other tasks."""
    return isinstance(task, Flowable)
