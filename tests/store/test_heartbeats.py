"""Daemon heartbeats: beat (upsert), alive and dead by age."""

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
