"""Flowable task runs with effects outside the planner: WorkingDirectory folders, Pause, Subflow."""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from daemon.engine import states as S
from daemon.engine.attempts import Attempts
from daemon.engine.labels import CORRELATION_ID
from daemon.engine.view import ExecView, RunView
from daemon.errors import FlowdError, TaskError
from daemon.expressions import render_value
from daemon.language.tasks_core import PauseTask
from daemon.language.tasks_flow import SubflowTask, WorkingDirectoryTask
from daemon.store import Execution
from daemon.store.flows import DeployedFlow, FlowRevision
from daemon.tasks.namespace_files import fill_working_directory


class FlowableRuns(Attempts):
    """Working directories, pauses and subflows."""

    def _finish_flowable(self, view: ExecView, run: RunView, state: str, now: datetime) -> None:
        task = view.index[run.task_id]
        if isinstance(task, WorkingDirectoryTask) and "workdir" in run.meta:
            folder = Path(run.meta["workdir"])
            try:
                files = self._collect_files(view, run, task, folder)
                if files:
                    run.outputs = {"outputFiles": files}
            except (FlowdError, OSError) as exc:
                self._log(view, run, "ERROR", f"outputFiles: {exc}")
                state = S.FAILED
            shutil.rmtree(folder, ignore_errors=True)
        self._end_run(view, run, state, now)

    def _open_workdir(
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
                    found[rel] = self.storage.put(
                        ex.namespace, ex.flow_id, view.id, task.id, run.id, path, filename=name
                    )
        return found

    def _pause(self, view: ExecView, run: RunView, task: PauseTask, now: datetime) -> None:
        run.move(S.RUNNING, now)
        run.move(S.PAUSED, now)
        if task.pauseDuration is not None:
            at = now + task.pauseDuration
            run.meta = {"resumeAt": S.iso(at)}
            self._timers[run.id] = (view.id, at)

    def _succeed_pause(self, view: ExecView, run: RunView, now: datetime) -> None:
        run.move(S.RUNNING, now)
        self._end_run(view, run, S.SUCCESS, now)

    def _start_subflow(
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
        child = self.create_execution(
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
            self._end_run(view, run, S.SUCCESS, now)
        child_view = self.views.get(child)
        if child_view is not None and S.is_terminal(child_view.state):  # cancelled/failed by concurrency
            self._subflow_ended(child_view.execution, child_view.state, {}, now)

    def _subflow_ended(self, child: Execution, state: str, outputs: dict[str, Any], now: datetime) -> None:
        parent = self.views.get(child.parent_execution_id or "")
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
        self._end_run(parent, run, end, now)
