"""A sync validates and plans outside the write transaction, and applies in a short one that re-checks the
deployed flows it planned against: a change made meanwhile by another process makes it plan again."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from daemon.reconcile import Reconciler
from daemon.store import Store
from tests.reconcile.test_reconciler import MemorySource, flow, make


def test_validation_does_not_hold_the_write_lock(store: Store, db_url: str) -> None:
    if store.dialect != "sqlite":
        pytest.skip("SQLite's single write lock is what a long validation would hold")
    rec = make(store, MemorySource({"a.yml": flow("a"), "b.yml": flow("b")}))
    took: list[bool] = []
    real = Reconciler._collect

    def collect(self: Reconciler, snapshot: Any, deployed: Any) -> Any:
        other = sqlite3.connect(db_url.removeprefix("sqlite:///"), timeout=0.2, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # raises "database is locked" if the sync held the lock
            other.execute("ROLLBACK")
            took.append(True)
        finally:
            other.close()
        return real(self, snapshot, deployed)

    Reconciler._collect = collect  # type: ignore[method-assign]
    try:
        outcome = rec.sync()
    finally:
        Reconciler._collect = real  # type: ignore[method-assign]
    assert outcome.result == "SUCCESS" and took == [True]


def test_a_change_made_while_planning_makes_the_sync_plan_again(store: Store) -> None:
    mine = make(store, MemorySource({"a.yml": flow("a", "mine")}))
    theirs = make(store, MemorySource({"a.yml": flow("a", "theirs")}))
    real, plans = Reconciler._plan, []

    def plan(self: Reconciler, *args: Any, **kwargs: Any) -> Any:
        result = real(self, *args, **kwargs)
        plans.append(self)
        if self is mine and len(plans) == 1:
            assert theirs.sync().result == "SUCCESS"  # another process deploys between plan and apply
        return result

    Reconciler._plan = plan  # type: ignore[method-assign]
    try:
        outcome = mine.sync()
    finally:
        Reconciler._plan = real  # type: ignore[method-assign]
    # planned against an empty store first ("create"), then again against what the other sync deployed
    assert outcome.result == "SUCCESS"
    assert outcome.counts.get("create", 0) == 0 and outcome.counts["update"] == 1, outcome.counts
    deployed = store.flows.get("team", "a")
    assert deployed is not None and "mine" in deployed.source and deployed.revision == 2
