"""``Services``: what the HTTP API (``daemon.server.api``) and the daemon loops share. A stable surface.

Threading contract: the executor and the scheduler live on the daemon's engine loop (``loop``, its own
thread). Every method here can be called from that loop's thread *or* from another thread (a plain ``def``
FastAPI endpoint runs in a thread pool): calls from another thread are handed to the loop and waited for.
``sync_now()`` blocks for the whole sync: from an event loop use ``await services.sync_now_async()``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from daemon.clock import Clock
from daemon.engine.executor import Executor
from daemon.errors import FlowNotFound
from daemon.reconcile import Reconciler, SyncOutcome
from daemon.schedule.firing import create_triggered
from daemon.schedule.webhooks import match_webhook, parse_body, webhook_variables
from daemon.server.counters import Counters
from daemon.server.supervisor import Health
from daemon.settings import Settings
from daemon.store import Store

T = TypeVar("T")


@dataclass
class Services:
    """The daemon's object graph. ``reconciler`` is None when the daemon runs without a source."""

    settings: Settings
    store: Store
    executor: Executor
    reconciler: Reconciler | None
    clock: Clock
    counters: Counters = field(default_factory=Counters)
    health: Health = field(default_factory=Health)  # the daemon's supervised parts
    # wired by the daemon process (daemon.server.process) once its loop runs
    loop: asyncio.AbstractEventLoop | None = None  # the engine loop (executor, scheduler)
    main_loop: asyncio.AbstractEventLoop | None = None  # the sync loop's (and the API's)
    sync_hook: Callable[[], Awaitable[SyncOutcome]] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    # --- syncing ----------------------------------------------------------------------------------------
    def sync_now(self) -> SyncOutcome:
        """Sync the source now (a push webhook) and return the outcome; blocks until the sync is done.
        From the event loop thread, ``await sync_now_async()`` instead."""
        return self._on_loop(self.sync_now_async)

    async def sync_now_async(self) -> SyncOutcome:
        """Sync now, through the daemon's sync loop when it runs (one sync at a time, scheduler woken)."""
        if self.sync_hook is not None:
            return await self.sync_hook()
        if self.reconciler is None:
            return SyncOutcome("SOURCE_ERROR", None, None, message="the daemon runs without a flow source")
        reconciler = self.reconciler
        return await asyncio.to_thread(self._sync_locked, reconciler)

    def _sync_locked(self, reconciler: Reconciler) -> SyncOutcome:
        with self._lock:  # the reconciler is not thread-safe
            return reconciler.sync()

    # --- executions -------------------------------------------------------------------------------------
    def submit_execution(
        self,
        namespace: str,
        flow_id: str,
        inputs: Mapping[str, Any],
        *,
        trigger: dict[str, Any] | None = None,
        labels: Mapping[str, str] | None = None,
    ) -> str:
        """Create an execution of the deployed flow and start it; returns its id.
        Raises FlowNotFound, InputError (nothing created)."""

        def submit() -> str:
            record = self.store.flows.get(namespace, flow_id)
            if record is None:
                raise FlowNotFound(namespace, flow_id)
            execution_id = self.executor.create_execution(record, inputs, trigger=trigger, labels=labels)
            self.counters.record_created("api" if trigger is None else str(trigger.get("type", "trigger")))
            self.executor.wake()
            return execution_id

        return self._call_on_loop(submit)

    def fire_webhook(
        self,
        namespace: str,
        flow_id: str,
        key: str,
        body: bytes | str | None,
        headers: Mapping[str, Any],
        parameters: Mapping[str, Any],
    ) -> str | None:
        """Start the flow through its Webhook trigger whose ``key`` matches; None when the flow is not
        deployed, disabled, or has no enabled Webhook trigger with that key (the API answers 404).
        ``trigger.body`` is the JSON-parsed body when it parses, else the text."""

        def fire() -> str | None:
            record = self.store.flows.get(namespace, flow_id)
            if record is None:
                return None
            flow = self.executor.flows.revision(namespace, flow_id, record.revision).flow
            trigger = match_webhook(flow, key)
            if trigger is None:
                return None
            variables = webhook_variables(parse_body(body), headers, parameters)
            execution_id = create_triggered(
                self.store, self.executor, record, flow, trigger, variables, now=self.clock.now()
            )
            if execution_id is not None:
                self.counters.record_created("webhook")
                self.executor.wake()
            return execution_id

        return self._call_on_loop(fire)

    def kill_execution(self, execution_id: str) -> bool:
        """Kill an execution (KILLING, then KILLED once its tasks stopped); False when unknown or terminal."""
        return self._call_on_loop(lambda: self.executor.kill(execution_id))

    def resume_execution(self, execution_id: str) -> bool:
        """Resume a PAUSED execution; False when it is not paused."""
        return self._call_on_loop(lambda: self.executor.resume_execution(execution_id))

    # --- metrics ----------------------------------------------------------------------------------------
    def metrics(self) -> dict[str, Any]:
        """Counters since start-up plus current executions by state (from the store)::

        {"executions": {"created": {kind: n}, "ended": {state: n}, "by_state": {state: n}},
         "tasks": {"duration_seconds": DIST}, "syncs": {"results": {result: n}, "duration_seconds": DIST},
         "scheduler": {"ticks_fired": n, "ticks_skipped": n, "lateness_seconds": DIST}}

        where DIST is ``{"count", "sum", "max", "median"}`` (median over the last 1,000 samples)."""
        snapshot = self.counters.snapshot()
        snapshot["executions"]["by_state"] = self.store.executions.count_by_state()
        return snapshot

    # --- plumbing ---------------------------------------------------------------------------------------
    def _call_on_loop(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on the daemon loop's thread (the executor is not thread-safe) and return its result."""
        loop = self.loop
        if loop is None or not loop.is_running() or _on_thread_of(loop):
            return fn()

        async def call() -> T:
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), loop).result()

    def _on_loop(self, make: Callable[[], Awaitable[T]]) -> T:
        loop = self.main_loop or self.loop
        if loop is not None and loop.is_running():
            if _on_thread_of(loop):
                raise RuntimeError("sync_now() blocks: from the event loop, await sync_now_async()")

            async def call() -> T:
                return await make()

            future: Future[T] = asyncio.run_coroutine_threadsafe(call(), loop)
            return future.result()
        return asyncio.run(_awaited(make))


async def _awaited(make: Callable[[], Awaitable[T]]) -> T:
    return await make()


def _on_thread_of(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False
