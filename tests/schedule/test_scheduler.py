"""The scheduler against a real store (SQLite and PostgreSQL) with a frozen clock: exactly-once ticks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from daemon.clock import FrozenClock
from daemon.engine.executor import Executor
from daemon.schedule.scheduler import Scheduler
from daemon.store import Store
from tests.schedule.conftest import START, schedule_flow

Deploy = Callable[[dict[str, str]], None]


def executions(store: Store, flow_id: str = "ticker") -> list[dict[str, object]]:
    rows = store.executions.list(namespace="test.sched", flow_id=flow_id, limit=1000)
    return sorted(((r.trigger or {}).get("variables") or {} for r in rows), key=lambda v: str(v.get("date")))


def test_fires_each_tick_once_with_trigger_variables_and_inputs(
    store: Store, executor: Executor, clock: FrozenClock, deploy: Deploy
) -> None:
    deploy({"t.yml": schedule_flow("ticker", "*/5 * * * *")})
    scheduler = Scheduler(store, executor, clock)
    scheduler.reload(clock.now())
    assert scheduler.next_due() == START
    assert scheduler.fire_due(clock.now()) == 1
    assert scheduler.fire_due(clock.now()) == 0
    clock.advance(timedelta(minutes=5))
    assert scheduler.fire_due(clock.now()) == 1
    assert [v["date"] for v in executions(store)] == ["2024-05-06T10:00:00Z", "2024-05-06T10:05:00Z"]
    first = store.executions.list(namespace="test.sched", flow_id="ticker", limit=10)[-1]
    assert first.trigger is not None and first.trigger["id"] == "cron"
    assert first.trigger["type"] == "io.kestra.plugin.core.trigger.Schedule"
    assert first.trigger["variables"]["next"] == "2024-05-06T10:05:00Z"
    assert first.inputs == {"when": first.trigger["variables"]["date"]}


def test_restart_and_a_racing_scheduler_never_duplicate(
    store: Store, executor: Executor, clock: FrozenClock, deploy: Deploy
) -> None:
    deploy({"t.yml": schedule_flow("ticker", "* * * * *")})
    first = Scheduler(store, executor, clock)
    first.reload(clock.now())
    first.fire_due(clock.now())
    # a second scheduler that read the cursor before the first moved it (a race) fires nothing new
    stale = Scheduler(store, executor, clock)
    stale.reload(clock.now() - timedelta(seconds=1))
    stale._entries[("test.sched", "ticker", "cron")].cursor = START
    stale._heap = [(START, ("test.sched", "ticker", "cron"))]
    assert stale.fire_due(clock.now()) == 0
    # after downtime, a new scheduler recovers every missed tick (ALL) and only those
    clock.advance(timedelta(minutes=3, seconds=30))
    restarted = Scheduler(store, executor, clock)
    restarted.reload(clock.now())
    assert restarted.fire_due(clock.now()) == 3
    dates = [v["date"] for v in executions(store)]
    assert dates == [f"2024-05-06T10:0{m}:00Z" for m in range(4)]


def test_missed_ticks_with_policy_none_are_skipped(
    store: Store, executor: Executor, clock: FrozenClock, deploy: Deploy
) -> None:
    deploy({"t.yml": schedule_flow("ticker", "* * * * *", policy="NONE")})
    clock.advance(timedelta(minutes=10, seconds=30))  # the grace window (60 s) only holds the 10:10 tick
    scheduler = Scheduler(store, executor, clock)
    scheduler.reload(clock.now())
    assert scheduler.fire_due(clock.now()) == 1  # only the on-time tick of 10:10
    assert [v["date"] for v in executions(store)] == ["2024-05-06T10:10:00Z"]


def test_changed_schedule_takes_effect_without_restart(
    store: Store, executor: Executor, clock: FrozenClock, deploy: Deploy
) -> None:
    deploy({"t.yml": schedule_flow("ticker", "0 * * * *")})
    scheduler = Scheduler(store, executor, clock)
    scheduler.reload(clock.now())
    scheduler.fire_due(clock.now())
    clock.advance(timedelta(minutes=1, seconds=30))
    deploy({"t.yml": schedule_flow("ticker", "*/2 * * * *")})
    scheduler.reload(clock.now())
    assert scheduler.next_due() == START + timedelta(minutes=2)
    clock.advance(timedelta(seconds=30))
    assert scheduler.fire_due(clock.now()) == 1
    revisions = {r.flow_revision for r in store.executions.list(namespace="test.sched", flow_id="ticker")}
    assert revisions == {1, 2}


def test_disabled_and_deleted_schedules_stop(
    store: Store, executor: Executor, clock: FrozenClock, deploy: Deploy
) -> None:
    deploy({"t.yml": schedule_flow("ticker", "* * * * *"), "u.yml": schedule_flow("other", "* * * * *")})
    scheduler = Scheduler(store, executor, clock)
    scheduler.reload(clock.now())
    assert scheduler.fire_due(clock.now()) == 2
    deploy({"t.yml": schedule_flow("ticker", "* * * * *") + "disabled: true\n"})
    clock.advance(timedelta(minutes=1))
    assert scheduler.fire_due(clock.now()) == 0  # stale entries: the deleted trigger's row is gone
    scheduler.reload(clock.now())
    assert scheduler.next_due() is None


def test_only_a_sync_that_changed_flows_makes_the_scheduler_reload(
    store: Store, executor: Executor, clock: FrozenClock, deploy: Deploy
) -> None:
    files = {"t.yml": schedule_flow("ticker", "* * * * *")}
    deploy(files)
    scheduler = Scheduler(store, executor, clock)
    scheduler.reload(clock.now())
    scheduler._look()  # the first look only takes note of the syncs so far
    scheduler._changed = False
    deploy(files)  # a periodic sync that found nothing new (e.g. by another process)
    scheduler._look()
    assert not scheduler._changed
    deploy({**files, "u.yml": schedule_flow("other", "* * * * *")})
    scheduler._look()
    assert scheduler._changed
    scheduler.reload(clock.now())
    assert {key[1] for key in scheduler._entries} == {"ticker", "other"}
