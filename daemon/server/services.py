"""``Services``: what the HTTP API (``daemon.server.api``) and the daemon loops share. A stable surface.

Threading contract: the executor and the scheduler live on the daemon's engine loop (``loop``, its own
thread). Every method here can be called from that loop's thread *or* from another thread (a plain ``def``
FastAPI endpoint runs in a thread pool): calls from another thread are handed to the loop and waited for.
``sync_now()`` blocks for the whole sync: from an event loop use ``await services.sync_now_async()``.
"""

from __future__ import annotations

import asyncio
import logging
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
from daemon.store.flows import DeployedFlow

log = logging.getLogger(__name__)

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
    # executions submitted from other threads, created together on the engine loop (``_submitted``)
    _submissions: list[tuple[Callable[[], str], Future[str]]] = field(default_factory=list, repr=False)
    _submit_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

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
        record: DeployedFlow | None = None,
    ) -> str:
        """Create an execution of the deployed flow and start it; returns its id once it is stored.
        ``record``: the deployed flow when the caller has just read it (not read again).
        Raises FlowNotFound, InputError (nothing created).

        From another thread, concurrent calls are written together (group commit, see ``_submitted``)."""

        def submit() -> str:
            deployed = record or self.store.flows.get(namespace, flow_id)
            if deployed is None:
                raise FlowNotFound(namespace, flow_id)
            execution_id = self.executor.create_execution(deployed, inputs, trigger=trigger, labels=labels)
            self.counters.record_created("api" if trigger is None else str(trigger.get("type", "trigger")))
            self.executor.wake()
            return execution_id

        loop = self.loop
        if loop is None or not loop.is_running() or _on_thread_of(loop):
            return submit()
        future: Future[str] = Future()
        with self._submit_lock:
            self._submissions.append((submit, future))
            first = len(self._submissions) == 1
        if first:
            loop.call_soon_threadsafe(self._submitted)
        return future.result()

    def _submitted(self) -> None:
        """On the engine loop: create every execution submitted since the last call in one transaction
        (while the loop writes one group, the next one gathers). Each caller gets its answer only after
        that commit. When the group's write fails, nothing of it was stored: each is created again alone,
        and gets its own result or error."""
        with self._submit_lock:
            pending, self._submissions = self._submissions, []
        try:
            self._create_group(pending)
        finally:  # never leave a caller waiting (an error not meant for one submission)
            for _, future in pending:
                if not future.done():
                    future.set_exception(RuntimeError("the execution could not be created"))

    def _create_group(self, pending: list[tuple[Callable[[], str], Future[str]]]) -> None:
        results: list[tuple[Future[str], str | None, BaseException | None]] = []
        try:
            with self.executor.grouped_creations():
                for submit, future in pending:
                    try:
                        results.append((future, submit(), None))
                    except Exception as exc:  # this one's error (bad inputs): the others go on
                        results.append((future, None, exc))
        except Exception:
            log.warning("a group of %d submissions failed: creating each alone", len(pending), exc_info=True)
            results = []
            for submit, future in pending:
                try:
                    results.append((future, submit(), None))
                except Exception as exc:
                    results.append((future, None, exc))
        for future, execution_id, error in results:
            if error is not None:
                future.set_exception(error)
            else:
                assert execution_id is not None
                future.set_result(execution_id)

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
