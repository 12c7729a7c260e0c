"""The daemon process (``flowd run``): one asyncio loop running the HTTP API (uvicorn), the sync loop, the
scheduler, the executor pool and the heartbeat.

Start-up: open the store, release the executions of daemons known to be gone (``kill -9``: their executions
are adopted at once and their interrupted task runs run again), clean orphan Docker containers when a Docker
engine answers, then start everything. SIGTERM / SIGINT: stop syncing and scheduling, start no new task run,
let running ones finish within the grace period, then kill what is left (recorded KILLED), hand the
unfinished executions back (released for the next start) and exit 0. A second signal skips the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from daemon.clock import Clock, SystemClock
from daemon.cluster import notify
from daemon.cluster.guard import SqliteLock, check_port
from daemon.cluster.leader import while_leading
from daemon.cluster.node import ClusterNode
from daemon.cluster.roles import Roles
from daemon.cluster.source import SourceRef, check_source, record_source
from daemon.engine import states as S
from daemon.engine.executor import Executor
from daemon.reconcile import Reconciler, SyncOutcome
from daemon.schedule.flow_triggers import FlowTriggerHook
from daemon.schedule.scheduler import Scheduler, changes_flows
from daemon.server.counters import Counters
from daemon.server.heartbeat import HeartbeatLoop, release_gone
from daemon.server.services import Services
from daemon.server.sync_loop import SyncLoop
from daemon.settings import Settings
from daemon.store import Execution, Store
from daemon.store.storage_db import open_storage

log = logging.getLogger("flowd.daemon")

KILL_WAIT = 10.0  # seconds granted to killed tasks to stop before the executor loop ends anyway


@dataclass(frozen=True, slots=True)
class DaemonOptions:
    """``flowd run`` options, already parsed (durations in seconds)."""

    source: str | None
    ref: str | None = None
    path: str | None = None
    interval: float = 30.0
    listen: str = "127.0.0.1:8080"
    workers: int = 8
    grace: float = 30.0
    db_url: str | None = None
    # cluster: this node's roles (None: all), the leader fail-over bound, and --replace-source
    roles: str | None = None
    failover: float = 10.0
    replace_source: bool = False


def split_listen(listen: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port``; ``:port`` listens on all interfaces)."""
    host, _, port = listen.rpartition(":")
    if not port.isdigit():
        raise ValueError(f"--listen '{listen}' is not HOST:PORT")
    return (host.strip("[]") or "0.0.0.0"), int(port)


def build_services(settings: Settings, options: DaemonOptions, *, clock: Clock | None = None) -> Services:
    """The object graph: store, executor, reconciler (when there is a source)."""
    from daemon.sources import open_source
    from daemon.tasks.registry import PLUGINS

    clock = clock or SystemClock()
    store = Store.open(options.db_url or settings.db_url())
    if options.source:  # one store, one source: refused before anything is fetched
        try:
            wanted = SourceRef.of(options.source, options.ref, options.path)
            check_source(store.engine, wanted, replace=options.replace_source)
        except BaseException:
            store.close()
            raise
    executor = Executor(store, settings, clock, PLUGINS, workers=options.workers)
    executor.storage = open_storage(
        settings.storage, engine=store.engine, storage_dir=settings.storage_dir, cache_dir=settings.cache_dir
    )
    reconciler = None
    if options.source:
        source = open_source(
            options.source, cache_dir=settings.repos_dir, ref=options.ref, path=options.path,
            token=settings.git_token, ssh_key=settings.git_ssh_key,
        )  # fmt: skip
        reconciler = Reconciler(store, source, ref=options.ref, clock=clock)
    return Services(settings=settings, store=store, executor=executor, reconciler=reconciler, clock=clock)


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: the daemon owns SIGTERM / SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _app(services: Services) -> Any:
    try:
        from daemon.server.api import create_app
    except ImportError:  # the API package is optional while it is being written
        from fastapi import FastAPI

        app = FastAPI(title="flowd")
        app.get("/api/health")(lambda: {"status": "UP"})
        return app
    return create_app(services)


