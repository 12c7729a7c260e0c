"""Sync runs: start, finish with result, counts, plan and per-file diagnostics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from daemon.errors import StoreError
from daemon.store import Store

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_start_and_finish(store: Store) -> None:
    sync_id = store.syncs.start(source="git+file:///r", ref="main", commit_attempted="abc", started_at=T0)
    running = store.syncs.get(sync_id)
    assert running is not None and running.result is None and running.finished_at is None
    errors = [{"file": "a.yml", "line": 3, "column": 1, "severity": "error", "path": "id", "message": "bad"}]
    done = store.syncs.finish(
        sync_id,
        result="PARTIAL",
        finished_at=T0 + timedelta(seconds=2),
        commit_applied="abc",
        counts={"created": 1, "invalid": 1},
        plan={"create": ["ns/a"]},
        errors=errors,
    )
    assert done.result == "PARTIAL"
    assert done.errors == errors
    assert done.counts == {"created": 1, "invalid": 1}
    assert store.syncs.get(sync_id) == done


def test_latest_and_last_applied_commit(store: Store) -> None:
    first = store.syncs.start(source="s", ref=None, commit_attempted="c1", started_at=T0)
    store.syncs.finish(first, result="SUCCESS", finished_at=T0, commit_applied="c1")
    second = store.syncs.start(source="s", ref=None, commit_attempted="c2", started_at=T0)
    store.syncs.finish(second, result="SOURCE_ERROR", finished_at=T0)
    assert [s.id for s in store.syncs.latest(limit=5)] == [second, first]
    assert store.syncs.last_applied_commit() == "c1"
    assert store.syncs.last_applied_commit(source="other") is None


def test_latest_outcomes_are_the_latest_runs_without_plans_or_errors(store: Store) -> None:
    from daemon.store.syncs import SyncBrief

    first = store.syncs.start(source="s", ref=None, commit_attempted="c1", started_at=T0)
    store.syncs.finish(
        first, result="SUCCESS", finished_at=T0, counts={"create": 2}, plan={"create": ["ns/a", "ns/b"]}
    )
    running = store.syncs.start(source="s", ref=None, commit_attempted="c2", started_at=T0)
    assert store.syncs.latest_outcomes(limit=5) == [
        SyncBrief(running, None, None, None),
        SyncBrief(first, T0, "SUCCESS", {"create": 2}),
    ]
    assert store.syncs.latest_outcomes(limit=1) == [SyncBrief(running, None, None, None)]


def test_finish_unknown_sync_raises(store: Store) -> None:
    with pytest.raises(StoreError):
        store.syncs.finish(999, result="FAILED", finished_at=T0)


def test_finish_returns_the_plan_it_was_given_and_a_folded_repeat_without_it(store: Store) -> None:
    plan = {"changes": [{"uid": f"ns/f{i}"} for i in range(300)]}
    first = store.syncs.start(source="s", ref=None, commit_attempted="c1", started_at=T0)
    done = store.syncs.finish(
        first, result="SUCCESS", finished_at=T0, commit_applied="c1", counts={"created": 300}, plan=plan
    )
    assert done.plan == plan and store.syncs.get(first) == done
    second = store.syncs.start(source="s", ref=None, commit_attempted="c1", started_at=T0)
    folded = store.syncs.finish(
        second, result="SUCCESS", finished_at=T0, commit_applied="c1", counts={"unchanged": 300},
        plan={"changes": []}, collapse=True,
    )  # fmt: skip
    assert folded.id == first and folded.unchanged_polls == 1 and folded.plan is None
    kept = store.syncs.get(first)
    assert kept is not None and kept.plan == plan and kept.unchanged_polls == 1
