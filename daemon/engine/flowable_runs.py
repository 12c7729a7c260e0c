"""Flowable task runs with effects outside the planner: WorkingDirectory folders, Pause, Subflow; and the
``retry`` of a flowable or Subflow task, which runs it again whole (Kestra): the failed run ends RETRIED and a
new run of the same task (same place in the plan) waits in RETRYING for the delay, then starts afresh (new
children, or a new subflow execution). Its ``attempts`` list one entry per try."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from daemon.engine import states as S
from daemon.engine.attempt import decide
from daemon.engine.labels import CORRELATION_ID
from daemon.engine.retry import retry_delay
from daemon.engine.runtime import Runtime, parse_date
from daemon.engine.state import EngineState
from daemon.engine.variables import task_context
from daemon.engine.view import ExecView, RunView
from daemon.errors import FlowdError, TaskError
from daemon.expressions import render_value
from daemon.language.task_base import TaskBase
from daemon.language.tasks_core import PauseTask
from daemon.language.tasks_flow import SubflowTask, WorkingDirectoryTask
from daemon.store import Execution, new_id
from daemon.store.flows import DeployedFlow, FlowRevision
from daemon.tasks.namespace_files import fill_working_directory


class FlowableRuns:
    """Working directories, pauses and subflows. ``create`` is ``Lifecycle.create_execution`` (a subflow's
    execution), passed in at construction."""

    def __init__(self, rt: Runtime, state: EngineState, create: Callable[..., str]) -> None:
        self.rt = rt
        self.state = state
        self.create = create
        self.store = rt.store
        self.settings = rt.settings

    def finish(self, view: ExecView, run: RunView, state: str, now: datetime) -> None:
        task = view.index[run.task_id]
        if isinstance(task, WorkingDirectoryTask) and "workdir" in run.meta:
            folder = Path(run.meta["workdir"])
            try:
                files = self._collect_files(view, run, task, folder)
                if files:
                    run.outputs = {"outputFiles": files}
            except (FlowdError, OSError) as exc:
                self.rt.log(view, run, "ERROR", f"outputFiles: {exc}")
                state = S.FAILED
            shutil.rmtree(folder, ignore_errors=True)
        if state == S.FAILED and self._retry_whole(view, run, now):
            return
        self.rt.end_run(view, run, warned(task, run, state), now)

    def _retry_whole(self, view: ExecView, run: RunView, now: datetime) -> bool:
        """A failed flowable or Subflow run with a ``retry`` left: RETRIED, and its next try waits; False
        when no attempt is left (the run then fails as usual)."""
        task = view.index[run.task_id]
        if task.retry is None or view.stopping is not None:
            return False
        started = run.histories[0]["date"] if run.histories else None
        tries = [*run.attempts, {"state": S.FAILED, "startDate": started, "endDate": S.iso(now)}]
        first = parse_date(tries[0].get("startDate"), now)
        delay = retry_delay(task.retry, attempts_done=len(tries), first_start=first, now=now)
        if delay is None:
            return False
        run.attempts = tries
        self.rt.end_run(view, run, S.RETRIED, now)
        due = now + delay
        again = RunView(
            id=new_id(), task_id=run.task_id, parent_id=run.parent_id, value=run.value,
            iteration=run.iteration, state=S.CREATED, ready_at=due, attempts=list(tries),
            histories=[S.history_entry(S.CREATED, now)], meta={"retryAt": S.iso(due)},
        )  # fmt: skip
        again.move(S.RUNNING, now, record=False)  # never claimable: the timer starts it
        again.move(S.RETRYING, now)
        view.add(again)  # replaces the failed run in the plan (same key; the later ready_at on a reload)
        self.state.batch.created[again.id] = (view, again)
        self.state.timers[again.id] = (view.id, due)
        self.state.dirty.add(view.id)
        return True

    def timer_due(self, view: ExecView, run: RunView, now: datetime) -> None:
        """A pause's delay or a retry's is over."""
        if run.state == S.RETRYING:
            self._try_again(view, run, now)
        else:
            self.succeed_pause(view, run, now)

    def _try_again(self, view: ExecView, run: RunView, now: datetime) -> None:
        task = view.index[run.task_id]
        run.meta = {}
        run.move(S.RUNNING, now)
        self.state.batch.touch(view, run)
        self.state.dirty.add(view.id)
        try:
            context = task_context(self.rt.base(view), view, run, task)
            if isinstance(task, SubflowTask):
                self.start_subflow(view, run, task, context, now)
                return
            run.meta = decide(task, context)
            if isinstance(task, WorkingDirectoryTask):
                self.open_workdir(view, run, task, context)
        except (FlowdError, ValueError, TypeError, OSError) as exc:
            self.rt.log(view, run, "ERROR", exc.message if isinstance(exc, FlowdError) else str(exc))
            self.rt.end_run(view, run, S.FAILED, now)

    def open_workdir(
        self, view: ExecView, run: RunView, task: WorkingDirectoryTask, context: Mapping[str, Any]
    ) -> None:
        folder = self.settings.home / "work" / view.id / run.id
        folder.mkdir(parents=True, exist_ok=True)
        run.meta["workdir"] = str(folder)
        fill_working_directory(
            self.store.namespace_files, task.namespaceFiles, folder, view.execution.namespace,
            lambda value: render_value(value, context),
        )  # fmt: skip
        files = render_value(task.inputFiles, context) if task.inputFiles else {}
        if isinstance(files, str):
            files = json.loads(files)
        for name, content in dict(files).items():
            target = (folder / name).resolve()
            if not target.is_relative_to(folder.resolve()):
                raise TaskError(f"inputFiles: {name!r} is outside the working directory")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(str(content))

    def _collect_files(
        self, view: ExecView, run: RunView, task: WorkingDirectoryTask, folder: Path
    ) -> dict[str, str]:
        found: dict[str, str] = {}
        ex = view.execution
        for pattern in task.outputFiles:
            for path in sorted(folder.glob(pattern)):
                if path.is_file():
                    rel = str(path.relative_to(folder))
                    name = rel.replace("/", "_")
                    found[rel] = self.rt.storage.put(
                        ex.namespace, ex.flow_id, view.id, task.id, run.id, path, filename=name
                    )
        return found

    def pause(self, view: ExecView, run: RunView, task: PauseTask, now: datetime) -> None:
        run.move(S.RUNNING, now)
        run.move(S.PAUSED, now)
        if task.pauseDuration is not None:
            at = now + task.pauseDuration
            run.meta = {"resumeAt": S.iso(at)}
            self.state.timers[run.id] = (view.id, at)

    def succeed_pause(self, view: ExecView, run: RunView, now: datetime) -> None:
        run.move(S.RUNNING, now)
        task = view.index[run.task_id]
        if isinstance(task, PauseTask) and task.tasks:  # the deprecated tasks run now; the planner ends it
            run.meta = {"decided": True}
            self.state.batch.touch(view, run)
            self.state.dirty.add(view.id)
            return
        self.rt.end_run(view, run, S.SUCCESS, now)

    def start_subflow(
        self, view: ExecView, run: RunView, task: SubflowTask, context: Mapping[str, Any], now: datetime
    ) -> None:
        namespace = str(render_value(task.namespace, context))
        flow_id = str(render_value(task.flowId, context))
        if task.revision is not None:
            record: DeployedFlow | FlowRevision | None = self.store.flows.get_revision(
                namespace, flow_id, task.revision
            )
        else:
            record = self.store.flows.get(namespace, flow_id)
        if record is None:
            raise TaskError(f"subflow {namespace}/{flow_id} is not deployed")
        inputs = render_value(task.inputs, context)
        labels = {**(view.labels if task.inheritLabels else {}), **render_value(task.labels, context)}
        labels[CORRELATION_ID] = view.labels.get(CORRELATION_ID) or view.id  # the root's, inherited
        child = self.create(
            record, inputs, labels=labels, parent=(view.id, run.id),
            trigger={"id": task.id, "type": task.type,
                     "variables": {"executionId": view.id, "namespace": view.execution.namespace,
                                   "flowId": view.execution.flow_id,
                                   "flowRevision": view.execution.flow_revision}},
        )  # fmt: skip
        run.move(S.RUNNING, now)
        run.meta = {"executionId": child, "wait": task.wait}
        run.outputs = {"executionId": child}
        if not task.wait:
            self.rt.end_run(view, run, S.SUCCESS, now)
        child_view = self.state.views.get(child)
        if child_view is not None and S.is_terminal(child_view.state):  # cancelled/failed by concurrency
            self.subflow_ended(child_view.execution, child_view.state, {}, now)

    def subflow_ended(self, child: Execution, state: str, outputs: dict[str, Any], now: datetime) -> None:
        parent = self.state.views.get(child.parent_execution_id or "")
        run = parent.runs.get(child.parent_task_run_id or "") if parent else None
        if parent is None or run is None or S.is_terminal(run.state):
            return
        task = parent.index[run.task_id]
        assert isinstance(task, SubflowTask)
        run.outputs = {"executionId": child.id, "state": state, "outputs": outputs}
        end = S.SUCCESS
        if state in (S.FAILED, S.KILLED, S.CANCELLED) and task.transmitFailed:
            end = S.FAILED
        elif state == S.WARNING:
            end = S.WARNING
        if end == S.FAILED and self._retry_whole(parent, run, now):
            return
        self.rt.end_run(parent, run, warned(task, run, end), now)


def warned(task: TaskBase, run: RunView, state: str) -> str:
    """``warningOnRetry``: a run that succeeded only after retries ends WARNING."""
    if state == S.SUCCESS and run.attempts and task.retry is not None and task.retry.warningOnRetry:
        return S.WARNING
    return state
