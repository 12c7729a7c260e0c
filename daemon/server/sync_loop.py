"""The sync loop: keeps the deployed flows equal to the source while the daemon runs.

A Git source is fetched every ``interval``; after a failed read (SOURCE_ERROR) the wait doubles each time
(``backoff``), and the last applied flows keep running (a failed read applies and prunes nothing). A local
folder is also watched (watchdog): a saved file is deployed within the debounce delay. ``request()`` (a push
webhook, ``Services.sync_now``) syncs at once. The reconciler is synchronous: it runs in a worker thread, one
sync at a time, so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from daemon import collector
from daemon.errors import FlowdError
from daemon.reconcile import Reconciler, SyncOutcome
from daemon.sources import LocalFolderSource, Stoppable, watch_folder

log = logging.getLogger(__name__)

MAX_BACKOFF = 600.0


def backoff(interval: float, failures: int) -> float:
    """Seconds to wait before the next sync: ``interval``, doubled for each failure in a row (capped at
    ten minutes, or the interval when that is longer)."""
    if failures <= 0:
        return interval
    return min(interval * 2 ** min(failures, 16), max(MAX_BACKOFF, interval))


class SyncLoop:
    """Runs ``reconciler.sync()`` periodically, on folder changes and on request; ``on_synced(outcome,
    seconds)`` after each, in a worker thread like the sync (it may write to the store)."""

    def __init__(
        self,
        reconciler: Reconciler,
        *,
        interval: float,
        on_synced: Callable[[SyncOutcome, float], None],
        watch: bool = True,
    ) -> None:
        self.reconciler = reconciler
        self.interval = interval
        self._on_synced = on_synced
        self._watch = watch
        self._lock: asyncio.Lock | None = None
        self._requested: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.failures = 0
        self._last_problems: frozenset[tuple[bool, str]] = frozenset()

    def watch_root(self) -> Path | None:
        """The folder to watch: a local folder source's flow folder; None for Git."""
        source = self.reconciler.source
        if not isinstance(source, LocalFolderSource):
            return None
        root = source.root / source.path if source.path else source.root
        return root if root.is_dir() else source.root

    async def sync_once(self) -> SyncOutcome:
        """One sync, after any sync in progress (the reconciler is not thread-safe)."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            # the callback in the sync's worker thread too (it may write to the store: the source's
            # record), in the same hand-off: a push hook's answer waits for one trip to a thread, not two
            outcome = await asyncio.to_thread(self._sync_and_report)
            self._last_problems = _log_outcome(outcome, self._last_problems)
            return outcome

    def _sync_and_report(self) -> SyncOutcome:
        started = time.monotonic()
        try:
            outcome = _sync(self.reconciler)
        except FlowdError as exc:  # the store refused: recorded as FAILED by the reconciler
            log.error("sync failed: %s", exc.message)
            outcome = SyncOutcome("FAILED", None, None, message=exc.message)
        self._on_synced(outcome, time.monotonic() - started)
        return outcome

    def request(self) -> None:
        """Sync as soon as possible (thread-safe)."""
        loop, event = self._loop, self._requested
        if loop is not None and event is not None:
            loop.call_soon_threadsafe(event.set)

    async def _start_watch(self, root: Path) -> Stoppable:
        """The folder watch, started in a worker thread: its start walks the whole folder (one inotify watch
        per folder, 10,000 flow files listed), too long for the loop. Cancelled meanwhile, the watch the
        thread still starts is stopped once it has."""
        starting = asyncio.ensure_future(asyncio.to_thread(watch_folder, root, self.request))
        try:
            return await asyncio.shield(starting)
        except asyncio.CancelledError:
            starting.add_done_callback(_stop_when_started)
            raise

    async def run(self, stop: asyncio.Event) -> None:
        """Sync now, then on every interval, change or request, until ``stop``."""
        self._loop = asyncio.get_running_loop()
        self._requested = requested = asyncio.Event()
        root = self.watch_root() if self._watch else None
        watcher = await self._start_watch(root) if root is not None else None

        async def relay_stop() -> None:
            await stop.wait()
            requested.set()

        relay = asyncio.ensure_future(relay_stop())
        try:
            while not stop.is_set():
                requested.clear()
                outcome = await self.sync_once()
                failed = outcome.result in ("SOURCE_ERROR", "FAILED")
                self.failures = self.failures + 1 if failed else 0
                if failed:
                    log.warning(
                        "sync %s: %s (last applied flows keep running)", outcome.result, outcome.message
                    )
                try:
                    await asyncio.wait_for(requested.wait(), backoff(self.interval, self.failures))
                except TimeoutError:
                    pass
        finally:
            relay.cancel()
            if watcher is not None:
                await asyncio.to_thread(watcher.stop)


def _log_outcome(outcome: SyncOutcome, known: frozenset[tuple[bool, str]]) -> frozenset[tuple[bool, str]]:
    """Log a sync that changed something, and each invalid-file error not logged by the previous sync.

    Returns the errors of this sync, so an unchanged broken file is not logged again every interval.
    """
    kept = {k.invalid_path for k in outcome.plan.kept} if outcome.plan else set()
    # only a file whose flow is deployed has a revision that keeps running; warnings never make a file invalid
    problems = frozenset(
        (bad.path in kept, diagnostic.render())
        for bad in (outcome.plan.invalid if outcome.plan else ())
        for diagnostic in bad.diagnostics
        if diagnostic.severity == "error"
    )
    changed = {k: v for k, v in outcome.counts.items() if v and k not in ("unchanged", "out_of_date")}
    if changed and (set(changed) != {"invalid"} or problems != known):
        where = f" at {outcome.commit[:12]}" if outcome.commit else ""
        summary = ", ".join(f"{v} {k}" for k, v in sorted(changed.items()))
        log.info("sync %s%s: %s", outcome.result, where, summary)
    for deployed, text in sorted(problems - known):
        if deployed:
            log.warning("invalid flow file (its deployed revision keeps running): %s", text)
        else:
            log.warning("invalid flow file (not deployed until it is fixed): %s", text)
    return problems


def _stop_when_started(starting: asyncio.Future[Stoppable]) -> None:
    if not starting.cancelled() and starting.exception() is None:
        # stopping joins the observer thread: not on the loop
        threading.Thread(target=starting.result().stop, name="flowd-watch-stop", daemon=True).start()


def _sync(reconciler: Reconciler) -> SyncOutcome:
    # everything a sync builds stays alive until it ends: a full collection meanwhile only stalls every
    # thread (the main loop too) walking it
    with collector.paused():
        try:
            return reconciler.sync()
        finally:
            # what the sync leaves in memory (parsed flows, caches) lives long, and while collection was
            # paused it all piled up in the youngest generation: the first pass after the pause would walk
            # every object of it (25-40 ms with 10,000 flows, holding the GIL), so it is frozen first
            gc.freeze()
