"""Stepping executions in memory: applying attempt outcomes, asking the planner what comes next and carrying
it out (new runs, finished flowables, the execution's end). Nothing here writes to the store: every change
lands in the batch that ``persistence`` writes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from daemon.engine import states as S
from daemon.engine.attempt import Outcome, decide, passes_conditions, passes_run_if
from daemon.engine.attempts import AttemptRunner, runs_inline
from daemon.engine.flow_retry import plan_retry
from daemon.engine.flowable_runs import FlowableRuns
from daemon.engine.outputs import typed_output
from daemon.engine.planner import NewRun, plan, provisional_state
from daemon.engine.retry import retry_delay
from daemon.engine.runtime import Runtime, parse_date
from daemon.engine.state import EngineState
from daemon.engine.variables import task_context
from daemon.engine.view import ExecView, RunView
from daemon.errors import FlowdError
from daemon.expressions import render_value
from daemon.language.common import Retry
from daemon.language.task_base import TaskBase
from daemon.language.tasks_core import PauseTask
from daemon.language.tasks_flow import Flowable, SubflowTask, WorkingDirectoryTask
from daemon.store import new_id

log = logging.getLogger(__name__)


def retry_of(task: TaskBase, flow_retry: Retry | None) -> Retry | None:
    """The task's own retry, else the flow's: Kestra's flow-level ``retry`` with its default
    ``behavior: RETRY_FAILED_TASK`` applies to every task without one (``CREATE_NEW_EXECUTION`` retries the
    whole execution instead: ``flow_retry``)."""
    if task.retry is not None:
        return task.retry
    if flow_retry is not None and flow_retry.behavior in (None, "RETRY_FAILED_TASK"):
        return flow_retry
    return None


class Stepper:
    """The in-memory state machine of the executions this process drives."""

    def __init__(
        self,
        rt: Runtime,
        state: EngineState,
        attempts: AttemptRunner,
        flowables: FlowableRuns,
        attempt_hooks: list[Callable[[float], None]] | None = None,
    ) -> None:
        self.rt = rt
        self.state = state
        self.attempts = attempts
        self.flowables = flowables
        self.clock = rt.clock
        self.worker_id = rt.worker_id
        # called with each task attempt's duration in seconds as its outcome is applied (metrics: no read
        # of the task runs back; an outcome applied again after a failed write is counted again)
        self.attempt_hooks: list[Callable[[float], None]] = [] if attempt_hooks is None else attempt_hooks

    def guarded(self, execution_id: str, fn: Callable[..., None], *args: Any) -> None:
        """Step one execution; an error marks it broken (reloaded after this step) instead of stopping
        the step for every other execution."""
        if execution_id in self.state.broken:
            return
        try:
            fn(*args)
        except Exception as exc:
            log.warning("execution %s: stepping failed: %s", execution_id, exc, exc_info=True)
            self.state.broken[execution_id] = exc

    def apply(self, outcome: Outcome, now: datetime) -> None:
        self.state.tasks.pop(outcome.run_id, None)
        self.state.cancel.pop(outcome.run_id, None)
        view = self.state.views.get(outcome.execution_id)
        if view is None:
            reload = self.state.reloads.get(outcome.execution_id)
            if reload is not None:  # dropped after a failed write, not read back yet: applied then
                reload[1].append(outcome)
            return
        run = view.runs[outcome.run_id]
        task = view.index[run.task_id]
        state = outcome.state
        if view.stopping == S.KILLED and state == S.FAILED:
            state = S.KILLED
        run.attempts.append({"state": state, "startDate": outcome.start, "endDate": outcome.end})
        if self.attempt_hooks and outcome.start and outcome.end:
            seconds = (parse_date(outcome.end, now) - parse_date(outcome.start, now)).total_seconds()
            for hook in self.attempt_hooks:
                hook(seconds)
        if outcome.error:
            self.rt.log(view, run, "ERROR", outcome.error)
        self.state.batch.touch(view, run)
        self.state.dirty.add(view.id)
        if "labels" in outcome.effects:
            view.labels.update(outcome.effects["labels"])
            self.state.batch.states.setdefault(view.id, (view, view.state, None, None))
        retry = retry_of(task, view.index.flow.retry)
        if state == S.FAILED and view.stopping is None and retry is not None:
            first = parse_date(run.attempts[0]["startDate"], now)
            delay = retry_delay(retry, attempts_done=len(run.attempts), first_start=first, now=now)
            if delay is not None:
                run.move(S.RETRYING, now)
                run.move(S.CREATED, now, record=False)  # claimable at ready_at; the claim records RUNNING
                run.claimed_by = None
                run.ready_at = now + delay
                self.state.waiting[run.id] = run.ready_at
                return
        if state == S.SUCCESS and retry is not None and retry.warningOnRetry and len(run.attempts) > 1:
            state = S.WARNING
        run.outputs = self.rt.mask(outcome.outputs) if outcome.outputs else {}
        run.move(state, now)
        view.record_outputs(run)
        if "exit" in outcome.effects and view.stopping is None:
            self.stop(view, outcome.effects["exit"], now)

    def stop(self, view: ExecView, state: str, now: datetime) -> None:
        """No new work for ``view``; running attempts are cancelled, waiting and paused runs end KILLED."""
        view.stopping = state
        for run in view.runs.values():
            if S.is_terminal(run.state):
                continue
            if run.id in self.state.cancel:
                self.state.cancel[run.id].set()
            elif any(run is r for _, r in self.state.to_start):
                continue
            else:
                self.state.inline.pop(run.id, None)
                self.state.waiting.pop(run.id, None)
                self.state.timers.pop(run.id, None)
                run.move(S.KILLED, now)
                self.state.batch.touch(view, run)
        self.state.dirty.add(view.id)

    def advance(self, view: ExecView, now: datetime) -> None:
        if view.done or view.state == S.QUEUED or (S.is_terminal(view.state) and view.after is None):
            return
        if view.state == S.CREATED:
            self.set_state(view, S.RUNNING)
        while True:
            now = self.clock.now()  # inline tasks ran since the last pass: keep dates true (Gantt)
            step = plan(
                view.index, view.runs.values(), stopping=view.stopping, ended=view.after,
                by_key=view.by_key, cursors=view.cursors,
            )  # fmt: skip
            for run_id, state in step.finish:
                self.flowables.finish(view, view.runs[run_id], state, now)
            for new in step.create:
                self._create_run(view, new, now)
            if step.end is not None:
                self._end(view, step.end, now)
                if view.done:
                    return
            ran = self.run_inline_batch(now)
            if step.empty and not ran:
                break
        self.state.dirty.discard(view.id)  # planned to a fixed point: no need to plan it again this step
        if S.is_terminal(view.state):
            return
        paused = view.index.has_pause and any(
            r.state == S.PAUSED and r.id not in self.state.timers for r in view.runs.values()
        )
        if paused and view.state == S.RUNNING:
            self.set_state(view, S.PAUSED)
        elif not paused and view.state == S.PAUSED:
            self.set_state(view, S.RUNNING)

    def run_inline_batch(self, now: datetime) -> bool:
        """Run the pending inline attempts while this step's budget lasts; whether any ran."""
        if not self.state.inline or time.perf_counter() > self.state.inline_until:
            return False
        pending, self.state.inline = self.state.inline, {}
        for view, run in pending.values():
            outcome = self.attempts.run_inline(view, run, self.clock.now())
            self.guarded(view.id, self.apply, outcome, self.clock.now())
        return True

    def set_state(self, view: ExecView, state: str, end: datetime | None = None, outputs: Any = None) -> None:
        view.move(state)
        self.state.batch.states[view.id] = (view, state, end, outputs)
        self.state.batch.passed.setdefault(view.id, []).append(state)

    def _create_run(self, view: ExecView, new: NewRun, now: datetime) -> None:
        task = view.index[new.task_id]
        run = RunView(
            id=new_id(), task_id=task.id, parent_id=new.parent_id, value=new.value, iteration=new.iteration,
            state=S.CREATED, ready_at=self.rt.ready_at(now), histories=[S.history_entry(S.CREATED, now)],
        )  # fmt: skip
        view.add(run)
        self.state.batch.created[run.id] = (view, run)
        try:
            context = task_context(self.rt.base(view), view, run, task)
            if task.conditions and not passes_conditions(
                task, provisional_state(view.index, list(view.runs.values()))
            ):
                return self.rt.end_run(view, run, S.SKIPPED, now)
            if not passes_run_if(task, context):
                return self.rt.end_run(view, run, S.SKIPPED, now)
            if isinstance(task, Flowable):
                run.meta = decide(task, context)
                if isinstance(task, WorkingDirectoryTask):
                    self.flowables.open_workdir(view, run, task, context)
                run.move(S.RUNNING, now)
                return None
            if isinstance(task, PauseTask):
                return self.flowables.pause(view, run, task, now)
            if isinstance(task, SubflowTask):
                return self.flowables.start_subflow(view, run, task, context, now)
        except (FlowdError, ValueError, TypeError, OSError) as exc:
            self.rt.log(view, run, "ERROR", exc.message if isinstance(exc, FlowdError) else str(exc))
            run.move(S.RUNNING, now)
            return self.rt.end_run(view, run, S.FAILED, now)
        if runs_inline(task) and self.state.workers > 0:
            run.move(S.RUNNING, now)
            run.claimed_by = self.worker_id
            self.state.inline[run.id] = (view, run)
        elif self.state.workers - len(self.state.tasks) - len(self.state.to_start) > 0:
            run.move(S.RUNNING, now)
            run.claimed_by = self.worker_id
            self.state.to_start.append((view, run))
        else:
            self.state.waiting[run.id] = run.ready_at
        return None

    def _end(self, view: ExecView, state: str, now: datetime) -> None:
        """The planner says the execution is over: ``state`` (main tasks, errors, finally). With
        afterExecution tasks the execution ends now and stays driven (``view.after``) until they are done;
        they do not change its state (Kestra)."""
        if view.after is not None:
            self._finish(view, now)
            return
        outputs, ok = self._flow_outputs(view)
        if not ok:
            state = S.FAILED
        if view.state == S.KILLING and state != S.KILLED:
            state = S.KILLED if view.stopping == S.KILLED else state
        self.set_state(view, state, now, outputs)
        if state == S.FAILED and view.stopping is None:
            view.retry = plan_retry(view.index.flow.retry, view.execution, view.labels, now)
            if view.retry is not None:  # FAILED, then RETRIED: a new execution replaces it (Kestra)
                state = S.RETRIED
                self.set_state(view, state, now, outputs)
        view.final = replace(
            view.execution, state=state, end_date=now, outputs=outputs, labels=dict(view.labels)
        )
        if view.index.flow.afterExecution and view.stopping is None:
            view.after = state
            return
        self._finish(view, now)

    def _finish(self, view: ExecView, now: datetime) -> None:
        view.done = True
        self.state.batch.done.append(view)
        final = view.final
        if final is not None and final.parent_execution_id:
            self.flowables.subflow_ended(final, final.state, final.outputs or {}, now)

    def _flow_outputs(self, view: ExecView) -> tuple[dict[str, Any], bool]:
        """The flow's outputs, rendered and typed, and False (the reasons logged) when one cannot be."""
        outputs: dict[str, Any] = {}
        ok = True
        for output in view.index.flow.outputs:
            try:
                value = render_value(output.value, self.rt.base(view))
                outputs[output.id] = self.rt.mask(typed_output(output.type, value))
            except FlowdError as exc:
                self.rt.log(view, None, "ERROR", f"flow output '{output.id}': {exc.message}")
                ok = False
            except ValueError as exc:
                self.rt.log(view, None, "ERROR", f"flow output '{output.id}' ({output.type}): {exc}")
                ok = False
        return outputs, ok
