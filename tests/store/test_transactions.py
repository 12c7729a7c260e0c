"""``store.begin()`` spans several repository calls; an error rolls all of them back."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from daemon.store import Execution, Store, TaskRun

NOW = datetime(2024, 1, 1, tzinfo=UTC)


class Boom(Exception):
    pass


def test_rollback_leaves_nothing(store: Store) -> None:
    with pytest.raises(Boom), store.begin() as conn:
        store.flows.deploy(
            "ns", "f", source="id: f", hash="h1", path="f.yml", commit="c1", now=NOW, conn=conn
        )
        store.executions.create(
            Execution(id="e1", namespace="ns", flow_id="f", flow_revision=1, state="CREATED", start_date=NOW),
            conn=conn,
        )
        store.executions.insert_task_runs(
            [TaskRun(id="t1", execution_id="e1", task_id="a", state="CREATED", ready_at=NOW)], conn=conn
        )
        store.triggers.record_tick("ns", "f", "cron", NOW, execution_id="e1", now=NOW, conn=conn)
        store.kv.put("ns", "k", 1, now=NOW, conn=conn)
        raise Boom
    assert store.flows.get("ns", "f") is None
    assert store.flows.revisions("ns", "f") == []
    assert store.executions.get("e1") is None
    assert store.executions.get_task_run("t1") is None
    assert store.triggers.record_tick("ns", "f", "cron", NOW, execution_id=None, now=NOW) is True
    assert store.kv.get("ns", "k", now=NOW) is None


def test_commit_keeps_everything(store: Store) -> None:
    with store.begin() as conn:
        store.flows.deploy(
            "ns", "f", source="id: f", hash="h1", path="f.yml", commit="c1", now=NOW, conn=conn
        )
        store.kv.put("ns", "k", [1, 2], now=NOW, conn=conn)
        # reads on the same connection see the uncommitted writes
        assert store.flows.get("ns", "f", conn=conn) is not None
    assert store.kv.get("ns", "k", now=NOW) == [1, 2]


def test_a_failing_call_without_conn_rolls_back_itself(store: Store) -> None:
    store.executions.create(
        Execution(id="e1", namespace="ns", flow_id="f", flow_revision=1, state="CREATED", start_date=NOW)
    )
    runs = [
        TaskRun(id="t1", execution_id="e1", task_id="a", state="CREATED", ready_at=NOW),
        TaskRun(id="t2", execution_id="missing", task_id="b", state="CREATED", ready_at=NOW),  # FK violation
    ]
    with pytest.raises(sa.exc.IntegrityError, match=r"(?i)foreign key"):
        store.executions.insert_task_runs(runs)
    assert store.executions.list_task_runs("e1") == []
