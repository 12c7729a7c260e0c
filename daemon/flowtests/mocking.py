"""Task fixtures: the plugins of a test run, with the mocked tasks replaced by their fixture.

The executor is handed this mapping instead of the registry's, so a mocked task goes through the same
claim, state and output path as a real one; only its plugin call is skipped. Flowable tasks (If, ForEach,
Subflow, ...) are not plugins and always run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from daemon.engine.context import PluginFn, RunContext, TaskResult
from daemon.language.task_base import TaskBase


def mocked_plugins(
    plugins: Mapping[str, PluginFn],
    fixtures: Mapping[str, tuple[str, dict[str, Any]]],
    *,
    mock_all: bool = False,
) -> dict[str, PluginFn]:
    """``plugins`` with each task whose id has a fixture (state, outputs) answered by it; with
    ``mock_all`` every other task ends SUCCESS with no outputs instead of running."""

    def wrap(real: PluginFn) -> PluginFn:
        async def plugin(task: TaskBase, ctx: RunContext) -> TaskResult:
            fixture = fixtures.get(task.id)
            if fixture is not None:
                state, outputs = fixture
                ctx.log("INFO", f"task {task.id} mocked by the test fixture: {state}")
                error = f"mocked by the test fixture as {state}" if state == "FAILED" else None
                return TaskResult(outputs=dict(outputs), state=state, error=error)  # type: ignore[arg-type]
            if mock_all:
                ctx.log("INFO", f"task {task.id} mocked (--mock-all): SUCCESS")
                return TaskResult()
            return await real(task, ctx)

        return plugin

    return {task_type: wrap(fn) for task_type, fn in plugins.items()}
