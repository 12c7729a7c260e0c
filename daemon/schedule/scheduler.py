"""The scheduler: fires every deployed schedule trigger's ticks exactly once, on time.

Decisions are pure (``cursor``); this module is the thin loop around them. It keeps a heap of the next fire
instant of every enabled Schedule / ScheduleOnDates trigger and sleeps until the earliest one, or until woken
(``wake()``: a sync changed the flows, or the daemon stops). Trigger states are re-read after every wake, and
when a look every ``refresh`` seconds finds a new sync that changed flows (one made by another process,
e.g. ``flowd sync``; a cheap query, so an idle daemon stays idle), and at least every ``FULL_RELOAD`` s.

Each trigger's next tick is planned ahead (``batch.plan_tick``: variables, next cursor, rendered inputs),
so when many ticks fall on one instant the loop wakes on the monotonic clock at that instant and only
writes: ``batch.fire_planned`` records the ticks, moves the cursors and creates the executions, a chunk per
transaction. Anything else (a catch-up after downtime, a tick found late) goes one tick at a time through
``create_triggered``. Both record the tick on its UNIQUE key in the transaction that creates the execution
and moves the cursor, so restarts and racing daemons never duplicate a run and a crash never loses one.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from daemon import collector
from daemon.clock import Clock
from daemon.errors import FlowdError
from daemon.language.model import Flow, ScheduleOnDatesTrigger, ScheduleTrigger
from daemon.schedule.batch import BatchFactory, Planned, fire_planned, on_time, plan_tick
from daemon.schedule.cursor import (
    SCHEDULE_TYPES,
    Schedule,
    decide,
    first_cursor,
    schedule_of,
    trigger_variables,
)
from daemon.schedule.firing import Tick, TriggerGone, create_triggered
from daemon.schedule.ticks import DEFAULT_GRACE
from daemon.store import DeployedFlow, Store

log = logging.getLogger(__name__)

REFRESH_SECONDS = 10.0
FULL_RELOAD = 300.0
MAX_SLEEP = 60.0
EARLY = 0.004  # seconds: the loop timer wakes this much before a tick, a blocking sleep covers the rest
PLAN_SLICE = 100  # triggers planned ahead between two yields to the event loop
LOOK_WINDOW = 20  # recent syncs examined by a look
FLOW_CHANGES = ("create", "update", "delete")


def changes_flows(counts: Mapping[str, int] | None) -> bool:
    """Whether a sync with these counts changed deployed flows (unknown counts: assume it did)."""
    return counts is None or any(counts.get(action, 0) for action in FLOW_CHANGES)


class FlowSource(BatchFactory, Protocol):
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
    planned: Planned | None = None  # the fire of ``cursor``, computed ahead
    planned_for: datetime | None = None  # the cursor ``planned`` was computed for (None: not yet)

    @property
    def unplanned(self) -> bool:
        return self.cursor is not None and self.planned_for != self.cursor

    def plan(self) -> None:
        """Plan the fire of the cursor."""
        self.planned_for = self.cursor
        self.planned = None
        if self.cursor is None:
            return
        try:
            self.planned = plan_tick(self.schedule, self.trigger, self.flow, self.record, self.cursor)
        except FlowdError:
            pass  # the one-by-one path fires it and logs why it cannot start


Definition = tuple[Schedule, ScheduleTrigger | ScheduleOnDatesTrigger, Flow]


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
        on_reloaded: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.executor = executor
        self.clock = clock
        self.refresh = refresh
        self._on_fired = on_fired
        self._on_skipped = on_skipped
        self._on_reloaded = on_reloaded  # after a reload the deployed flows' change caused
        self._entries: dict[tuple[str, str, str], _Entry] = {}
        self._heap: list[tuple[datetime, tuple[str, str, str]]] = []
        # parsed triggers by (namespace, flow, trigger, revision): a reload re-parses only what changed
        self._definitions: dict[tuple[str, str, str, int], Definition | None] = {}
        self._changed = True
        self._seen_syncs: set[int] = set()
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    # --- steps (time is an argument) --------------------------------------------------------------------
    def reload(self, now: datetime) -> None:
        """Re-read deployed flows and trigger states; start the cursor of new or redefined triggers."""
        self._changed = False
        flows = {(f.namespace, f.flow_id): f for f in self.store.flows.list()}
        entries: dict[tuple[str, str, str], _Entry] = {}
        definitions: dict[tuple[str, str, str, int], Definition | None] = {}
        for state in self.store.triggers.list():
            record = flows.get((state.namespace, state.flow_id))
            if state.disabled or record is None:
                continue
            version = (state.namespace, state.flow_id, state.trigger_id, state.revision)
            definition = self._definitions[version] if version in self._definitions else self._define(version)
            definitions[version] = definition
            if definition is None:
                continue
            schedule, trigger, flow = definition
            cursor = state.next_date
            if cursor is None:
                cursor = first_cursor(schedule, since=state.updated_at, last_date=state.last_date)
                self.store.triggers.set_dates(
                    *schedule.key, next_date=cursor, last_date=state.last_date, now=now
                )  # fmt: skip
            if record.revision != state.revision:
                continue  # the flow row moved on, its trigger states follow in the same sync transaction
            entry = _Entry(schedule, trigger, flow, record, cursor, state.last_date)
            old = self._entries.get(schedule.key)
            if old is not None and old.record.revision == record.revision:
                entry.planned, entry.planned_for = old.planned, old.planned_for  # valid while the cursor is
            entries[schedule.key] = entry
        self._definitions = definitions
        self._entries = entries
        self._heap = [(e.cursor, key) for key, e in entries.items() if e.cursor is not None]
        heapq.heapify(self._heap)

    def _define(self, version: tuple[str, str, str, int]) -> Definition | None:
        namespace, flow_id, trigger_id, revision = version
        try:
            flow = self.executor.flows.revision(namespace, flow_id, revision).flow
        except FlowdError as exc:
            log.warning("flow %s/%s cannot be scheduled: %s", namespace, flow_id, exc.message)
            return None
        trigger = next((t for t in flow.triggers if t.id == trigger_id), None)
        if not isinstance(trigger, SCHEDULE_TYPES) or trigger.disabled or flow.disabled:
            return None
        try:
            return schedule_of(namespace, flow_id, trigger), trigger, flow
        except FlowdError as exc:
            log.warning("trigger %s of %s/%s: %s", trigger_id, namespace, flow_id, exc.message)
            return None

    def plan_ahead(self, limit: int | None = None) -> int:
        """Plan the next fire of up to ``limit`` triggers not planned yet; returns how many were planned."""
        planned = 0
        for entry in self._entries.values():
            if not entry.unplanned:
                continue
            entry.plan()
            planned += 1
            if limit is not None and planned >= limit:
                break
        return planned

    def fire_due(self, now: datetime) -> int:
        """Fire every tick due at ``now``; returns how many executions were created."""
        # a burst allocates ~50 objects per tick: no collection of the daemon's long-lived objects (parsed
        # flows, plans) in the middle of it; the next one runs right after
        with collector.paused():
            return self._fire_due(now)

    def _fire_due(self, now: datetime) -> int:
        batch: list[_Entry] = []
        single: list[_Entry] = []
        while self._heap and self._heap[0][0] <= now:
            _, key = heapq.heappop(self._heap)
            entry = self._entries.get(key)
            if entry is None or entry.cursor is None or entry.cursor > now:
                continue
            if entry.unplanned:
                entry.plan()
            planned = entry.planned
            if planned is not None and planned.date == entry.cursor and on_time(planned, now):
                batch.append(entry)
            else:
                single.append(entry)
        created = self._fire_batch(batch, now) if batch else 0
        for entry in single:
            created += self._fire(entry, now)
        for entry in batch + single:
            if entry.cursor is not None and entry.schedule.key in self._entries:
                heapq.heappush(self._heap, (entry.cursor, entry.schedule.key))
        if created:
            self.executor.wake()
        return created

    def next_due(self) -> datetime | None:
        """The earliest cursor of all triggers (when to wake next)."""
        return self._heap[0][0] if self._heap else None

    def _fire_batch(self, entries: list[_Entry], now: datetime) -> int:
        planned = [e.planned for e in entries if e.planned is not None]
        fired = fire_planned(self.store, self.executor, planned, now=now)
        for p in fired.gone:
            self._changed = True  # re-read the states; this entry waits for that
            gone = self._entries.pop(p.key, None)
            if gone is not None:
                gone.cursor = None
        for p in fired.already + fired.failed + [p for p, _ in fired.created]:
            entry = self._entries.get(p.key)
            if entry is not None:
                entry.last_date, entry.cursor = p.date, p.next_date
        if self._on_fired:
            for p, _ in fired.created:
                self._on_fired(p.date, (self.clock.now() - p.date).total_seconds())
        return len(fired.created)

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
        loop = self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        wake = self._wake

        async def relay_stop() -> None:
            await stop.wait()
            wake.set()

        relay = asyncio.ensure_future(relay_stop())
        last_reload = last_look = float("-inf")
        try:
            while not stop.is_set():
                wake.clear()
                self.fire_due(self.clock.now())  # first: the tick this loop woke up for
                tick = loop.time()
                if tick - last_look >= self.refresh:
                    last_look = tick
                    self._look()
                if self._changed or tick - last_reload >= FULL_RELOAD:
                    changed, last_reload = self._changed, tick
                    self.reload(self.clock.now())
                    self.fire_due(self.clock.now())
                    if changed and self._on_reloaded is not None:
                        self._on_reloaded()
                while self.plan_ahead(PLAN_SLICE):
                    await asyncio.sleep(0)  # let the executor run the executions just created
                await self._sleep(wake, loop.time() - last_look)
        finally:
            relay.cancel()

    def _look(self) -> None:
        """Mark the flows changed when a sync recorded since the last look (by any process) changed them."""
        latest = self.store.syncs.latest_outcomes(limit=LOOK_WINDOW)
        ids = {s.id for s in latest}
        if self._seen_syncs and latest and not (ids & self._seen_syncs):
            self._changed = True  # more syncs than the window since the last look
        for sync in latest:
            if sync.id in self._seen_syncs or sync.finished_at is None:
                continue  # a sync still running is judged once it has finished
            self._seen_syncs.add(sync.id)
            if sync.result in ("SUCCESS", "PARTIAL") and changes_flows(sync.counts):
                self._changed = True
        self._seen_syncs &= ids

    async def _sleep(self, wake: asyncio.Event, since_look: float) -> None:
        """Sleep until the next tick (on the monotonic clock: woken ``EARLY``, the rest blocking), the next
        look, or a wake-up."""
        if self._changed:
            return
        loop = asyncio.get_running_loop()
        delay = min(self.refresh - since_look, MAX_SLEEP)
        deadline = None
        due = self.next_due()
        if due is not None:
            until_due = (due - self.clock.now()).total_seconds()
            if until_due <= delay:
                delay, deadline = until_due, loop.time() + until_due
        if delay <= 0:
            return
        timer = loop.call_later(max(delay - EARLY, 0.0) if deadline is not None else delay, wake.set)
        try:
            await wake.wait()
        finally:
            timer.cancel()
        if deadline is not None and not self._changed:
            left = deadline - loop.time()
            if 0 < left <= EARLY:
                time.sleep(left)  # a few ms, blocking: an event-loop timer may fire later than asked
