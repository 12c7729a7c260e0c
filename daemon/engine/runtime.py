"""The executor's shared state and the services every part of it uses: log lines, secret masking, the
expression variables of an execution, ending a run in memory.

``Executor`` is assembled from one class per job, each built on the one before (see ``executor.py``):
runtime -> attempts -> flowable runs -> stepping -> persistence -> lifecycle -> loop.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from daemon.clock import Clock
from daemon.engine import states as S
from daemon.engine.attempt import Outcome
from daemon.engine.context import PluginFn
from daemon.engine.flowcache import FlowCache
from daemon.engine.follow_ups import EndFollowUps
from daemon.engine.globals_config import load_globals
from daemon.engine.services import KvAdapter, Secrets, env_vars
from daemon.engine.variables import Services, execution_context
from daemon.engine.view import ExecView, RunView
from daemon.errors import TaskError
from daemon.expressions import mask_secrets
from daemon.settings import Settings
from daemon.store import Execution, LogEntry, LogLine, Store, new_id
from daemon.store.flows import DeployedFlow, FlowRevision
from daemon.store.storage import InternalStorage
from daemon.tasks.namespace_files import file_reader

STALE_AFTER = timedelta(seconds=30)  # an owner that has not beaten for this long is gone
BEAT_EVERY = 5.0
POLL = 0.5  # seconds between checks of the store for work created elsewhere (kill requests, adoption)
ADOPT_LIMIT = 100  # executions adopted per look at the store (a full batch: the loop looks again at once)
INLINE_BUDGET = 0.02  # seconds of inline task runs per step before the loop commits and yields
CREATED_ENDS_KEPT = 256  # ended-at-creation rows kept for run_until_done (a daemon never asks for them)


@dataclass
class Batch:
    """Changes not yet written: executions to insert, runs to insert or update, execution state changes,
    and the executions whose end (after their afterExecution tasks) is in this batch."""

    executions: list[Execution] = field(default_factory=list)
    created: dict[str, tuple[ExecView, RunView]] = field(default_factory=dict)
    touched: dict[str, tuple[ExecView, RunView]] = field(default_factory=dict)
    states: dict[str, tuple[ExecView, str, datetime | None, dict[str, Any] | None]] = field(
        default_factory=dict
    )
    # every state an execution moved to in this batch, in order (``states`` keeps the last): each one
    # is a history entry (CREATED -> RUNNING -> SUCCESS within one step shows RUNNING too)
    passed: dict[str, list[str]] = field(default_factory=dict)
    done: list[ExecView] = field(default_factory=list)

    def touch(self, view: ExecView, run: RunView) -> None:
        if run.id not in self.created:
            self.touched[run.id] = (view, run)

    @property
    def empty(self) -> bool:
        return not (self.executions or self.created or self.touched or self.states or self.done)


def merge_batches(batches: list[Batch]) -> Batch:
    """One batch writing what each of ``batches`` writes (they change disjoint executions)."""
    if len(batches) == 1:
        return batches[0]
    whole = Batch()
    for batch in batches:
        whole.executions.extend(batch.executions)
        whole.created.update(batch.created)
        whole.touched.update(batch.touched)
        whole.states.update(batch.states)
        whole.passed.update(batch.passed)
        whole.done.extend(batch.done)
    return whole


class Runtime:
    """State shared by the executor's parts, and the small services they all use."""

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
        self._globals = load_globals(env)
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
        self._inline: dict[str, tuple[ExecView, RunView]] = {}  # claimed runs of synchronous core tasks
        self._inline_until = 0.0  # perf_counter() deadline of the current step's inline budget
        self._conn: Connection | None = None  # the executor's own write connection (persistence)
        self._conn_finalizer = weakref.finalize(self, lambda: None)
        self._stepping = False  # inside _commit: a new (sub)execution joins the step's transaction
        self._creating = 0  # depth of _create_now calls (one nested in an end hook plans only)
        self._group: list[Any] | None = None  # new executions' first steps to write together (group commit)
        # rows of executions that ended within create_execution, for run_until_done (oldest dropped)
        self._created_ends: OrderedDict[str, Execution] = OrderedDict()
        self._batch = Batch()
        self._bases: dict[str, tuple[ExecView, dict[str, Any]]] = {}
        self._ended: dict[str, Execution | None] = {}  # run_until_done waiters -> their ended row
        self._broken: dict[str, Exception] = {}  # executions whose stepping raised in this step
        self._failures: dict[str, int] = {}  # execution id -> failed steps in a row (poison quarantine)
        self._reloads: dict[str, tuple[ExecView, list[Outcome]]] = {}  # dropped views to read back
        self._last_ready: datetime | None = None
        self._wake: asyncio.Event | None = None
        self._last_beat = 0.0
        self._last_poll = 0.0
        self._adopted_full = False  # the last adoption took a full batch: more may be waiting
        # called with each execution row (its final state and outputs) once its end is committed, from
        # the outbox: at least once per end (see follow_ups)
        self.end_hooks: list[Callable[[Execution], None]] = []
        # called with each task attempt's duration in seconds as its outcome is applied (metrics: no read
        # of the task runs back; an outcome applied again after a failed write is counted again)
        self.attempt_hooks: list[Callable[[float], None]] = []
        # called with each execution this executor starts running (created here, or loaded and adopted)
        self.start_hooks: list[Callable[[Execution], None]] = []
        self.follow_ups = EndFollowUps(store, self.end_hooks)

    # --- implemented further up the chain -------------------------------------------------------------
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
        conn: Any = None,
    ) -> str:
        """See ``lifecycle.Lifecycle.create_execution``."""
        raise NotImplementedError

    def _promote(self, view: ExecView, now: datetime) -> None:
        raise NotImplementedError

    def _load(self, row: Execution) -> ExecView:
        """See ``lifecycle.Lifecycle._load``."""
        raise NotImplementedError

    def _guarded(self, execution_id: str, fn: Callable[..., None], *args: Any) -> None:
        """See ``persistence.Persistence._guarded``."""
        raise NotImplementedError

    # --- shared services ------------------------------------------------------------------------------
    def _wakeup(self) -> None:
        if self._wake is not None:
            self._wake.set()

    def _ready_at(self, now: datetime) -> datetime:
        """``now``, but strictly after the last run created: runs list in the order they were created
        (flow order), since the store orders them by ``ready_at``."""
        last = self._last_ready
        at = now if last is None or now > last else last + timedelta(microseconds=1)
        self._last_ready = at
        return at

    def _end_run(self, view: ExecView, run: RunView, state: str, now: datetime) -> None:
        run.move(state, now)
        view.record_outputs(run)
        self._batch.touch(view, run)
        self._dirty.add(view.id)

    def _mask(self, value: Any) -> Any:
        if isinstance(value, str):
            return mask_secrets(value, self._secret_values) if self._secret_values else value
        if isinstance(value, dict):
            return {k: self._mask(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._mask(v) for v in value]
        return value

    def _log(self, view: ExecView, run: RunView | None, level: str, message: str) -> None:
        level = level.upper()
        text = mask_secrets(message, self._secret_values) if self._secret_values else message
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

    def _base(self, view: ExecView) -> dict[str, Any]:
        """The execution-wide variables, built once per view (the maps inside are live references)."""
        cached = self._bases.get(view.id)
        if cached is not None and cached[0] is view:
            cached[1]["execution"]["state"] = view.state
            return cached[1]
        services = Services(
            secret=self._secret, kv=self._kv_function(view), now=self.clock, envs=self._envs,
            globals=self._globals,
            error_logs=lambda: self._error_logs(view),
            read=file_reader(self.storage.path_of, self.store.namespace_files, view.execution.namespace),
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


def parse_date(text: str | None, default: datetime) -> datetime:
    """A date stored as ISO text in a run's JSON (``Z`` for UTC); ``default`` when absent."""
    if not text:
        return default
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
