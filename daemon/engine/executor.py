"""The executor: drives executions with asyncio, one transaction per batch of changes.

The unit of work is a task run claimed from the store (``claim_task_runs``). The executor keeps an in-memory
view of each execution it owns (``ExecView``) and writes every change through, batched: the outcomes of the
attempts that finished since the last step, the runs the planner creates in response, log lines and
execution state changes go to the store in one transaction. A run the planner creates while a worker slot is
free is inserted already claimed and started at once (no claim round trip); others wait in CREATED for a
claim.
Retries wait through the run's ``ready_at``, never by sleeping a worker.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from daemon.clock import Clock
from daemon.engine import states as S
from daemon.engine.attempt import Outcome, decide, passes_conditions, passes_run_if, run_plugin
from daemon.engine.context import PluginFn, RunContext
from daemon.engine.flowcache import FlowCache
from daemon.engine.inputs import resolve_inputs
from daemon.engine.planner import NewRun, plan, provisional_state
from daemon.engine.retry import retry_delay
from daemon.engine.services import KvAdapter, Secrets, StorageAdapter, env_vars
from daemon.engine.variables import Services, execution_context, task_context
from daemon.engine.view import ExecView, RunView
from daemon.errors import FlowdError, StoreError, TaskError
from daemon.expressions import mask_secrets, render_value
from daemon.language.task_base import TaskBase
from daemon.language.tasks_core import CORE_TASKS, PauseTask, PurgeCurrentExecutionFilesTask
from daemon.language.tasks_flow import Flowable, SubflowTask, WorkingDirectoryTask
from daemon.settings import Settings
from daemon.store import ACTIVE_STATES, Execution, LogEntry, LogLine, Store, new_id
from daemon.store.flows import DeployedFlow, FlowRevision
from daemon.store.storage import InternalStorage

STALE_AFTER = timedelta(seconds=30)  # an owner that has not beaten for this long is gone
BEAT_EVERY = 5.0
POLL = 0.5  # seconds between checks of the store for work created elsewhere (kill requests, adoption)
FILELESS_TASKS = frozenset(cls.TYPE for cls in CORE_TASKS if cls is not PurgeCurrentExecutionFilesTask)
ACTIVE_RUNS = (S.CREATED, S.RUNNING, S.PAUSED, S.RETRYING, S.KILLING)


@dataclass
class _Batch:
    created: dict[str, tuple[ExecView, RunView]] = field(default_factory=dict)
    touched: dict[str, tuple[ExecView, RunView]] = field(default_factory=dict)
    states: dict[str, tuple[ExecView, str, datetime | None, dict[str, Any] | None]] = field(
        default_factory=dict
    )

    def touch(self, view: ExecView, run: RunView) -> None:
        if run.id not in self.created:
            self.touched[run.id] = (view, run)


class Executor:
    """Runs executions of deployed flows; see the module docstring."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Clock,
        plugins: Mapping[str, PluginFn],
        *,
        workers: int = 8,
        worker_id: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.plugins = plugins
        self.workers = max(workers, 1)
        self.worker_id = worker_id or new_id()
        env = dict(os.environ if environ is None else environ)
        self.secrets = Secrets(env)
        self._secret_values = self.secrets.values()
        self._envs = env_vars(env)
        self.flows = FlowCache(store)
        self.storage = InternalStorage(settings.storage_dir)
        self._kv = KvAdapter(store.kv, clock.now)
        self.views: dict[str, ExecView] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._cancel: dict[str, asyncio.Event] = {}
        self._finished: list[Outcome] = []
        self._logs: list[LogEntry] = []
        self._dirty: set[str] = set()
        self._waiting: dict[str, datetime] = {}  # CREATED run id -> ready_at
        self._timers: dict[str, tuple[str, datetime]] = {}  # paused run id -> (execution id, resume at)
        self._to_start: list[tuple[ExecView, RunView]] = []
        self._batch = _Batch()
        self._bases: dict[str, tuple[ExecView, dict[str, Any]]] = {}
        self._wake: asyncio.Event | None = None
        self._last_beat = 0.0
        self._last_poll = 0.0
        # called with each execution row (its final state and outputs) once its end is committed
        self.end_hooks: list[Callable[[Execution], None]] = []

    # --- public API -------------------------------------------------------------------------------------
    def create_execution(
        self,
        flow_record: DeployedFlow | FlowRevision,
        inputs: Mapping[str, Any],
        *,
        trigger: dict[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
        parent: tuple[str, str] | None = None,
        own: bool = True,
        execution_id: str | None = None,
        conn: Connection | None = None,
    ) -> str:
        """Create an execution of a deployed flow revision; returns its id. Inputs are validated first:
        InputError (naming the input) creates nothing. ``own=False`` leaves it for a daemon to adopt.
        ``conn`` writes it in the caller's transaction (a trigger records its tick in the same one)."""
        index = self.flows.revision(flow_record.namespace, flow_record.flow_id, flow_record.revision)
        flow = index.flow
        execution_id = execution_id or new_id()
        now = self.clock.now()

        def upload(input_id: str, path: str) -> str:
            return self.storage.put(
                flow.namespace, flow.id, execution_id, "inputs", input_id, Path(path).expanduser()
            )

        values = resolve_inputs(flow.inputs, inputs, upload=upload)
        state, histories = S.CREATED, [S.history_entry(S.CREATED, now)]
        if flow.concurrency is not None:
            running = self.store.executions.count(flow.namespace, flow.id, states=ACTIVE_STATES, conn=conn)
            if running >= flow.concurrency.limit:
                state = {"QUEUE": S.QUEUED, "CANCEL": S.CANCELLED, "FAIL": S.FAILED}[
                    flow.concurrency.behavior
                ]
                histories.append(S.history_entry(state, now))
        execution = Execution(
            id=execution_id, namespace=flow.namespace, flow_id=flow.id, flow_revision=flow_record.revision,
            state=state, start_date=now, histories=histories, inputs=values,
            labels={**flow.labels, **(labels or {})}, trigger=trigger,
            parent_execution_id=parent[0] if parent else None,
            parent_task_run_id=parent[1] if parent else None,
            end_date=now if S.is_terminal(state) else None,
            owner_id=self.worker_id if own else None, heartbeat_at=now if own else None,
        )  # fmt: skip
        self.store.executions.create(execution, conn=conn)
        if state == S.FAILED:
            limit = flow.concurrency.limit if flow.concurrency else 0
            self._logs.append(LogEntry(execution_id, "ERROR", now, f"flow concurrency limit {limit} reached"))
            if conn is None:  # else the loop's next commit writes it (a second writer would wait on SQLite)
                self._flush_logs()
        if own and not S.is_terminal(state):
            view = ExecView(
                execution=execution, index=index, state=state, labels=dict(execution.labels or {})
            )
            self.views[execution_id] = view
            self._dirty.add(execution_id)
        return execution_id

    async def run_until_done(self, execution_id: str) -> Execution:
        """Drive one execution (and any other this executor owns) until it is terminal; returns its row."""
        view = self.views.get(execution_id)
        if view is None:
            row = self.store.executions.get(execution_id)
            if row is None:
                raise StoreError(f"execution {execution_id} does not exist")
            if not S.is_terminal(row.state):
                view = self._load(row)
        if view is not None:
            target = view
            await self._drive(lambda: S.is_terminal(target.state))
        row = self.store.executions.get(execution_id)
        assert row is not None
        return row

    async def serve(self, stop: asyncio.Event) -> None:
        """The daemon loop: recover, then adopt and run any execution needing a driver until ``stop``."""
        self.recover()
        await self._drive(stop.is_set, adopt=True)

    def kill(self, execution_id: str) -> bool:
        """Kill an execution: KILLING now, KILLED once its running tasks have stopped. False if terminal.
        An execution owned by another live process is marked KILLING; its owner finishes the kill."""
        now = self.clock.now()
        view = self.views.get(execution_id)
        if view is None:
            return kill_in_store(self.store, execution_id, now=now)
        if S.is_terminal(view.state):
            return False
        self.store.executions.set_state(view.id, S.KILLING, date=now)
        self._stop(view, S.KILLED, now)
        view.state = S.KILLING
        self._wakeup()
        return True

    def resume_execution(self, execution_id: str) -> bool:
        """Resume a PAUSED execution: its paused task runs succeed and the flow goes on."""
        view = self.views.get(execution_id)
        if view is None:
            row = self.store.executions.get(execution_id)
            if row is None or row.state != S.PAUSED:
                return False
            view = self._load(row)
        now = self.clock.now()
        paused = [r for r in view.runs.values() if r.state == S.PAUSED]
        for run in paused:
            self._timers.pop(run.id, None)
            self._succeed_pause(view, run, now)
        self._wakeup()
        return bool(paused)

    def wake(self) -> None:
        """Step the loop now: work was added from outside it (an execution created by a trigger)."""
        self._wakeup()

    def drain(self) -> None:
        """Shutdown: start no new task run (no claims); attempts already running go on."""
        self.workers = 0

    @property
    def busy(self) -> int:
        """How many attempts are running or about to start."""
        return len(self._tasks) + len(self._to_start)

    def recover(self) -> list[str]:
        """Adopt executions whose driver is gone (no owner, or a heartbeat older than ``STALE_AFTER``); their
        interrupted task runs run again. One that cannot be resumed (its flow is gone) is failed with the
        reason logged: none is left RUNNING without a driver."""
        now = self.clock.now()
        adopted = self.store.executions.adopt(self.worker_id, stale_before=now - STALE_AFTER, now=now)
        ids = []
        for row in adopted:
            if row.id in self.views:
                continue
            try:
                view = self._load(row)
            except FlowdError as exc:
                fail_in_store(self.store, row.id, f"cannot resume: {exc.message}", now=now)
                continue
            ids.append(view.id)
            for run in view.runs.values():
                task = view.index.tasks.get(run.task_id)
                interrupted = run.state == S.RUNNING and run.claimed_by not in (None, self.worker_id)
                if interrupted and task is not None and not isinstance(task, Flowable | SubflowTask):
                    self._log(view, run, "WARN", f"worker {run.claimed_by} is gone: running the task again")
                    run.attempts.append({"state": S.KILLED, "startDate": None, "endDate": S.iso(now)})
                    run.move(S.CREATED, now)
                    run.claimed_by = None
                    run.ready_at = now
                    self._waiting[run.id] = now
                    self._batch.touch(view, run)
        return ids

    # --- the loop ---------------------------------------------------------------------------------------
    async def _drive(self, done: Callable[[], bool], *, adopt: bool = False) -> None:
        self._wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        while True:
            self._step(loop.time(), adopt=adopt)
            if done():
                break
            self._wake.clear()
            if self._finished or self._dirty:
                await asyncio.sleep(0)
                continue
            timer = loop.call_later(self._timeout(), self._wake.set)  # cheaper than wait_for's task
            await self._wake.wait()
            timer.cancel()
            await asyncio.sleep(0)  # let attempts finishing at the same time join this batch
        self._flush_logs()

    def _timeout(self) -> float:
        now = self.clock.now()
        dates = [at for _, at in self._timers.values()]
        if self.workers > len(self._tasks):
            dates.extend(self._waiting.values())
        wait = min(((d - now).total_seconds() for d in dates), default=POLL)
        return min(max(wait, 0.001), POLL)

    def _wakeup(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _step(self, tick: float, *, adopt: bool) -> None:
        now = self.clock.now()
        if tick - self._last_poll >= POLL:
            self._last_poll = tick
            self._poll_store(now, adopt=adopt)
        if tick - self._last_beat >= BEAT_EVERY:
            self._last_beat = tick
            self.store.executions.heartbeat(self.worker_id, now)
        for run_id, (execution_id, at) in list(self._timers.items()):
            view = self.views.get(execution_id)
            if at <= now and view is not None:
                del self._timers[run_id]
                self._succeed_pause(view, view.runs[run_id], now)
        self._claim(now)
        self._commit(now)
        self._start()

    def _poll_store(self, now: datetime, *, adopt: bool) -> None:
        """Work that other processes leave in the store: kill requests, queued executions, adoptable ones."""
        if adopt:
            self.recover()
        mine = [v for v in self.views.values() if not S.is_terminal(v.state)]
        if not mine:
            return
        killing = self.store.executions.list(states=[S.KILLING], limit=1000)
        for row in killing:
            view = self.views.get(row.id)
            if view is not None and view.stopping is None:
                self._stop(view, S.KILLED, now)
                view.state = S.KILLING
        for view in mine:
            if view.state == S.QUEUED:
                self._promote(view, now)

    def _promote(self, view: ExecView, now: datetime) -> None:
        concurrency = view.index.flow.concurrency
        if concurrency is None:
            return
        ex = view.execution
        running = self.store.executions.count(ex.namespace, ex.flow_id, states=[s for s in ACTIVE_RUNS])
        queued = self.store.executions.list(namespace=ex.namespace, flow_id=ex.flow_id, states=[S.QUEUED])
        oldest = min(queued, key=lambda e: (e.start_date, e.id), default=None)
        if (
            running < concurrency.limit
            and oldest is not None
            and oldest.id == view.id
            and self.store.executions.set_state(view.id, S.CREATED, date=now, only_from=[S.QUEUED])
        ):
            view.state = S.CREATED
            self._dirty.add(view.id)

    def _claim(self, now: datetime) -> None:
        free = self.workers - len(self._tasks) - len(self._to_start)
        if free <= 0 or not any(at <= now for at in self._waiting.values()):
            return
        owned = [v.id for v in self.views.values() if not S.is_terminal(v.state)]
        for row in self.store.executions.claim_task_runs(self.worker_id, free, now, execution_ids=owned):
            view = self.views[row.execution_id]
            run = view.runs[row.id]
            self._waiting.pop(row.id, None)
            run.state, run.histories, run.claimed_by = row.state, list(row.histories), row.claimed_by
            self._to_start.append((view, run))

    def _start(self) -> None:
        starting, self._to_start = self._to_start, []
        for view, run in starting:
            task = view.index[run.task_id]
            cancelled = asyncio.Event()
            if view.stopping is not None:
                cancelled.set()
            self._cancel[run.id] = cancelled
            self._tasks[run.id] = asyncio.ensure_future(self._attempt(view, run, task, cancelled))

    # --- one attempt ------------------------------------------------------------------------------------
    async def _attempt(self, view: ExecView, run: RunView, task: TaskBase, cancelled: asyncio.Event) -> None:
        start = self.clock.now()
        outcome = Outcome(view.id, run.id, S.FAILED, S.iso(start))
        workdir = self._workdir(view, run)
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
            ctx = RunContext(
                execution_id=view.id, task_run_id=run.id, namespace=view.execution.namespace,
                flow_id=view.execution.flow_id, attempt=len(run.attempts) + 1,
                variables=task_context(self._base(view), view, run, task), workdir=workdir,
                render_fn=render_value, log_fn=lambda level, msg: self._log(view, run, level, msg),
                kv=self._kv, storage=StorageAdapter(self.storage, view.execution.namespace,
                                                    view.execution.flow_id, task.id),
                secret_fn=self.secrets.get, now_fn=self.clock.now, cancelled=cancelled,
                default_runner=self.settings.default_runner,
            )  # fmt: skip
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
        self._finished.append(outcome)
        self._wakeup()

    def _workdir(self, view: ExecView, run: RunView) -> Path | None:
        """The shared folder of the nearest enclosing WorkingDirectory, if any."""
        parent_id = run.parent_id
        while parent_id is not None:
            parent = view.runs[parent_id]
            if "workdir" in parent.meta:
                return Path(parent.meta["workdir"])
            parent_id = parent.parent_id
        return None

    def _base(self, view: ExecView) -> dict[str, Any]:
        """The execution-wide variables, built once per view (the maps inside are live references)."""
        cached = self._bases.get(view.id)
        if cached is not None and cached[0] is view:
            cached[1]["execution"]["state"] = view.state
            return cached[1]
        services = Services(
            secret=self._secret, kv=self._kv_function(view), now=self.clock, envs=self._envs,
            error_logs=lambda: self._error_logs(view),
            read=lambda uri: self.storage.path_of(uri).read_text(),
        )  # fmt: skip
        base = execution_context(view, services)
        self._bases[view.id] = (view, base)
        return base

    def _secret(self, name: str) -> str:
        return self.secrets.get(name)

    def _kv_function(self, view: ExecView) -> Callable[..., Any]:
        def kv(key: str, namespace: str | None = None, error_on_missing: bool = True) -> Any:
            value = self._kv.get(namespace or view.execution.namespace, key)
            if value is None and error_on_missing:
                raise TaskError(f"no key '{key}' in the key-value store")
            return value

        return kv

    def _error_logs(self, view: ExecView) -> list[dict[str, Any]]:
        stored: list[LogEntry | LogLine] = list(self.store.logs.for_execution(view.id, min_level="ERROR"))
        stored.extend(e for e in self._logs if e.execution_id == view.id and e.level == "ERROR")
        return [{"taskId": e.task_id, "message": e.message, "timestamp": S.iso(e.timestamp)} for e in stored]

    def _log(self, view: ExecView, run: RunView | None, level: str, message: str) -> None:
        level = level.upper()
        text = mask_secrets(message, self._secret_values)
        self._logs.append(
            LogEntry(
                execution_id=view.id,
                level=level if level != "WARNING" else "WARN",
                timestamp=self.clock.now(),
                message=text,
                task_run_id=run.id if run else None,
                task_id=run.task_id if run else None,
                attempt=len(run.attempts) + 1 if run else None,
            )
        )

    # --- applying changes -------------------------------------------------------------------------------
    def _commit(self, now: datetime) -> None:
        finished, self._finished = self._finished, []
        for outcome in finished:
            self._apply(outcome, now)
        dirty, self._dirty = self._dirty, set()
        for execution_id in dirty:
            view = self.views.get(execution_id)
            if view is not None:
                self._advance(view, now)
        batch, self._batch = self._batch, _Batch()
        logs, self._logs = self._logs, []
        if not (batch.created or batch.touched or batch.states or logs):
            return
        with self.store.begin() as conn:
            self.store.executions.insert_task_runs(
                [r.to_row(v.id) for v, r in batch.created.values()], conn=conn
            )
            self.store.executions.update_task_runs(
                [r.to_update(r.ready_at) for _, r in batch.touched.values()], conn=conn
            )
            self.store.logs.insert(logs, conn=conn)
            for view, state, end, outputs in batch.states.values():
                self.store.executions.set_state(
                    view.id, state, date=now, end_date=end, outputs=outputs, labels=view.labels, conn=conn
                )
        for view, state, end, outputs in batch.states.values():
            if S.is_terminal(state):
                self._forget(view)
                ended = replace(
                    view.execution, state=state, end_date=end, outputs=outputs, labels=view.labels
                )
                for hook in self.end_hooks:
                    hook(ended)
                for other in list(self.views.values()):
                    if other.state == S.QUEUED and other.execution.flow_id == view.execution.flow_id:
                        self._promote(other, now)

    def _flush_logs(self) -> None:
        logs, self._logs = self._logs, []
        if logs:
            self.store.logs.insert(logs)

    def _forget(self, view: ExecView) -> None:
        """Drop a finished execution from memory (the store has it all)."""
        self.views.pop(view.id, None)
        self._bases.pop(view.id, None)
        for run_id in view.runs:
            self._waiting.pop(run_id, None)
            self._timers.pop(run_id, None)
        shutil.rmtree(self.settings.home / "work" / view.id, ignore_errors=True)

    def _apply(self, outcome: Outcome, now: datetime) -> None:
        self._tasks.pop(outcome.run_id, None)
        self._cancel.pop(outcome.run_id, None)
        view = self.views.get(outcome.execution_id)
        if view is None:
            return
        run = view.runs[outcome.run_id]
        task = view.index[run.task_id]
        state = outcome.state
        if view.stopping == S.KILLED and state == S.FAILED:
            state = S.KILLED
        run.attempts.append({"state": state, "startDate": outcome.start, "endDate": outcome.end})
        if outcome.error:
            self._log(view, run, "ERROR", outcome.error)
        self._batch.touch(view, run)
        self._dirty.add(view.id)
        if "labels" in outcome.effects:
            view.labels.update(outcome.effects["labels"])
            self._batch.states.setdefault(view.id, (view, view.state, None, None))
        if state == S.FAILED and view.stopping is None:
            first = _date(run.attempts[0]["startDate"], now)
            delay = retry_delay(task.retry, attempts_done=len(run.attempts), first_start=first, now=now)
            if delay is not None:
                run.move(S.RETRYING, now)
                run.state = S.CREATED  # claimable again at ready_at; the claim records RUNNING
                run.claimed_by = None
                run.ready_at = now + delay
                self._waiting[run.id] = run.ready_at
                return
        if (
            state == S.SUCCESS
            and task.retry is not None
            and task.retry.warningOnRetry
            and len(run.attempts) > 1
        ):
            state = S.WARNING
        run.outputs = self._mask(outcome.outputs)
        run.move(state, now)
        view.record_outputs(run)
        if "exit" in outcome.effects and view.stopping is None:
            self._stop(view, outcome.effects["exit"], now)

    def _mask(self, value: Any) -> Any:
        if isinstance(value, str):
            return mask_secrets(value, self._secret_values)
        if isinstance(value, dict):
            return {k: self._mask(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._mask(v) for v in value]
        return value

    def _stop(self, view: ExecView, state: str, now: datetime) -> None:
        """No new work for ``view``; running attempts are cancelled, waiting and paused runs end KILLED."""
        view.stopping = state
        for run in view.runs.values():
            if S.is_terminal(run.state):
                continue
            if run.id in self._cancel:
                self._cancel[run.id].set()
            elif any(run is r for _, r in self._to_start):
                continue
            else:
                self._waiting.pop(run.id, None)
                self._timers.pop(run.id, None)
                run.move(S.KILLED, now)
                self._batch.touch(view, run)
        self._dirty.add(view.id)

    def _advance(self, view: ExecView, now: datetime) -> None:
        if S.is_terminal(view.state) or view.state == S.QUEUED:
            return
        if view.state == S.CREATED:
            self._set_state(view, S.RUNNING)
        while True:
            step = plan(view.index, list(view.runs.values()), stopping=view.stopping)
            if step.empty:
                break
            for run_id, state in step.finish:
                self._finish_flowable(view, view.runs[run_id], state, now)
            for new in step.create:
                self._create_run(view, new, now)
            if step.end is not None:
                self._end(view, step.end, now)
                return
        paused = any(r.state == S.PAUSED and r.id not in self._timers for r in view.runs.values())
        if paused and view.state == S.RUNNING:
            self._set_state(view, S.PAUSED)
        elif not paused and view.state == S.PAUSED:
            self._set_state(view, S.RUNNING)

    def _set_state(
        self, view: ExecView, state: str, end: datetime | None = None, outputs: Any = None
    ) -> None:
        view.state = state
        self._batch.states[view.id] = (view, state, end, outputs)

    def _create_run(self, view: ExecView, new: NewRun, now: datetime) -> None:
        task = view.index[new.task_id]
        run = RunView(
            id=new_id(), task_id=task.id, parent_id=new.parent_id, value=new.value, iteration=new.iteration,
            state=S.CREATED, ready_at=now, histories=[S.history_entry(S.CREATED, now)],
        )  # fmt: skip
        view.add(run)
        self._batch.created[run.id] = (view, run)
        try:
            context = task_context(self._base(view), view, run, task)
            if task.conditions and not passes_conditions(
                task, provisional_state(view.index, list(view.runs.values()))
            ):
                return self._end_run(view, run, S.SKIPPED, now)
            if not passes_run_if(task, context):
                return self._end_run(view, run, S.SKIPPED, now)
            if isinstance(task, Flowable):
                run.meta = decide(task, context)
                if isinstance(task, WorkingDirectoryTask):
                    self._open_workdir(view, run, task, context)
                run.move(S.RUNNING, now)
                return None
            if isinstance(task, PauseTask):
                return self._pause(view, run, task, now)
            if isinstance(task, SubflowTask):
                return self._start_subflow(view, run, task, context, now)
        except (FlowdError, ValueError, TypeError, OSError) as exc:
            self._log(view, run, "ERROR", exc.message if isinstance(exc, FlowdError) else str(exc))
            run.move(S.RUNNING, now)
            return self._end_run(view, run, S.FAILED, now)
        if self.workers - len(self._tasks) - len(self._to_start) > 0:
            run.move(S.RUNNING, now)
            run.claimed_by = self.worker_id
            self._to_start.append((view, run))
        else:
            self._waiting[run.id] = now
        return None

    def _end_run(self, view: ExecView, run: RunView, state: str, now: datetime) -> None:
        run.move(state, now)
        view.record_outputs(run)
        self._batch.touch(view, run)
        self._dirty.add(view.id)

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
        files = render_value(task.inputFiles, context) if task.inputFiles else {}
        if isinstance(files, str):
            import json

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
        for pattern in task.outputFiles:
            for path in sorted(folder.glob(pattern)):
                if path.is_file():
                    rel = str(path.relative_to(folder))
                    found[rel] = self.storage.put(
                        view.execution.namespace,
                        view.execution.flow_id,
                        view.id,
                        task.id,
                        run.id,
                        path,
                        filename=rel.replace("/", "_"),
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

    def _end(self, view: ExecView, state: str, now: datetime) -> None:
        outputs: dict[str, Any] = {}
        flow = view.index.flow
        if flow.outputs:
            context = self._base(view)
            for output in flow.outputs:
                try:
                    outputs[output.id] = self._mask(render_value(output.value, context))
                except FlowdError as exc:
                    self._log(view, None, "ERROR", f"flow output '{output.id}': {exc.message}")
                    state = S.FAILED
        if view.state == S.KILLING and state != S.KILLED:
            state = S.KILLED if view.stopping == S.KILLED else state
        self._set_state(view, state, now, outputs)
        if view.execution.parent_execution_id:
            self._subflow_ended(view.execution, state, outputs, now)

    # --- loading ----------------------------------------------------------------------------------------
    def _load(self, row: Execution) -> ExecView:
        """Build the in-memory view of a stored execution (after a restart, or one created elsewhere)."""
        index = self.flows.revision(row.namespace, row.flow_id, row.flow_revision)
        view = ExecView(execution=row, index=index, state=row.state, labels=dict(row.labels or {}))
        for task_run in self.store.executions.list_task_runs(row.id):
            run = RunView.from_row(task_run)
            view.add(run)
        for run in view.runs.values():
            if S.is_terminal(run.state):
                view.record_outputs(run)
            elif run.state == S.CREATED:
                self._waiting[run.id] = run.ready_at
            elif run.state == S.PAUSED and "resumeAt" in run.meta:
                self._timers[run.id] = (row.id, _date(run.meta["resumeAt"], self.clock.now()))
        if row.state == S.KILLING:
            view.stopping = S.KILLED
        self.views[row.id] = view
        self._dirty.add(row.id)
        return view


def _date(text: str | None, default: datetime) -> datetime:
    if not text:
        return default
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def kill_in_store(store: Store, execution_id: str, *, now: datetime) -> bool:
    """Ask for an execution to be killed: KILLING, which its live owner turns into KILLED. With no live owner
    the kill is finished here: unfinished task runs and the execution become KILLED."""
    row = store.executions.get(execution_id)
    if row is None or S.is_terminal(row.state):
        return False
    owner_alive = (
        row.owner_id is not None and row.heartbeat_at is not None and row.heartbeat_at >= now - STALE_AFTER
    )
    with store.begin() as conn:
        store.executions.set_state(execution_id, S.KILLING, date=now, conn=conn)
        if not owner_alive:
            _end_runs(store, execution_id, S.KILLED, now=now, conn=conn)
            store.executions.set_state(execution_id, S.KILLED, date=now, end_date=now, conn=conn)
    return True


def fail_in_store(store: Store, execution_id: str, reason: str, *, now: datetime) -> None:
    """End an execution that cannot be driven any more as FAILED, with the reason as a log line."""
    with store.begin() as conn:
        _end_runs(store, execution_id, S.FAILED, now=now, conn=conn)
        store.logs.insert([LogEntry(execution_id, "ERROR", now, reason)], conn=conn)
        store.executions.set_state(execution_id, S.FAILED, date=now, end_date=now, conn=conn)


def _end_runs(store: Store, execution_id: str, state: str, *, now: datetime, conn: Any) -> None:
    updates = []
    for task_run in store.executions.list_task_runs(execution_id, conn=conn):
        if not S.is_terminal(task_run.state):
            run = RunView.from_row(task_run)
            run.move(state, now)
            updates.append(run.to_update())
    store.executions.update_task_runs(updates, conn=conn)
