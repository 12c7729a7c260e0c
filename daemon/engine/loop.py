"""The run loop: step (timers, claims, commit, start attempts), then sleep until an attempt ends, a timer
is due or the store may hold new work (kill requests, executions to adopt)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from daemon.engine import states as S
from daemon.engine.attempts import runs_inline
from daemon.engine.lifecycle import Lifecycle
from daemon.engine.runtime import BEAT_EVERY, POLL
from daemon.errors import StoreError
from daemon.store import Execution

log = logging.getLogger(__name__)


class Loop(Lifecycle):
    """Driving executions: ``run_until_done`` for one, ``serve`` for a daemon."""

    async def run_until_done(self, execution_id: str) -> Execution:
        """Drive one execution (and any other this executor owns) until it is terminal; returns its row."""
        ended = self._created_ends.pop(execution_id, None)
        if ended is not None:
            return ended  # it ended within create_execution, whose transaction wrote this row
        view = self.views.get(execution_id)
        if view is None:
            row = self.store.executions.get(execution_id)
            if row is None:
                raise StoreError(f"execution {execution_id} does not exist")
            if S.is_terminal(row.state):
                return row
            view = self._load(row)
        self._ended[execution_id] = None
        try:
            await self._drive(lambda: self._settled(execution_id))
            ended = self._ended.get(execution_id)
        finally:
            self._ended.pop(execution_id, None)
        if ended is not None:
            return ended  # committed before it was recorded here: no need to read it back
        row = self.store.executions.get(execution_id)
        assert row is not None
        return row

    def _settled(self, execution_id: str) -> bool:
        """Done, or no longer driven here (ended and forgotten, or lost to another owner)."""
        view = self.views.get(execution_id)
        if view is None:
            return execution_id not in self._reloads
        return view.done

    async def serve(self, stop: asyncio.Event) -> None:
        """The daemon loop: recover, then adopt and run any execution needing a driver until ``stop``.
        Outbox rows left by a crash are acted on first."""
        self.recover()
        self.follow_ups.drain(self.clock.now(), every=True)
        await self._drive(stop.is_set, adopt=True)

    def wake(self, *, poll: bool = False) -> None:
        """Step the loop now: work was added from outside it (an execution created by a trigger).
        ``poll``: the store may hold work for it (an unowned execution: a ``flowd_work`` notification),
        so that step looks at the store without waiting for the poll interval."""
        if poll:
            self._last_poll = float("-inf")
        self._wakeup()

    def drain(self) -> None:
        """Shutdown: start no new task run (no claims); attempts already running go on."""
        self.workers = 0

    @property
    def busy(self) -> int:
        """How many attempts are running or about to start."""
        return len(self._tasks) + len(self._to_start) + len(self._inline)

    async def _drive(self, done: Callable[[], bool], *, adopt: bool = False) -> None:
        self._wake = asyncio.Event()
        loop = asyncio.get_running_loop()
        errors = 0
        while True:
            try:
                self._step(loop.time(), adopt=adopt)
                errors = 0
            except Exception:  # the store is unreachable (a claim, a poll): try again, backing off
                errors += 1
                log.warning("executor step failed (%d in a row)", errors, exc_info=True)
                await asyncio.sleep(min(0.05 * 2**errors, 2.0))
            if done():
                break
            self._wake.clear()
            if self._finished or self._dirty or self._inline or self._adopted_full:
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

    def _step(self, tick: float, *, adopt: bool) -> None:
        now = self.clock.now()
        if tick - self._last_poll >= POLL or self._adopted_full:
            self._last_poll = tick
            self._poll_store(now, adopt=adopt)
        if tick - self._last_beat >= BEAT_EVERY:
            self._last_beat = tick
            self._beat(now)
            self.follow_ups.drain(now)
            self._wakeup()
        if self._reloads:
            self._retry_reloads()
        for run_id, (execution_id, at) in list(self._timers.items()):
            view = self.views.get(execution_id)
            if at <= now and view is not None:
                del self._timers[run_id]
                self._timer_due(view, view.runs[run_id], now)
        self._claim(now)
        self._commit(now)
        self._start()

    def _beat(self, now: datetime) -> None:
        """Heartbeat, checking its row count: an execution it did not beat for under our epoch was taken
        over (or ended) elsewhere, and is let go."""
        beaten = self.store.executions.beat(self.worker_id, now)
        for view in list(self.views.values()):
            if view.done or S.is_terminal(view.stored) or beaten.get(view.id) == view.epoch:
                continue
            row = self.store.executions.get(view.id)
            if row is None:
                continue  # its creator's transaction has not committed yet
            if row.owner_id != self.worker_id or row.epoch != view.epoch or S.is_terminal(row.state):
                self._lose(view)

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
                view.move(S.KILLING)
                view.stored = S.KILLING
        for view in mine:
            if view.state == S.QUEUED:
                self._promote(view, now)

    def _claim(self, now: datetime) -> None:
        """Claim waiting runs (retries, runs beyond the worker slots) that are ready."""
        free = self.workers - len(self._tasks) - len(self._to_start)
        # runs are created up to microseconds "in the future" to keep their order: they count as ready
        at = max(now, self._last_ready) if self._last_ready is not None else now
        if free <= 0 or not any(ready <= at for ready in self._waiting.values()):
            return
        owned = [v.id for v in self.views.values() if not S.is_terminal(v.state)]
        for row in self.store.executions.claim_task_runs(self.worker_id, free, at, execution_ids=owned):
            view = self.views[row.execution_id]
            run = view.runs[row.id]
            self._waiting.pop(row.id, None)
            run.sync(row)
            if runs_inline(view.index[run.task_id]):
                self._inline[run.id] = (view, run)
            else:
                self._to_start.append((view, run))
