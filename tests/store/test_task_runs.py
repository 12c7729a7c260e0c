"""Task runs: batch insert, exclusive claim, batch updates, retries and requeue."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from daemon.store import Execution, Store, TaskRun, TaskRunUpdate

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _setup(store: Store, count: int, *, ready_at: datetime = T0) -> list[TaskRun]:
    store.executions.create(
        Execution(id="e1", namespace="ns", flow_id="f", flow_revision=1, state="RUNNING", start_date=T0)
    )
    runs = [
        TaskRun(
            id=f"t{i:05d}",
            execution_id="e1",
            task_id=f"task{i}",
            state="CREATED",
            ready_at=ready_at,
            histories=[{"state": "CREATED", "date": "2024-01-01T00:00:00Z"}],
            value="v" if i == 0 else None,
            iteration=0 if i == 0 else None,
        )
        for i in range(count)
    ]
    store.executions.insert_task_runs(runs)
    return runs


def test_insert_and_read_back(store: Store) -> None:
    runs = _setup(store, 3)
    assert store.executions.list_task_runs("e1") == runs
    assert store.executions.get_task_run("t00000") == runs[0]


def test_claim_moves_ready_rows_to_running(store: Store) -> None:
    _setup(store, 3)
    claimed = store.executions.claim_task_runs("w1", 2, T0)
    assert [r.id for r in claimed] == ["t00000", "t00001"]
    for run in claimed:
        assert (run.state, run.claimed_by, run.claimed_at) == ("RUNNING", "w1", T0)
        assert [h["state"] for h in run.histories] == ["CREATED", "RUNNING"]
    assert [r.id for r in store.executions.claim_task_runs("w2", 10, T0)] == ["t00002"]
    assert store.executions.claim_task_runs("w3", 10, T0) == []


def test_claim_waits_for_ready_at(store: Store) -> None:
    _setup(store, 1, ready_at=T0 + timedelta(seconds=10))
    assert store.executions.claim_task_runs("w1", 10, T0) == []
    assert len(store.executions.claim_task_runs("w1", 10, T0 + timedelta(seconds=10))) == 1


def test_batch_update_writes_state_outputs_attempts(store: Store) -> None:
    _setup(store, 3)
    claimed = store.executions.claim_task_runs("w1", 3, T0)
    updates = [
        TaskRunUpdate(
            id=run.id,
            state="SUCCESS",
            histories=[*run.histories, {"state": "SUCCESS", "date": "2024-01-01T00:00:01Z"}],
            attempts=[{"state": "SUCCESS", "startDate": "a", "endDate": "b"}],
            outputs={"value": i},
        )
        for i, run in enumerate(claimed)
    ]
    assert store.executions.update_task_runs(updates, worker_id="w1") == 3
    for i, run in enumerate(store.executions.list_task_runs("e1")):
        assert (run.state, run.outputs, run.claimed_by) == ("SUCCESS", {"value": i}, "w1")
        assert run.attempts[0]["state"] == "SUCCESS"


def test_update_by_a_worker_that_lost_the_claim_changes_nothing(store: Store) -> None:
    _setup(store, 1)
    (run,) = store.executions.claim_task_runs("w1", 1, T0)
    update = TaskRunUpdate(id=run.id, state="SUCCESS", histories=[], attempts=[])
    assert store.executions.update_task_runs([update], worker_id="w2") == 0
    assert store.executions.get_task_run(run.id).state == "RUNNING"  # type: ignore[union-attr]


def test_retry_releases_the_claim_and_delays(store: Store) -> None:
    _setup(store, 1)
    (run,) = store.executions.claim_task_runs("w1", 1, T0)
    later = T0 + timedelta(seconds=30)
    retry = TaskRunUpdate(
        id=run.id, state="CREATED", histories=run.histories, attempts=[{"state": "FAILED"}], ready_at=later
    )
    assert store.executions.update_task_runs([retry]) == 1
    again = store.executions.get_task_run(run.id)
    assert again is not None and again.claimed_by is None and again.ready_at == later
    assert store.executions.claim_task_runs("w2", 1, T0 + timedelta(seconds=29)) == []
    assert [r.claimed_by for r in store.executions.claim_task_runs("w2", 1, later)] == ["w2"]


def test_requeue_runs_of_dead_workers(store: Store) -> None:
    _setup(store, 2)
    store.executions.claim_task_runs("dead", 1, T0)
    store.executions.claim_task_runs("alive", 1, T0)
    assert store.executions.requeue_task_runs(["dead"], now=T0) == 1
    (requeued,) = store.executions.claim_task_runs("alive", 5, T0)
    assert [h["state"] for h in requeued.histories] == ["CREATED", "RUNNING", "CREATED", "RUNNING"]


def _claim_concurrently(store: Store, workers: int, total: int) -> list[list[str]]:
    claims: list[list[str]] = [[] for _ in range(workers)]
    start = threading.Barrier(workers)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            start.wait()
            while True:
                got = store.executions.claim_task_runs(f"w{index}", 7, T0)
                if not got:
                    return
                claims[index].extend(r.id for r in got)
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return claims


@pytest.mark.integration
def test_concurrent_claimers_never_share_a_row(store: Store) -> None:
    total = 500
    _setup(store, total)
    claims = _claim_concurrently(store, 8, total)
    flat = [run_id for claim in claims for run_id in claim]
    assert len(flat) == len(set(flat)) == total
    assert {r.claimed_by for r in store.executions.list_task_runs("e1")} == {
        f"w{i}" for i, claim in enumerate(claims) if claim
    }


def test_rows_claimed_in_an_open_transaction_are_skipped_not_waited_for(store: Store) -> None:
    if store.dialect != "postgresql":
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serialises claimers with BEGIN IMMEDIATE")
    _setup(store, 4)
    with store.begin() as held:
        first = store.executions.claim_task_runs("w1", 2, T0, conn=held)
        # a second claimer, while the first transaction still holds its row locks
        second = store.executions.claim_task_runs("w2", 10, T0)
        assert {r.id for r in first}.isdisjoint({r.id for r in second})
        assert len(second) == 2
