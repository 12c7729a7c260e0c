"""Batched firing of many ticks due at one instant (SQLite and PostgreSQL): exactly once, guarded by the
trigger revision each tick was planned from, bad inputs recorded without an execution."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest

from daemon.clock import FrozenClock
from daemon.engine.executor import Executor
from daemon.schedule.batch import fire_planned, on_time, plan_tick
from daemon.schedule.cursor import schedule_of
from daemon.schedule.scheduler import Scheduler, changes_flows
from daemon.store import Store, new_id
from daemon.store.triggers import TickRow
from tests.schedule.conftest import START, schedule_flow

Deploy = Callable[[dict[str, str]], None]

pytestmark = pytest.mark.integration


def _scheduler(store: Store, executor: Executor, clock: FrozenClock) -> Scheduler:
    scheduler = Scheduler(store, executor, clock)
    scheduler.reload(clock.now())
    scheduler.plan_ahead()
    return scheduler


def _ticks(store: Store, flow_id: str) -> list[tuple[bool, str | None]]:
    return [
        store.triggers.tick_execution("test.sched", flow_id, "cron", START + timedelta(minutes=m))
        for m in (0, 1)
    ]


def test_many_ticks_at_one_instant_fire_once_in_chunks(
    store: Store, executor: Executor, clock: FrozenClock, deploy: Deploy
) -> None:
    deploy({f"f{i}.yml": schedule_flow(f"f{i}", "* * * * *") for i in range(7)})
    scheduler = _scheduler(store, executor, clock)
    entries = list(scheduler._entries.values())
    assert all(e.planned is not None and e.planned.date == START for e in entries)  # planned ahead
    planned = [e.planned for e in entries if e.planned is not None]
    fired = fire_planned(store, executor, planned, now=clock.now(), chunk=3)  # 3 transactions
    assert len(fired.created) == 7 and not (fired.gone or fired.already or fired.failed)
    # a racing scheduler (or a restart) that planned the same ticks: its own plans, its own execution ids
    racing = [replace(p, execution_id=new_id()) for p in planned]
    again = fire_planned(store, executor, racing, now=clock.now(), chunk=3)  # recorded before
    assert len(again.already) == 7 and not again.created
    rows = store.executions.list(namespace="test.sched", limit=100)
    assert len(rows) == 7
    by_flow = {r.flow_id: r for r in rows}
    for entry in entries:
        recorded, execution_id = store.triggers.tick_execution(*entry.schedule.key, START)
        assert recorded and by_flow[entry.schedule.flow_id].id == execution_id
        state = store.triggers.get(*entry.schedule.key)
        assert (
            state is not None and state.next_date == START + timedelta(minutes=1) and state.last_date == START
        )
    first = by_flow["f0"]
    assert first.trigger is not None and first.trigger["variables"]["date"] == "2024-05-06T10:00:00Z"
    assert first.inputs == {"when": "2024-05-06T10:00:00Z"}


def test_scheduler_fires_the_burst_and_the_next_one(
    store: Store, executor: Executor, clock: FrozenClock, deploy: Deploy
) -> None:
    deploy({f"f{i}.yml": schedule_flow(f"f{i}", "* * * * *") for i in range(3)})
    scheduler = _scheduler(store, executor, clock)
    assert scheduler.fire_due(clock.now()) == 3
    assert scheduler.fire_due(clock.now()) == 0
    clock.advance(timedelta(minutes=1, milliseconds=20))
    assert scheduler.plan_ahead() == 3
    assert scheduler.fire_due(clock.now()) == 3
    ids = {r.id for r in store.executions.list(namespace="test.sched", limit=100)}
    assert len(ids) == 6
    for i in range(3):
        assert [recorded for recorded, _ in _ticks(store, f"f{i}")] == [True, True]
        assert {execution_id for _, execution_id in _ticks(store, f"f{i}")} <= ids


def test_a_trigger_changed_after_planning_is_left_alone_and_the_rest_fires(
    store: Store, executor: Executor, clock: FrozenClock, deploy: Deploy
) -> None:
    files = {f"f{i}.yml": schedule_flow(f"f{i}", "* * * * *") for i in range(4)}
    deploy(files)
    scheduler = _scheduler(store, executor, clock)
    # a sync (another process) redefines f1 and deletes f2 between planning and the tick
    deploy(
        {"f0.yml": files["f0.yml"], "f1.yml": schedule_flow("f1", "*/5 * * * *"), "f3.yml": files["f3.yml"]}
    )
    assert scheduler.fire_due(clock.now()) == 2  # f0 and f3; nothing written for f1 and f2
    assert {r.flow_id for r in store.executions.list(namespace="test.sched", limit=100)} == {"f0", "f3"}
    assert store.triggers.tick_execution("test.sched", "f1", "cron", START) == (False, None)
    scheduler.reload(clock.now())  # the scheduler re-reads the states: f1 fires on its new definition
    assert scheduler.fire_due(clock.now()) == 1
    assert scheduler.next_due() == START + timedelta(minutes=1)
    f1 = [r for r in store.executions.list(namespace="test.sched", limit=100) if r.flow_id == "f1"]
    assert len(f1) == 1 and f1[0].flow_revision == 2


def test_bad_inputs_record_the_tick_without_an_execution(
    store: Store, executor: Executor, clock: FrozenClock, deploy: Deploy
) -> None:
    bad = schedule_flow("bad", "* * * * *").replace("type: STRING", "type: INT")  # "when" renders a date
    deploy({"bad.yml": bad, "good.yml": schedule_flow("good", "* * * * *")})
    scheduler = _scheduler(store, executor, clock)
    assert scheduler.fire_due(clock.now()) == 1
    assert store.triggers.tick_execution("test.sched", "bad", "cron", START) == (True, None)
    assert store.triggers.tick_execution("test.sched", "good", "cron", START)[1] is not None
    state = store.triggers.get("test.sched", "bad", "cron")
    assert state is not None and state.next_date == START + timedelta(minutes=1)  # not retried forever


def test_late_or_catch_up_ticks_take_the_one_by_one_path(
    store: Store, executor: Executor, clock: FrozenClock, deploy: Deploy
) -> None:
    deploy({"t.yml": schedule_flow("ticker", "* * * * *")})
    scheduler = _scheduler(store, executor, clock)
    planned = scheduler._entries[("test.sched", "ticker", "cron")].planned
    assert planned is not None
    assert on_time(planned, START) and on_time(planned, START + timedelta(seconds=59))
    assert not on_time(planned, START + timedelta(minutes=1))  # the next tick is due too
    assert not on_time(planned, START - timedelta(seconds=1))
    clock.advance(timedelta(minutes=2, seconds=10))
    assert scheduler.fire_due(clock.now()) == 3  # 10:00, 10:01, 10:02 (ALL)


def test_plan_tick_keeps_late_maximum_delay() -> None:
    from daemon.language import load_flow
    from daemon.store.flows import DeployedFlow

    flow = load_flow(schedule_flow("ticker", "* * * * *"), "t.yml")
    trigger = flow.triggers[0]
    record = DeployedFlow("test.sched", "ticker", 1, "", "h", None, None, "SYNCED", False, START)
    late = trigger.model_copy(update={"lateMaximumDelay": timedelta(seconds=1)})
    planned = plan_tick(schedule_of("test.sched", "ticker", late), late, flow, record, START)  # type: ignore[arg-type]
    assert on_time(planned, START + timedelta(milliseconds=900))
    assert not on_time(planned, START + timedelta(seconds=2))  # decide() drops it: the slow path does too


def test_store_bulk_forms_are_exactly_once_and_guarded(store: Store, deploy: Deploy) -> None:
    deploy({f"f{i}.yml": schedule_flow(f"f{i}", "* * * * *") for i in range(30)})
    now = START
    for state in store.triggers.list():
        store.triggers.set_dates(
            state.namespace, state.flow_id, "cron", next_date=START, last_date=None, now=now
        )
    rows = [
        TickRow("test.sched", f"f{i}", "cron", START, f"id{i}", START + timedelta(minutes=1), 1)
        for i in range(30)
    ]
    stale = TickRow("test.sched", "f0", "cron", START, "x", START + timedelta(minutes=1), 2)  # wrong revision
    with store.begin() as conn:
        assert store.triggers.advance_many(rows, now=now, conn=conn) == 30  # one grouped statement
        assert store.triggers.advance_many([stale], now=now, conn=conn) == 0
        assert store.triggers.advance_many(rows[:3], now=now, conn=conn) == 3  # per-row statement
        assert store.triggers.record_ticks(rows[:10], now=now, conn=conn) == rows[:10]
    again = [TickRow("test.sched", f"f{i}", "cron", START, f"new{i}", None, 1) for i in range(5, 15)]
    assert [r.flow_id for r in store.triggers.record_ticks(again, now=now)] == [
        f"f{i}" for i in range(10, 15)
    ]
    store.triggers.forget_tick_executions(["id3"])
    assert store.triggers.tick_execution("test.sched", "f3", "cron", START) == (True, None)
    assert store.triggers.tick_execution("test.sched", "f5", "cron", START) == (True, "id5")
    states = store.triggers.get_many([("test.sched", "f1", "cron"), ("test.sched", "nope", "cron")])
    assert list(states) == [("test.sched", "f1", "cron")]


def test_only_syncs_that_changed_flows_reload_the_schedules() -> None:
    assert changes_flows(None)
    assert changes_flows({"create": 1, "unchanged": 3})
    assert not changes_flows({"create": 0, "update": 0, "delete": 0, "unchanged": 1000, "invalid": 2})
