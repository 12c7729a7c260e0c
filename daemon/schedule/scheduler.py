"""The scheduler: fires every deployed schedule trigger's ticks exactly once, on time.

Decisions are pure (``cursor``); this module is the thin loop around them. It keeps a heap of the next fire
instant of every enabled Schedule / ScheduleOnDates trigger and sleeps until the earliest one, or until woken
(``wake()``: a sync changed the flows, or the daemon stops). Trigger states are re-read after every wake, and
when a look every ``refresh`` seconds finds a new sync recorded (one made by another process, e.g.
``flowd sync``; a cheap query, so an idle daemon stays idle), and at least every ``FULL_RELOAD`` seconds.
Each tick is fired by ``create_triggered``: tick recorded, cursor moved and execution created in one
transaction, so restarts and racing daemons never duplicate a run and a crash never loses one.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from daemon.clock import Clock
from daemon.errors import FlowdError
from daemon.language.model import Flow, ScheduleOnDatesTrigger, ScheduleTrigger
from daemon.schedule.cursor import (
    SCHEDULE_TYPES,
    Schedule,
    decide,
    first_cursor,
    schedule_of,
    trigger_variables,
)
from daemon.schedule.firing import ExecutionFactory, Tick, TriggerGone, create_triggered
from daemon.schedule.ticks import DEFAULT_GRACE
from daemon.store import DeployedFlow, Store

log = logging.getLogger(__name__)

REFRESH_SECONDS = 10.0
FULL_RELOAD = 300.0
MAX_SLEEP = 60.0


class FlowSource(ExecutionFactory, Protocol):
    """What the scheduler needs of the executor: creating executions and parsed flows by revision."""

    flows: Any  # daemon.engine.flowcache.FlowCache

    def wake(self) -> None: ...


@dataclass
class _Entry:
    schedule: Schedule
    trigger: ScheduleTrigger | ScheduleOnDatesTrigger
    flow: Flow
    record: DeployedFlow
    cursor: datetime | None
    last_date: datetime | None


class Scheduler:
    """Fires schedule ticks; ``reload(now)`` and ``fire_due(now)`` are the steps, ``run(stop)`` the loop."""

    def __init__(
        self,
        store: Store,
        executor: FlowSource,
        clock: Clock,
        *,
        refresh: float = REFRESH_SECONDS,
        on_fired: Callable[[datetime, float | None], None] | None = None,
        on_skipped: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.executor = executor
        self.clock = clock
        self.refresh = refresh
        self._on_fired = on_fired
        self._on_skipped = on_skipped
        self._entries: dict[tuple[str, str, str], _Entry] = {}
        self._heap: list[tuple[datetime, tuple[str, str, str]]] = []
        self._schedules: dict[tuple[str, str, str, int], Schedule] = {}
        self._changed = True
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- steps (time is an argument) --------------------------------------------------------------------
    def reload(self, now: datetime) -> None:
        """Re-read deployed flows and trigger states; start the cursor of new or redefined triggers."""
        self._changed = False
        flows = {(f.namespace, f.flow_id): f for f in self.store.flows.list()}
        entries: dict[tuple[str, str, str], _Entry] = {}
        for state in self.store.triggers.list():
            record = flows.get((state.namespace, state.flow_id))
            if state.disabled or record is None:
                continue
            try:
                flow = self.executor.flows.revision(state.namespace, state.flow_id, state.revision).flow
            except FlowdError as exc:
                log.warning("flow %s/%s cannot be scheduled: %s", state.namespace, state.flow_id, exc.message)
                continue
            trigger = next((t for t in flow.triggers if t.id == state.trigger_id), None)
            if not isinstance(trigger, SCHEDULE_TYPES) or trigger.disabled or flow.disabled:
                continue
            try:
                schedule = schedule_of(state.namespace, state.flow_id, trigger)
            except FlowdError as exc:
                where = f"{state.namespace}/{state.flow_id}"
                log.warning("trigger %s of %s: %s", trigger.id, where, exc.message)
                continue
            cursor = state.next_date
            if cursor is None:
                cursor = first_cursor(schedule, since=state.updated_at, last_date=state.last_date)
                self.store.triggers.set_dates(
                    *schedule.key, next_date=cursor, last_date=state.last_date, now=now
                )  # fmt: skip
            if record.revision != state.revision:
                continue  # the flow row moved on, its trigger states follow in the same sync transaction
            entries[schedule.key] = _Entry(schedule, trigger, flow, record, cursor, state.last_date)
        self._entries = entries
        self._heap = [(e.cursor, key) for key, e in entries.items() if e.cursor is not None]
        heapq.heapify(self._heap)

    def fire_due(self, now: datetime) -> int:
        """Fire every tick due at ``now``; returns how many executions were created."""
        created = 0
        while self._heap and self._heap[0][0] <= now:
            _, key = heapq.heappop(self._heap)
            entry = self._entries.get(key)
            if entry is None or entry.cursor is None or entry.cursor > now:
                continue
            created += self._fire(entry, now)
            if entry.cursor is not None:
                heapq.heappush(self._heap, (entry.cursor, key))
        if created:
            self.executor.wake()
        return created

    def next_due(self) -> datetime | None:
        """The earliest cursor of all triggers (when to wake next)."""
        return self._heap[0][0] if self._heap else None

    def _fire(self, entry: _Entry, now: datetime) -> int:
        decision = decide(entry.schedule, entry.cursor, now)
        if decision.skipped and self._on_skipped:
            self._on_skipped(decision.skipped)
        created = 0
        for index, tick in enumerate(decision.fire):
            following = decision.fire[index + 1] if index + 1 < len(decision.fire) else decision.cursor
            try:
                execution_id = create_triggered(
                    self.store, self.executor, entry.record, entry.flow, entry.trigger,
                    trigger_variables(entry.schedule, tick), now=now, tick=Tick(tick, following),
                )  # fmt: skip
            except TriggerGone:
                self._changed = True  # re-read the states; this entry waits for that
                self._entries.pop(entry.schedule.key, None)
                entry.cursor = None
                return created
            entry.last_date = tick
            if execution_id is not None:
                created += 1
                if self._on_fired:
                    late = (self.clock.now() - tick).total_seconds()
                    self._on_fired(tick, late if now - tick <= DEFAULT_GRACE else None)
        if not decision.fire and decision.cursor != entry.cursor:
            self.store.triggers.set_dates(
                *entry.schedule.key, next_date=decision.cursor, last_date=entry.last_date, now=now
            )  # fmt: skip
        entry.cursor = decision.cursor
        return created

    # --- the loop ---------------------------------------------------------------------------------------
    def wake(self) -> None:
        """Re-read the flows and re-plan now (thread-safe; a sync applied changes, or the daemon stops)."""
        self._changed = True
        loop, event = self._loop, self._wake
        if loop is not None and event is not None:
            loop.call_soon_threadsafe(event.set)

    async def run(self, stop: asyncio.Event) -> None:
        """Fire ticks until ``stop`` is set."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        wake = self._wake

        async def relay_stop() -> None:
            await stop.wait()
            wake.set()

        relay = asyncio.ensure_future(relay_stop())
        last_reload = last_look = float("-inf")
        marker: int | None = None
        try:
            while not stop.is_set():
                wake.clear()
                now, tick = self.clock.now(), self._loop.time()
                if tick - last_look >= self.refresh:
                    last_look = tick
                    latest = self.store.syncs.latest(limit=1)
                    seen, marker = marker, latest[0].id if latest else None
                    self._changed = self._changed or seen != marker
                if self._changed or tick - last_reload >= FULL_RELOAD:
                    last_reload = tick
                    self.reload(now)
                self.fire_due(now)
                await self._sleep(wake, self._loop.time() - last_look)
        finally:
            relay.cancel()

    async def _sleep(self, wake: asyncio.Event, since_reload: float) -> None:
        if self._changed:
            return
        delay = min(self.refresh - since_reload, MAX_SLEEP)
        due = self.next_due()
        if due is not None:
            delay = min(delay, (due - self.clock.now()).total_seconds())
        if delay <= 0:
            return
        try:
            await asyncio.wait_for(wake.wait(), delay)
        except TimeoutError:
            pass
