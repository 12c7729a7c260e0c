"""Trigger state and schedule ticks recorded exactly once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from daemon.store import Store, TriggerState

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _state(
    trigger_id: str = "cron", *, next_date: datetime | None = T0, disabled: bool = False
) -> TriggerState:
    return TriggerState(
        namespace="ns",
        flow_id="f",
        trigger_id=trigger_id,
        revision=1,
        definition_hash="h",
        next_date=next_date,
        last_date=None,
        disabled=disabled,
        updated_at=T0,
    )


def test_put_get_update_delete(store: Store) -> None:
    store.triggers.put(_state())
    assert store.triggers.get("ns", "f", "cron") == _state()
    store.triggers.put(_state(next_date=T0 + timedelta(hours=1)))  # replaces
    assert store.triggers.get("ns", "f", "cron").next_date == T0 + timedelta(hours=1)  # type: ignore[union-attr]
    assert store.triggers.set_dates("ns", "f", "cron", next_date=None, last_date=T0, now=T0)
    assert store.triggers.get("ns", "f", "cron").last_date == T0  # type: ignore[union-attr]
    store.triggers.put(_state("other"))
    assert [t.trigger_id for t in store.triggers.list(flow_id="f")] == ["cron", "other"]
    assert store.triggers.delete("ns", "f") == 2
    assert store.triggers.get("ns", "f", "cron") is None


def test_due_skips_future_disabled_and_unscheduled(store: Store) -> None:
    store.triggers.put(_state("due"))
    store.triggers.put(_state("future", next_date=T0 + timedelta(seconds=1)))
    store.triggers.put(_state("disabled", disabled=True))
    store.triggers.put(_state("none", next_date=None))
    assert [t.trigger_id for t in store.triggers.due(T0)] == ["due"]


def test_record_tick_is_true_once(store: Store) -> None:
    assert store.triggers.record_tick("ns", "f", "cron", T0, execution_id="e1", now=T0)
    assert not store.triggers.record_tick("ns", "f", "cron", T0, execution_id="e2", now=T0)
    # the same instant written in another zone is the same tick
    other_zone = T0.astimezone(datetime.now(UTC).astimezone().tzinfo)
    assert not store.triggers.record_tick("ns", "f", "cron", other_zone, execution_id="e3", now=T0)
    assert store.triggers.tick_execution("ns", "f", "cron", T0) == (True, "e1")
    assert store.triggers.record_tick("ns", "f", "cron", T0 + timedelta(minutes=1), execution_id=None, now=T0)
    assert store.triggers.record_tick("ns", "f", "other", T0, execution_id=None, now=T0)
    assert store.triggers.tick_execution("ns", "f", "cron", T0 + timedelta(hours=1)) == (False, None)


def test_racing_schedulers_record_a_tick_once(store: Store) -> None:
    results: list[bool] = []
    barrier = threading.Barrier(6)

    def race(i: int) -> None:
        barrier.wait()
        results.append(store.triggers.record_tick("ns", "f", "cron", T0, execution_id=f"e{i}", now=T0))

    threads = [threading.Thread(target=race, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 5 + [True]