def cleanup_docker() -> None:
    """Remove containers left by earlier runs, only when a Docker engine answers (never fails start-up)."""
    try:
        import docker

        from daemon.runners.docker import cleanup_orphans

        client = docker.from_env(timeout=3)
        client.ping()
    except Exception:  # no Docker SDK, no engine, no permission: nothing to clean
        return
    try:
        removed = cleanup_orphans(client)
        if removed:
            log.info("removed %d orphan container(s) of earlier runs", removed)
    except Exception as exc:  # a cleanup problem never stops start-up
        log.warning("could not clean orphan containers: %s", exc)
    finally:
        client.close()


class Daemon:
    """Runs every part of the daemon on the current loop until a signal (or ``request_stop()``)."""

    def __init__(self, services: Services, options: DaemonOptions) -> None:
        self.services = services
        self.options = options
        self.counters: Counters = services.counters
        executor = services.executor
        self.scheduler = Scheduler(
            services.store, executor, services.clock,
            on_fired=lambda _tick, late: self.counters.record_tick(late),
            on_skipped=self.counters.record_skipped,
        )  # fmt: skip
        self.flow_triggers = FlowTriggerHook(
            services.store, executor, services.clock,
            parse=lambda r: executor.flows.revision(r.namespace, r.flow_id, r.revision).flow,
            on_created=lambda _id: self._created("flow"),
        )  # fmt: skip
        executor.end_hooks.append(self._ended)
        executor.end_hooks.append(self.flow_triggers)
        self.sync_loop: SyncLoop | None = None
        if services.reconciler is not None:
            self.sync_loop = SyncLoop(services.reconciler, interval=options.interval, on_synced=self._synced)
            services.sync_hook = self.sync_loop.sync_once
        self.heartbeat = HeartbeatLoop(services.store, services.clock, executor.worker_id)
        self.roles = Roles.parse(options.roles)
        self._source_recorded = False
        self.cluster = ClusterNode(
            services.store, services.clock, executor.worker_id, roles=self.roles, listen=options.listen,
            failover=options.failover,
        )  # fmt: skip
        self.cluster.on_wake(notify.WORK, lambda _payload: executor.wake())
        self.cluster.on_wake(notify.SYNC, lambda _payload: self._sync_requested())
        if self.sync_loop is not None:
            services.sync_hook = self.cluster.sync_hook(self.sync_loop.sync_once)
        elif self.cluster.postgres:  # no source here: a push hook is passed on to the leader
            services.sync_hook = self.cluster.sync_hook(_no_source)
        self.stop = asyncio.Event()
        self._signals = 0

    async def _sync_duty(self, stop: asyncio.Event) -> None:
        """The leader's sync loop, once the store is checked to follow this node's source (another node
        may have replaced it since this one started): a mismatch stops the daemon with the message."""
        opts, source = self.options, self.options.source
        assert self.sync_loop is not None and source is not None
        wanted = SourceRef.of(source, opts.ref, opts.path)
        await asyncio.to_thread(check_source, self.services.store.engine, wanted, replace=opts.replace_source)
        await self.sync_loop.run(stop)

    def _sync_requested(self) -> None:
        """Another node received a push hook: the leader syncs now."""
        if self.sync_loop is not None and self.cluster.leadership.is_leader:
            self.sync_loop.request()

    def _created(self, kind: str) -> None:
        self.counters.record_created(kind)
        self.services.executor.wake()

    def _synced(self, outcome: SyncOutcome, seconds: float) -> None:
        self.counters.record_sync(outcome.result, seconds)
        if outcome.result in ("SUCCESS", "PARTIAL") and not self._source_recorded:
            opts = self.options
            assert opts.source is not None  # a sync loop runs only with a source
            try:  # the store follows this source from its first applied sync on
                record_source(
                    self.services.store.engine, SourceRef.of(opts.source, opts.ref, opts.path),
                    now=self.services.clock.now(),
                )  # fmt: skip
                self._source_recorded = True
            except Exception:  # tried again after the next sync
                log.warning("could not record the store's source", exc_info=True)
        # a periodic sync that found nothing new leaves the scheduler's plans (and its idle CPU) alone
        if outcome.result in ("SUCCESS", "PARTIAL") and changes_flows(outcome.counts):
            self.scheduler.wake()
            self.flow_triggers.invalidate()

    def _ended(self, execution: Execution) -> None:
        self.counters.record_ended(execution.state)
        try:
            for run in self.services.store.executions.list_task_runs(execution.id):
                for attempt in run.attempts:
                    start, end = attempt.get("startDate"), attempt.get("endDate")
                    if start and end:
                        seconds = (_date(end) - _date(start)).total_seconds()
                        self.counters.record_task(seconds)
        except Exception:  # metrics never break the executor
            log.debug("task durations of %s not recorded", execution.id, exc_info=True)

    def request_stop(self) -> None:
        """Begin a graceful shutdown; a second call skips the grace period."""
        self._signals += 1
        if self._signals == 1:
            log.info("stopping: no new work; running tasks get %.0fs to finish", self.options.grace)
        self.stop.set()

    async def run(self) -> int:
        """Serve until stopped; returns the exit status (0)."""
        services, store, executor = self.services, self.services.store, self.services.executor
        loop = asyncio.get_running_loop()
        services.loop = loop
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        settings = services.settings
        self.cluster.check_start(storage=settings.storage, storage_shared=settings.storage_shared)
        self.heartbeat.beat()
        self.cluster.beat()
        released = release_gone(store, services.clock.now(), me=executor.worker_id)
        if released:
            log.info("took over %d execution(s) of a daemon that is gone", released)
        await asyncio.to_thread(cleanup_docker)
        host, port = split_listen(self.options.listen)
        server = _Server(
            uvicorn.Config(_app(services), host=host, port=port, log_level="warning", lifespan="on")
        )
        executor_stop = asyncio.Event()
        tasks = [
            asyncio.ensure_future(self.heartbeat.run(self.stop)),
            asyncio.ensure_future(self.cluster.run(self.stop)),
        ]
        if self.roles.webserver:
            tasks.append(asyncio.ensure_future(server.serve()))
        if self.roles.runs_executions:
            tasks.append(asyncio.ensure_future(executor.serve(executor_stop)))
        # the singleton duties run on the leader only (on SQLite the one daemon always leads)
        leadership = self.cluster.leadership
        tasks.append(
            asyncio.ensure_future(while_leading(leadership, self.stop, self.scheduler.run, name="scheduler"))
        )
        if self.sync_loop is not None:
            tasks.append(
                asyncio.ensure_future(while_leading(leadership, self.stop, self._sync_duty, name="sync"))
            )
        reap = while_leading(leadership, self.stop, self.cluster.reap, name="gone-node reaper")
        tasks.append(asyncio.ensure_future(reap))
        where = f"listening on {host}:{port}" if self.roles.webserver else "no HTTP server"
        log.info("flowd daemon %s (roles %s) %s", executor.worker_id, self.roles, where)
        stopped = asyncio.ensure_future(self.stop.wait())
        done, _ = await asyncio.wait([stopped, *tasks], return_when=asyncio.FIRST_COMPLETED)
        failed = [t for t in done if t is not stopped and t.exception() is not None]
        if failed:
            log.error("daemon part failed: %r", failed[0].exception())
        self.stop.set()
        await self._drain()
        executor_stop.set()
        executor.wake()
        server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        store.executions.release([executor.worker_id])
        self.heartbeat.remove()
        store.close()
        return 1 if failed else 0

    async def _drain(self) -> None:
        executor = self.services.executor
        executor.drain()
        deadline = time.monotonic() + self.options.grace
        while executor.busy and time.monotonic() < deadline and self._signals < 2:
            await asyncio.sleep(0.05)
        if not executor.busy:
            return
        for execution_id, view in list(executor.views.items()):
            if not S.is_terminal(view.state):
                log.warning("grace period over: killing execution %s", execution_id)
                executor.kill(execution_id)
        deadline = time.monotonic() + KILL_WAIT
        while executor.busy and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)  # one more executor step commits the KILLED states


async def _no_source() -> SyncOutcome:
    return SyncOutcome("SOURCE_ERROR", None, None, message="the daemon runs without a flow source")


def _date(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def run_daemon(settings: Settings, options: DaemonOptions) -> int:
    """Build the services and run the daemon until it is stopped; returns the exit status."""

    async def main() -> int:
        # refused before anything is fetched or served: a second daemon on SQLite, a port in use
        lock = SqliteLock.acquire(options.db_url or settings.db_url())
        try:
            if "webserver" in Roles.parse(options.roles).names:
                check_port(*split_listen(options.listen))
            services = build_services(settings, options)
            return await Daemon(services, options).run()
        finally:
            if lock is not None:
                lock.release()

    return asyncio.run(main())
