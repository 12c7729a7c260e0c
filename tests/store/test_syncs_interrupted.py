"""A sync whose process died (``kill -9``) is closed as INTERRUPTED at the next start."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from daemon.store import Store

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def test_open_syncs_are_closed_as_interrupted(store: Store) -> None:
    done = store.syncs.start(source="s", ref=None, commit_attempted="a" * 40, started_at=T0)
    store.syncs.finish(done, result="SUCCESS", finished_at=T0, commit_applied="a" * 40)
    killed = store.syncs.start(source="s", ref=None, commit_attempted="b" * 40, started_at=T0)
    assert store.syncs.close_interrupted(now=T0 + timedelta(minutes=1)) == 1
    row = store.syncs.get(killed)
    assert row is not None and row.result == "INTERRUPTED" and row.finished_at == T0 + timedelta(minutes=1)
    assert row.errors and "stopped during this sync" in row.errors[0]["message"]
    finished = store.syncs.get(done)
    assert finished is not None and finished.result == "SUCCESS"
    assert store.syncs.close_interrupted(now=T0) == 0  # nothing left open
