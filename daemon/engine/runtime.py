"""The services every collaborator of the executor uses (``Runtime``): log lines, secret masking, the
expression variables of an execution, ending a run in memory; and the engine's timing constants.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from daemon.clock import Clock
from daemon.engine import states as S
from daemon.engine.flowcache import FlowCache
from daemon.engine.globals_config import load_globals
from daemon.engine.services import KvAdapter, Secrets, env_vars
from daemon.engine.state import EngineState
from daemon.engine.variables import Services, execution_context
from daemon.engine.view import ExecView, RunView
from daemon.errors import TaskError
from daemon.expressions import mask_secrets
from daemon.settings import Settings
from daemon.store import LogEntry, LogLine, Store
from daemon.store.storage import InternalStorage
from daemon.store.storage_db import open_storage
from daemon.tasks.namespace_files import file_reader

STALE_AFTER = timedelta(seconds=30)  # an owner that has not beaten for this long is gone
BEAT_EVERY = 5.0
POLL = 0.5  # seconds between checks of the store for work created elsewhere (kill requests, adoption)
ADOPT_LIMIT = 100  # executions adopted per look at the store (a full batch: the loop looks again at once)
INLINE_BUDGET = 0.02  # seconds of inline task runs per step before the loop commits and yields
CREATED_ENDS_KEPT = 256  # ended-at-creation rows kept for run_until_done (a daemon never asks for them)


class Runtime:
    """The small services every collaborator uses: log lines (secrets masked), the expression variables of
    an execution, ending a run in memory, waking the loop. Holds the flow cache and the internal storage
    (``storage`` may be replaced after construction: read it here, never copy it)."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        clock: Clock,
        state: EngineState,
        *,
        worker_id: str,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.clock = clock
        self.state = state
        self.worker_id = worker_id
        env = dict(os.environ if environ is None else environ)
        self.secrets = Secrets(env)
        self._secret_values = self.secrets.values()
        self._envs = env_vars(env)
        self._globals = load_globals(env)
        self.flows = FlowCache(store)
        self.storage: InternalStorage = open_storage(
            settings.storage,
            engine=store.engine,
            storage_dir=settings.storage_dir,
            cache_dir=settings.cache_dir,
        )
        self.kv = KvAdapter(store.kv, clock.now)
        # execution id -> (its view, its execution-wide variables), built once per view (``base``)
        self.bases: dict[str, tuple[ExecView, dict[str, Any]]] = {}

    def wakeup(self) -> None:
        wake = self.state.wake
        if wake is not None:
            wake.set()

    def ready_at(self, now: datetime) -> datetime:
        """``now``, but strictly after the last run created: runs list in the order they were created
        (flow order), since the store orders them by ``ready_at``."""
        state = self.state
        last = state.last_ready
        at = now if last is None or now > last else last + timedelta(microseconds=1)
        state.last_ready = at
        return at

    def end_run(self, view: ExecView, run: RunView, state: str, now: datetime) -> None:
        run.move(state, now)
        view.record_outputs(run)
        self.state.batch.touch(view, run)
        self.state.dirty.add(view.id)

    def mask(self, value: Any) -> Any:
        if isinstance(value, str):
            return mask_secrets(value, self._secret_values) if self._secret_values else value
        if isinstance(value, dict):
            return {k: self.mask(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.mask(v) for v in value]
        return value

    def log(self, view: ExecView, run: RunView | None, level: str, message: str) -> None:
        level = level.upper()
        text = mask_secrets(message, self._secret_values) if self._secret_values else message
        self.state.logs.append(
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

    def base(self, view: ExecView) -> dict[str, Any]:
        """The execution-wide variables, built once per view (the maps inside are live references)."""
        cached = self.bases.get(view.id)
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
        self.bases[view.id] = (view, base)
        return base

    def _secret(self, name: str) -> str:
        return self.secrets.get(name)

    def _kv_function(self, view: ExecView) -> Callable[..., Any]:
        def kv(key: str, namespace: str | None = None, error_on_missing: bool = True) -> Any:
            value = self.kv.get(namespace or view.execution.namespace, key)
            if value is None and error_on_missing:
                raise TaskError(f"no key '{key}' in the key-value store")
            return value

        return kv

    def _error_logs(self, view: ExecView) -> list[dict[str, Any]]:
        stored: list[LogEntry | LogLine] = list(self.store.logs.for_execution(view.id, min_level="ERROR"))
        stored.extend(e for e in self.state.logs if e.execution_id == view.id and e.level == "ERROR")
        return [{"taskId": e.task_id, "message": e.message, "timestamp": S.iso(e.timestamp)} for e in stored]


def parse_date(text: str | None, default: datetime) -> datetime:
    """A date stored as ISO text in a run's JSON (``Z`` for UTC); ``default`` when absent."""
    if not text:
        return default
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
