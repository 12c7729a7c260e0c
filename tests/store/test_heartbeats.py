"""Daemon heartbeats: beat (upsert), alive and dead by age, every row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from daemon.store import Store

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_beat_alive_dead_remove(store: Store) -> None:
    store.heartbeats.beat("d1", host="h1", pid=10, started_at=T0, now=T0)
    store.heartbeats.beat("d2", host="h2", pid=20, started_at=T0, now=T0)
    store.heartbeats.beat("d1", host="h1", pid=10, started_at=T0, now=T0 + timedelta(seconds=50))
    now = T0 + timedelta(seconds=60)
    alive = store.heartbeats.alive(now, timedelta(seconds=30))
    assert [(h.daemon_id, h.last_seen) for h in alive] == [("d1", T0 + timedelta(seconds=50))]
    assert [h.daemon_id for h in store.heartbeats.dead(now, timedelta(seconds=30))] == ["d2"]
    assert store.heartbeats.remove("d2")
    assert store.heartbeats.dead(now, timedelta(seconds=30)) == []


def test_a_beat_replaces_every_column_and_all_lists_every_row(store: Store) -> None:
    store.heartbeats.beat("d2", host="h2", pid=20, started_at=T0, now=T0)
    store.heartbeats.beat("d1", host="h1", pid=10, started_at=T0, now=T0)
    restarted = T0 + timedelta(minutes=5)
    store.heartbeats.beat("d1", host="h9", pid=99, started_at=restarted, now=restarted)
    rows = store.heartbeats.all()
    assert [(h.daemon_id, h.host, h.pid, h.started_at, h.last_seen) for h in rows] == [
        ("d1", "h9", 99, restarted, restarted),
        ("d2", "h2", 20, T0, T0),
    ]
