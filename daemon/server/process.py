"""The daemon process (``flowd run``): two event loops, so that database work never stalls what must answer.

- The main loop (the main thread) serves the HTTP API (uvicorn), the heartbeat, the sync loop, the daily
  retention purge and signals; its database calls go through worker threads (``asyncio.to_thread``).
- The engine loop (``EngineThread``) runs the executor and the scheduler, whose synchronous store calls
  may wait on a lock without stopping the main loop. ``Services`` hands API calls to it.
Each part is supervised (``supervisor``): restarted after an error with a capped exponential backoff, and
reported DOWN by ``/api/health`` while it keeps failing.

Start-up: open the store, release the executions of daemons known to be gone (``kill -9``: their executions
are adopted at once and their interrupted task runs run again), clean orphan Docker containers when a Docker
engine answers, then start everything. SIGTERM / SIGINT: stop syncing and scheduling, start no new task run,
let running ones finish within the grace period, then kill what is left (recorded KILLED), hand the
unfinished executions back (released for the next start) and exit 0. A second signal skips the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any

import uvicorn

from daemon.cluster import notify
from daemon.cluster.guard import SqliteLock, check_port
from daemon.cluster.leader import while_leading
from daemon.cluster.node import ClusterNode
from daemon.cluster.roles import Roles
from daemon.cluster.source import SourceRef, check_source, record_source
from daemon.engine import states as S
from daemon.engine.executor import Executor
from daemon.reconcile import SyncOutcome
from daemon.runners import groups
from daemon.schedule.flow_triggers import FlowTriggerHook
from daemon.schedule.scheduler import Scheduler, changes_flows
from daemon.schedule.stop_after import StopAfterHook
from daemon.security.hardening import scrub_environ
from daemon.server.assembly import DaemonOptions, build_services, cleanup_docker, split_listen
from daemon.server.counters import Counters
from daemon.server.engine_thread import EngineThread
from daemon.server.execution_log import ExecutionLog
from daemon.server.heartbeat import HeartbeatLoop, release_gone
from daemon.server.retention_loop import retention_loop
from daemon.server.services import Services
from daemon.server.supervisor import DEFAULT_BACKOFF, Backoff, Health, supervise
from daemon.server.sync_loop import SyncLoop
from daemon.settings import Settings
from daemon.store import Execution
from daemon.store.retention import parse_age

log = logging.getLogger("flowd.daemon")

KILL_WAIT = 10.0  # seconds granted to killed tasks to stop before the executor loop ends anyway
SERVER_LOOK = 1.0  # seconds between the HTTP server's looks at its state (uvicorn's own: 0.1)
TICKS_PER_LOOK = 10  # uvicorn counts its ticks in tenths of a second


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling (the daemon owns SIGTERM / SIGINT) and without its 10 Hz
    timer: its main loop looks once a second (what it keeps up to date, the ``Date`` header, has whole
    seconds) and is woken at once when ``should_exit`` is set."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    @property  # type: ignore[override]
    def should_exit(self) -> bool:
        return self._exit_asked

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._exit_asked = value
        woken: asyncio.Event | None = getattr(self, "_woken", None)
        if value and woken is not None:
            woken.set()  # on the loop's thread: the daemon stops it from its main loop

    async def main_loop(self) -> None:
        self._woken = woken = asyncio.Event()
        loop = asyncio.get_running_loop()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + TICKS_PER_LOOK) % 864000  # ``on_tick`` refreshes the Date at every 10th
            timer = loop.call_later(SERVER_LOOK, woken.set)
            await woken.wait()
            timer.cancel()
            woken.clear()


def _app(services: Services, host: str | None = None) -> Any:
    # no fallback: a daemon whose API cannot be imported fails at start rather than answer "UP"
    from daemon.server.api import create_app, prepare_routes

    app = create_app(services, bound_host=host)
    prepare_routes(app)  # here, in the start-up worker thread: not on the main loop at the first calls
    return app


class Daemon:
    """Runs every part of the daemon until a signal (or ``request_stop()``); see the module docstring."""

    def __init__(
        self, services: Services, options: DaemonOptions, *, backoff: Backoff = DEFAULT_BACKOFF
    ) -> None:
        self.services = services
        self.options = options
        self.backoff = backoff
        self.counters: Counters = services.counters
        self.health: Health = services.health
        self.engine = EngineThread()
        executor = services.executor
        self.scheduler = Scheduler(
            services.store, executor, services.clock,
            on_fired=lambda _tick, late: self.counters.record_tick(late),
            on_skipped=self.counters.record_skipped,
            on_reloaded=gc.freeze,  # its parsed schedules live until the next sync: see ``_synced``
        )  # fmt: skip
        self.flow_triggers = FlowTriggerHook(
            services.store, executor, services.clock,
            parse=lambda r: executor.flows.revision(r.namespace, r.flow_id, r.revision).flow,
            on_created=lambda _id: self._created("flow"),
        )  # fmt: skip
        executor.end_hooks.append(self._ended)
        # task durations as attempts end (in memory), not read back from the store at each execution's end
        executor.attempt_hooks.append(self.counters.record_task)
        execution_log = ExecutionLog(services.store)
        executor.start_hooks.append(execution_log.started)
        executor.end_hooks.append(execution_log.ended)
        executor.end_hooks.append(self.flow_triggers)
        stop_after = StopAfterHook(
            services.store, services.clock,
            parse=lambda e: executor.flows.revision(e.namespace, e.flow_id, e.flow_revision).flow,
        )  # fmt: skip
        executor.end_hooks.append(stop_after)
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
        # the listener runs on the main loop; the executor lives on the engine loop
        self.cluster.on_wake(notify.WORK, lambda _payload: self.engine.call_soon(self._poll_executor))
        self.cluster.on_wake(notify.SYNC, lambda _payload: self._sync_requested())
        if self.sync_loop is not None:
            services.sync_hook = self.cluster.sync_hook(self.sync_loop.sync_once)
        elif self.cluster.postgres:  # no source here: a push hook is passed on to the leader
            services.sync_hook = self.cluster.sync_hook(_no_source)
        self.stop = asyncio.Event()
        self._signals = 0
        self._server: _Server | None = None
        self._api: uvicorn.Config | None = None
        self._executor_failed = False

    def _poll_executor(self) -> None:  # on the engine thread
        """Another node left work in the store (``flowd_work``): adopt it, act on a kill, at once."""
        self.services.executor.wake_to_poll()

    async def _sync_duty(self, stop: asyncio.Event) -> None:
        """The leader's sync loop, once the store is checked to follow this node's source (another node
        may have replaced it since this one started): a mismatch stops the daemon with the message."""
        opts, source = self.options, self.options.source
        assert self.sync_loop is not None and source is not None
        wanted = SourceRef.of(source, opts.ref, opts.path)
        await asyncio.to_thread(check_source, self.services.store.engine, wanted, replace=opts.replace_source)
        await self.sync_loop.run(stop)

    async def _scheduler_duty(self, stop: asyncio.Event) -> None:
        """The leader's scheduler: it runs on the engine loop (its store calls wait there), supervised,
        until ``stop`` (on the main loop) says this node no longer leads."""
        box: dict[str, asyncio.Event] = {}

        async def start() -> Any:
            box["stop"] = engine_stop = asyncio.Event()
            run = lambda: self.scheduler.run(engine_stop)  # noqa: E731
            return asyncio.ensure_future(self._supervised("scheduler", run, engine_stop))

        part = await self.engine.run(start())
        try:
            await stop.wait()
        finally:
            self.engine.call_soon(box["stop"].set)
            self.scheduler.wake()
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_wait(part), self.engine.loop))

    def _sync_requested(self) -> None:
        """Another node received a push hook: the leader syncs now."""
        if self.sync_loop is not None and self.cluster.leadership.is_leader:
            self.sync_loop.request()

    def _created(self, kind: str) -> None:  # on the engine thread (scheduler, flow triggers)
        self.counters.record_created(kind)
        self.services.executor.wake()

    def _synced(self, outcome: SyncOutcome, seconds: float) -> None:  # in a worker thread (sync_loop)
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
        # what a sync leaves in memory (parsed flows, caches) lives long: ``sync_loop._sync`` froze it before
        # collection resumed, so no pass walks it again and again (bench/loop_stall_bench.py)
        # a periodic sync that found nothing new leaves the scheduler's plans (and its idle CPU) alone
        if outcome.result in ("SUCCESS", "PARTIAL") and changes_flows(outcome.counts):
            self.scheduler.wake()  # thread-safe
            self.engine.call_soon(self.flow_triggers.invalidate)

    def _ended(self, execution: Execution) -> None:
        self.counters.record_ended(execution.state)

    def request_stop(self) -> None:
        """Begin a graceful shutdown; a second call skips the grace period."""
        self._signals += 1
        if self._signals == 1:
            log.info("stopping: no new work; running tasks get %.0fs to finish", self.options.grace)
        self.stop.set()

    def _supervised(
        self, name: str, run: Callable[[], Awaitable[object]], stop: asyncio.Event
    ) -> Coroutine[Any, Any, None]:
        return supervise(name, run, stop=stop, health=self.health, backoff=self.backoff)

    async def _build_api(self) -> uvicorn.Config:
        host, port = split_listen(self.options.listen)
        app = await asyncio.to_thread(_app, self.services, host)  # importing the API and UI takes ~1 s
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
        await asyncio.to_thread(config.load)  # imports the protocol modules: off the loop too
        return config

    async def _serve_api(self) -> None:
        host, port = split_listen(self.options.listen)
        config, self._api = self._api, None  # built at start-up; a restart after a failure builds anew
        self._server = server = _Server(config or await self._build_api())
        await server.serve(sockets=_sockets(self.options))
        if not server.started and not self.stop.is_set():
            raise OSError(f"the API could not listen on {host}:{port}")

    async def _start_engine(self) -> tuple[asyncio.Event, Any]:
        """On the engine loop: the executor (when this node's roles run executions), supervised. Returns
        its stop event (created on that loop) and the future of the part; the scheduler is a leader duty
        (``_scheduler_duty``)."""
        executor_stop = asyncio.Event()
        parts = []
        if self.roles.runs_executions:
            run = lambda: self._serve_executor(executor_stop)  # noqa: E731
            parts.append(self._supervised("executor", run, executor_stop))
        return executor_stop, asyncio.gather(*parts)

    async def _serve_executor(self, stop: asyncio.Event) -> None:
        """The executor part (engine loop); after a failure it starts from a new executor."""
        if self._executor_failed:
            await self._replace_executor()
            self._executor_failed = False
        try:
            await self.services.executor.serve(stop)
        except Exception:
            self._executor_failed = True
            raise

    async def _replace_executor(self) -> None:
        """After a failure (a write the store refused, a lost connection) the executor's memory may no longer
        match the store: drop it whole. Its running attempts are cancelled (their process groups killed),
        its executions released, and a new executor, with a new worker id, adopts them from the store;
        their interrupted task runs run again (at least once). Raises while the store is unreachable: the
        supervisor tries again after its backoff."""
        old, store = self.services.executor, self.services.store
        running = old.running_attempts()
        for task in running:
            task.cancel()
        if running:
            await asyncio.wait(running, timeout=KILL_WAIT)
        await asyncio.to_thread(store.executions.release, [old.worker_id])
        new = Executor(store, old.settings, old.clock, old.plugins, workers=self.options.workers)
        new.start_hooks.extend(old.start_hooks)
        new.end_hooks.extend(old.end_hooks)
        new.storage = old.storage
        self.services.executor = self.scheduler.executor = self.flow_triggers.executor = new
        await asyncio.to_thread(self.heartbeat.remove)
        self.heartbeat.daemon_id = new.worker_id
        log.warning("executor %s replaced by %s after a failure", old.worker_id, new.worker_id)

    async def run(self) -> int:
        """Serve until stopped; returns the exit status (0)."""
        services, store, executor = self.services, self.services.store, self.services.executor
        # what was imported and built before the daemon starts is never garbage: a full collection during
        # start-up (the API's import, the first sync) would walk it all and stop every thread (~40 ms)
        gc.freeze()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            # only the main thread can take signals (tests run a daemon in a thread and stop it by call)
            with contextlib.suppress(ValueError, RuntimeError):
                loop.add_signal_handler(sig, self.request_stop)
        if self.roles.webserver:
            # first, while nothing else runs: building the API (~1 s of imports, routes and pydantic
            # schemas, in a worker thread) alongside the sync, the engine's recovery and the other
            # start-up threads made them all take turns with the main loop for the GIL (bench/loop_stall)
            self._api = await self._build_api()
            gc.freeze()  # the app, its routes and schemas live as long as the daemon
        # end the task processes of a daemon killed on this host before anything can run them again
        registry = groups.configure(services.settings.home / "run" / "groups")
        assert registry is not None
        reaped = await asyncio.to_thread(registry.reap_orphans)
        if reaped:
            log.warning("ended %d task process group(s) left running by a daemon that is gone", reaped)
        settings = services.settings
        await asyncio.to_thread(
            self.cluster.check_start, storage=settings.storage, storage_shared=settings.storage_shared
        )
        await asyncio.to_thread(self.heartbeat.beat)
        await asyncio.to_thread(self.cluster.beat)
        released = await asyncio.to_thread(release_gone, store, services.clock.now(), me=executor.worker_id)
        if released:
            log.info("took over %d execution(s) of a daemon that is gone", released)
        if await asyncio.to_thread(store.syncs.close_interrupted, now=services.clock.now()):
            log.info("closed the record of a sync interrupted by an earlier stop")
        await asyncio.to_thread(cleanup_docker)
        self.engine.start()
        services.main_loop = loop
        services.loop = self.engine.loop  # the executor is not thread-safe: Services hands calls to it
        executor_stop, engine_parts = await self.engine.run(self._start_engine())
        stop, leadership = self.stop, self.cluster.leadership

        def part(name: str, run: Callable[[], Awaitable[object]]) -> None:
            tasks.append(asyncio.ensure_future(self._supervised(name, run, stop)))

        def leader_duty(name: str, duty: Callable[[asyncio.Event], Awaitable[None]]) -> None:
            # the singleton duties run on the leader only (on SQLite the one daemon always leads)
            part(name, lambda: while_leading(leadership, stop, duty, name=name))

        tasks: list[asyncio.Future[Any]] = []
        if self.roles.webserver:
            part("api", self._serve_api)
        part("heartbeat", lambda: self.heartbeat.run(stop))
        part("cluster", lambda: self.cluster.run(stop))
        leader_duty("scheduler", self._scheduler_duty)
        scheduling = tasks[-1]
        if self.sync_loop is not None:
            leader_duty("sync", self._sync_duty)
        leader_duty("gone-node reaper", self.cluster.reap)
        retention = services.settings.retention
        if retention:
            age, keep = parse_age(retention), services.settings.retention_keep_failed
            # the storage the executor writes to (``FLOWD_STORAGE``: a folder or the database)
            storage = executor.storage
            leader_duty(
                "retention",
                lambda duty_stop: retention_loop(
                    store, storage, services.clock, age=age, keep_failed=keep, stop=duty_stop
                ),
            )
        gc.freeze()  # modules and the object graph built at start-up: never garbage, never walked again
        host, port = split_listen(self.options.listen)
        where = f"listening on {host}:{port}" if self.roles.webserver else "no HTTP server"
        log.info("flowd daemon %s (roles %s) %s", executor.worker_id, self.roles, where)
        await self.stop.wait()
        self.scheduler.wake()
        # no tick may create an execution once draining has begun: it would never start here
        await asyncio.wait([scheduling], timeout=KILL_WAIT)
        await self._drain()
        self.engine.call_soon(executor_stop.set)
        self.engine.call_soon(executor.wake)
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(_wait(engine_parts), self.engine.loop))
        if self._server is not None:
            self._server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.to_thread(self._finish)
        return 0

    def _finish(self) -> None:
        store, executor = self.services.store, self.services.executor
        self.engine.stop()
        try:
            store.executions.release([executor.worker_id])
            self.heartbeat.remove()
        except Exception as exc:  # the store is down: the next start releases them (heartbeat age)
            log.warning("could not release this daemon's executions: %s", exc)
        store.close()

    async def _drain(self) -> None:
        executor = self.services.executor
        await self.engine.call(executor.drain)
        deadline = time.monotonic() + self.options.grace
        while executor.busy and time.monotonic() < deadline and self._signals < 2:
            await asyncio.sleep(0.05)
        if not executor.busy:
            return

        def kill_all() -> None:
            for execution_id, view in list(executor.views.items()):
                if not S.is_terminal(view.state):
                    log.warning("grace period over: killing execution %s", execution_id)
                    executor.kill(execution_id)

        await self.engine.call(kill_all)
        deadline = time.monotonic() + KILL_WAIT
        while executor.busy and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.1)  # one more executor step commits the KILLED states


async def _wait(future: Any) -> None:
    await future


async def _no_source() -> SyncOutcome:
    return SyncOutcome("SOURCE_ERROR", None, None, message="the daemon runs without a flow source")


def _sockets(options: DaemonOptions) -> list[Any] | None:
    return [options.listen_socket] if options.listen_socket is not None else None


def run_daemon(settings: Settings, options: DaemonOptions) -> int:
    """Build the services and run the daemon until it is stopped; returns the exit status."""

    async def main() -> int:
        # refused before anything is fetched or served: a second daemon on SQLite, a port in use (when
        # ``flowd run`` has not bound it already: daemon/server/startup.py)
        lock = SqliteLock.acquire(options.db_url or settings.db_url())
        try:
            if options.listen_socket is None and "webserver" in Roles.parse(options.roles).names:
                check_port(*split_listen(options.listen))
            services = build_services(settings, options)
            scrub_environ()  # the secrets live on in the settings and the executor only (docs/security.md)
            return await Daemon(services, options).run()
        finally:
            if lock is not None:
                lock.release()

    return asyncio.run(main())
