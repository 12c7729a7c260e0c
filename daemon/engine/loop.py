"""The run loop: step (timers, claims, commit, start attempts), then sleep until an attempt ends, a timer
is due or the store may hold new work (kill requests, executions to adopt)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from daemon.engine import states as S
from daemon.engine.attempts import AttemptRunner
from daemon.engine.claims import Claims
from daemon.engine.flowable_runs import FlowableRuns
from daemon.engine.follow_ups import EndFollowUps
from daemon.engine.lifecycle import Lifecycle
from daemon.engine.persistence import Writer
from daemon.engine.runtime import BEAT_EVERY, POLL, Runtime
from daemon.engine.state import EngineState
from daemon.errors import StoreError
from daemon.store import Execution

log = logging.getLogger(__name__)

# the least time between two polls of the store asked by ``flowd_work`` notifications: a burst of them
# (many subflow ends) makes one poll per step at most this often, not one per notification
NOTIFIED_POLL = 0.05


class Loop:
    """Driving executions: ``run_until_done`` for one, ``serve`` for a daemon."""

    def __init__(
        self,
        rt: Runtime,
        state: EngineState,
        *,
        attempts: AttemptRunner,
        flowables: FlowableRuns,
        writer: Writer,
        lifecycle: Lifecycle,
        claims: Claims,
        follow_ups: EndFollowUps,
    ) -> None:
        self.rt = rt
        self.state = state
        self.attempts = attempts
        self.flowables = flowables
        self.writer = writer
        self.lifecycle = lifecycle
        self.claims = claims
        self.follow_ups = follow_ups
        self.store = rt.store
        self.clock = rt.clock
        self._last_beat = 0.0  # loop.time() of the last heartbeat
        self._last_poll = 0.0  # loop.time() of the last poll of the store
        self._poll_asked = False  # a ``flowd_work`` notification asked for a poll at the next step

    async def run_until_done(self, execution_id: str) -> Execution:
        """Drive one execution (and any other this executor owns) until it is terminal; returns its row."""
        ended = self.state.created_ends.pop(execution_id, None)
        if ended is not None:
            return ended  # it ended within create_execution, whose transaction wrote this row
        view = self.state.views.get(execution_id)
        if view is None:
            row = self.store.executions.get(execution_id)
            if row is None:
                raise StoreError(f"execution {execution_id} does not exist")
            if S.is_terminal(row.state):
                return row
            view = self.lifecycle.load(row)
        self.state.ended[execution_id] = None
        try:
            await self._drive(lambda: self._settled(execution_id))
            ended = self.state.ended.get(execution_id)
        finally:
            self.state.ended.pop(execution_id, None)
        if ended is not None:
            return ended  # committed before it was recorded here: no need to read it back
        row = self.store.executions.get(execution_id)
        assert row is not None
        return row

    def _settled(self, execution_id: str) -> bool:
        """Done, or no longer driven here (ended and forgotten, or lost to another owner)."""
        view = self.state.views.get(execution_id)
        if view is None:
            return execution_id not in self.state.reloads
        return view.done

    async def serve(self, stop: asyncio.Event) -> None:
        """The daemon loop: recover, then adopt and run any execution needing a driver until ``stop``.
        Outbox rows left by a crash are acted on first."""
        self.lifecycle.recover()
        self.follow_ups.drain(self.clock.now(), every=True)
        await self._drive(stop.is_set, adopt=True)

    def wake(self) -> None:
        """Step the loop now: work was added from outside it (an execution created by a trigger)."""
        self.rt.wakeup()

    def wake_to_poll(self) -> None:
        """Step the loop now and read the store in that step: another node left work there (a ``flowd_work``
        notification: an execution to adopt, a kill request, the end of a subflow child driven elsewhere)."""
        self._poll_asked = True
        self.rt.wakeup()

    def drain(self) -> None:
        """Shutdown: start no new task run (no claims); attempts already running go on."""
        self.state.workers = 0

    @property
    def busy(self) -> int:
        """How many attempts are running or about to start."""
        return len(self.state.tasks) + len(self.state.to_start) + len(self.state.inline)

    async def _drive(self, done: Callable[[], bool], *, adopt: bool = False) -> None:
        self.state.wake = asyncio.Event()
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
            self.state.wake.clear()
            if self.state.finished or self.state.dirty or self.state.inline or self.state.adopted_full:
                await asyncio.sleep(0)
                continue
            timer = loop.call_later(self._timeout(), self.state.wake.set)  # cheaper than wait_for's task
            await self.state.wake.wait()
            timer.cancel()
            await asyncio.sleep(0)  # let attempts finishing at the same time join this batch
        self.writer.flush_logs()

    def _timeout(self) -> float:
        now = self.clock.now()
        dates = [at for _, at in self.state.timers.values()]
        if self.state.workers > len(self.state.tasks):
            dates.extend(self.state.waiting.values())
        wait = min(((d - now).total_seconds() for d in dates), default=POLL)
        if self._poll_asked:  # notified within NOTIFIED_POLL of the last poll: poll once that has passed
            wait = min(wait, NOTIFIED_POLL)
        return min(max(wait, 0.001), POLL)

    def _step(self, tick: float, *, adopt: bool) -> None:
        now = self.clock.now()
        since = tick - self._last_poll
        if since >= POLL or (self._poll_asked and since >= NOTIFIED_POLL) or self.state.adopted_full:
            self._last_poll, self._poll_asked = tick, False
            self.claims.poll_store(now, adopt=adopt)
        if tick - self._last_beat >= BEAT_EVERY:
            self._last_beat = tick
            self.claims.beat(now)
            self.follow_ups.drain(now)
            self.rt.wakeup()
        if self.state.reloads:
            self.writer.retry_reloads()
        for run_id, (execution_id, at) in list(self.state.timers.items()):
            view = self.state.views.get(execution_id)
            if at <= now and view is not None:
                del self.state.timers[run_id]
                self.flowables.timer_due(view, view.runs[run_id], now)
        self.claims.claim(now)
        self.writer.commit(now)
        self.attempts.start()
