"""Running attempts: a plugin in its own asyncio task (anything that may wait), or inline for the core tasks
that only render and log (no task, no event-loop round trip: these dominate short flows).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Coroutine, Mapping
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import cast

from daemon.engine import states as S
from daemon.engine.attempt import Outcome, run_plugin
from daemon.engine.context import PluginFn, RunContext, TaskResult
from daemon.engine.runtime import Runtime
from daemon.engine.services import StorageAdapter
from daemon.engine.state import EngineState
from daemon.engine.variables import task_context
from daemon.engine.view import ExecView, RunView
from daemon.errors import FlowdError, TaskError
from daemon.expressions import render_value
from daemon.language.task_base import TaskBase
from daemon.language.tasks_core import (
    CORE_TASKS,
    EchoTask,
    ExitTask,
    FailTask,
    LabelsTask,
    LogTask,
    OutputValuesTask,
    PurgeCurrentExecutionFilesTask,
    ReturnTask,
)

FILELESS_TASKS = frozenset(cls.TYPE for cls in CORE_TASKS if cls is not PurgeCurrentExecutionFilesTask)
# plugins that never wait (render, log, return): run inline, their coroutine finishing on its first step
INLINE_TASKS = frozenset(
    cls.TYPE for cls in (LogTask, EchoTask, ReturnTask, OutputValuesTask, FailTask, ExitTask, LabelsTask)
)


def runs_inline(task: TaskBase) -> bool:
    """Whether a run of ``task`` runs inline, within the loop's step. Not with a ``timeout``: such a task
    renders in a worker thread under that timeout (a heavy template must not hold the loop past it)."""
    return task.type in INLINE_TASKS and task.timeout is None


def _run_to_end(plugin: PluginFn, task: TaskBase, ctx: RunContext) -> TaskResult:
    """Run an inline plugin's coroutine to its end, synchronously (in a worker thread)."""
    coro = plugin(task, ctx)
    if not isinstance(coro, Coroutine):
        raise TaskError(f"the {task.type} plugin is not a coroutine function")
    try:
        coro.send(None)
    except StopIteration as stop:
        return cast(TaskResult, stop.value)
    coro.close()
    raise TaskError(f"the {task.type} plugin waited while run inline")


class AttemptRunner:
    """Starting attempts and turning their ends into ``Outcome`` values."""

    def __init__(self, rt: Runtime, state: EngineState, plugins: Mapping[str, PluginFn]) -> None:
        self.rt = rt
        self.state = state
        self.plugins = plugins
        self.settings = rt.settings
        self.clock = rt.clock

    def _context(
        self, view: ExecView, run: RunView, task: TaskBase, workdir: Path, cancelled: asyncio.Event
    ) -> RunContext:
        ex = view.execution
        return RunContext(
            execution_id=view.id, task_run_id=run.id, namespace=ex.namespace, flow_id=ex.flow_id,
            attempt=len(run.attempts) + 1, variables=task_context(self.rt.base(view), view, run, task),
            workdir=workdir, render_fn=render_value,
            log_fn=lambda level, msg: self.rt.log(view, run, level, msg), kv=self.rt.kv,
            storage=StorageAdapter(self.rt.storage, ex.namespace, ex.flow_id, task.id),
            secret_fn=self.rt.secrets.get, now_fn=self.clock.now, cancelled=cancelled,
            default_runner=self.settings.default_runner, cache_dir=self.settings.cache_dir,
            namespace_files=self.rt.store.namespace_files,
        )  # fmt: skip

    def run_inline(self, view: ExecView, run: RunView, now: datetime) -> Outcome:
        """One attempt of an ``INLINE_TASKS`` run, synchronously."""
        task = view.index[run.task_id]
        outcome = Outcome(view.id, run.id, S.FAILED, S.iso(now))
        try:
            plugin = self.plugins.get(task.type)
            if plugin is None:
                raise TaskError(f"no plugin runs tasks of type {task.type}")
            workdir = self.workdir(view, run) or self.settings.home / "work" / view.id / run.id
            ctx = self._context(view, run, task, workdir, asyncio.Event())
            result = _run_to_end(plugin, task, ctx)
            outcome.state, outcome.outputs, outcome.error = result.state, result.outputs, result.error
            outcome.effects = ctx.execution_effects
        except FlowdError as exc:
            outcome.error = exc.message
        except Exception as exc:
            outcome.error = f"{type(exc).__name__}: {exc}"
        outcome.end = S.iso(self.clock.now())
        return outcome

    def start(self) -> None:
        state = self.state
        starting, state.to_start = state.to_start, []
        for view, run in starting:
            task = view.index[run.task_id]
            cancelled = asyncio.Event()
            if view.stopping is not None:
                cancelled.set()
            state.cancel[run.id] = cancelled
            state.tasks[run.id] = asyncio.ensure_future(self._attempt(view, run, task, cancelled))

    async def _attempt(self, view: ExecView, run: RunView, task: TaskBase, cancelled: asyncio.Event) -> None:
        start = self.clock.now()
        outcome = Outcome(view.id, run.id, S.FAILED, S.iso(start))
        workdir = self.workdir(view, run)
        # core tasks never touch files: no folder for them (creating and removing one costs more than a Log)
        own_dir = workdir is None and task.type not in FILELESS_TASKS
        if workdir is None:
            workdir = self.settings.home / "work" / view.id / run.id
        try:
            plugin = self.plugins.get(task.type)
            if plugin is None:
                raise TaskError(f"no plugin runs tasks of type {task.type}")
            if own_dir:
                workdir.mkdir(parents=True, exist_ok=True)
            ctx = self._context(view, run, task, workdir, cancelled)
            if task.type in INLINE_TASKS:  # an inline task with a timeout: rendered off the loop
                result = await run_plugin(
                    _in_thread(plugin), task, _quiet_after_cancel(ctx), timeout=task.timeout, grace=None
                )
            else:
                result = await run_plugin(plugin, task, ctx, timeout=task.timeout)
            outcome.state, outcome.outputs, outcome.error = result.state, result.outputs, result.error
            outcome.effects = ctx.execution_effects
        except FlowdError as exc:
            outcome.error = exc.message
        except Exception as exc:
            outcome.error = f"{type(exc).__name__}: {exc}"
        finally:
            if own_dir:
                shutil.rmtree(workdir, ignore_errors=True)
        outcome.end = S.iso(self.clock.now())
        self.state.finished.append(outcome)
        self.rt.wakeup()

    def workdir(self, view: ExecView, run: RunView) -> Path | None:
        """The shared folder of the nearest enclosing WorkingDirectory, if any."""
        parent_id = run.parent_id
        while parent_id is not None:
            parent = view.runs[parent_id]
            if "workdir" in parent.meta:
                return Path(parent.meta["workdir"])
            parent_id = parent.parent_id
        return None


def _in_thread(plugin: PluginFn) -> PluginFn:
    async def run(task: TaskBase, ctx: RunContext) -> TaskResult:
        return await asyncio.to_thread(_run_to_end, plugin, task, ctx)

    return run


def _quiet_after_cancel(ctx: RunContext) -> RunContext:
    """The context for a thread that may outlive its attempt (a thread cannot be stopped): once the
    attempt is given up, its late log lines are dropped."""
    log_fn = ctx.log_fn
    cancelled = ctx.cancelled

    def log(level: str, message: str) -> None:
        if not cancelled.is_set():
            log_fn(level, message)

    return replace(ctx, log_fn=log)
