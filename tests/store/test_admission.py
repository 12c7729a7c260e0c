"""Flow concurrency admission under the flow's lock (PostgreSQL): a decision taken while another
process's admission of the same flow is not yet committed waits for it, so it counts that execution."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.store import Execution, Store
from tests.engine.conftest import Harness, deploy

pytestmark = pytest.mark.integration
postgres_only = pytest.mark.parametrize(
    "db_url", [pytest.param("postgresql", marks=pytest.mark.integration)], indirect=True
)
FLOW = """
id: limited
namespace: test
concurrency: {limit: 2}
tasks:
  - {id: s, type: io.kestra.plugin.core.flow.Sleep, duration: PT10S}
"""
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _row(execution_id: str, state: str, second: int, owner: str | None = "other") -> Execution:
    return Execution(
        id=execution_id, namespace="test", flow_id="limited", flow_revision=1, state=state,
        start_date=T0.replace(second=second), histories=[], owner_id=owner, heartbeat_at=T0,
    )  # fmt: skip


def _meanwhile(store: Store, admitted: Execution, decide: threading.Thread) -> None:
    """Another process admits ``admitted`` under the flow's lock; ``decide`` starts while that admission
    is not committed yet (the pause lets it count, were it not waiting for the lock)."""
    with store.begin() as conn:
        store.admission.lock("test", "limited", conn=conn)
        store.executions.create(admitted, conn=conn)
        decide.start()
        time.sleep(0.5)  # fault injection: the other admission is slow to commit
    decide.join(30)


@postgres_only
def test_creation_counts_an_admission_committed_meanwhile(store: Store, tmp_path: Path) -> None:
    harness = Harness(store, tmp_path / "home")
    record = deploy(store, FLOW)
    store.executions.create(_row("running", "RUNNING", 1))
    created: list[str] = []
    decide = threading.Thread(target=lambda: created.append(harness.executor.create_execution(record, {})))
    _meanwhile(store, _row("other", "CREATED", 2), decide)
    (execution_id,) = created
    row = store.executions.get(execution_id)
    assert row is not None and row.state == "QUEUED"  # two were active once the other committed
    harness.executor.close()


@postgres_only
def test_promotion_counts_an_admission_committed_meanwhile(store: Store) -> None:
    store.executions.create(_row("running", "RUNNING", 1))
    store.executions.create(_row("queued", "QUEUED", 2, owner="me"))
    queued = store.executions.get("queued")
    assert queued is not None
    promoted: list[bool] = []

    def promote() -> None:
        promoted.append(
            store.admission.promote(
                "queued",
                "test",
                "limited",
                limit=2,
                running=["CREATED", "RUNNING"],
                date=T0,
                fence=("me", queued.epoch),
            )
        )

    _meanwhile(store, _row("other", "CREATED", 3), threading.Thread(target=promote))
    assert promoted == [False]
    assert store.executions.get("queued").state == "QUEUED"  # type: ignore[union-attr]


@postgres_only
def test_promotion_of_the_oldest_queued_under_the_limit(store: Store) -> None:
    store.executions.create(_row("running", "RUNNING", 1))
    store.executions.create(_row("first", "QUEUED", 2, owner="me"))
    store.executions.create(_row("second", "QUEUED", 3, owner="me"))
    kw = {"limit": 2, "running": ["CREATED", "RUNNING"], "date": T0, "fence": ("me", 0)}
    assert not store.admission.promote("second", "test", "limited", **kw)  # type: ignore[arg-type]
    assert store.admission.promote("first", "test", "limited", **kw)  # type: ignore[arg-type]
    assert not store.admission.promote("second", "test", "limited", **kw)  # type: ignore[arg-type]


@postgres_only
def test_an_execution_ending_at_creation_promotes_a_queued_one_without_deadlock(
    store: Store, tmp_path: Path
) -> None:
    """An execution of inline tasks ends within its creation, while its creator holds the flow's lock;
    its end promotes the flow's queued execution, which takes the same lock in the same thread."""
    harness = Harness(store, tmp_path / "home")
    inline = "{id: l, type: io.kestra.plugin.core.log.Log, message: hi}"
    record = deploy(
        store, FLOW.replace("{id: s, type: io.kestra.plugin.core.flow.Sleep, duration: PT10S}", inline)
    )
    for i in (1, 2):
        store.executions.create(_row(f"other{i}", "RUNNING", i))
    queued = harness.executor.create_execution(record, {})
    assert store.executions.get(queued).state == "QUEUED"  # type: ignore[union-attr]
    for i in (1, 2):
        store.executions.set_state(f"other{i}", "SUCCESS", date=T0)
    done: list[str] = []
    creating = threading.Thread(target=lambda: done.append(harness.executor.create_execution(record, {})))
    creating.start()
    creating.join(30)  # a safety net: a deadlock would hang here
    assert not creating.is_alive() and done
    assert store.executions.get(done[0]).state == "SUCCESS"  # type: ignore[union-attr]
    assert store.executions.get(queued).state == "CREATED"  # type: ignore[union-attr]
    harness.executor.close()


@postgres_only
def test_a_subflow_created_in_its_parents_step_counts_an_admission_committed_meanwhile(
    store: Store, tmp_path: Path
) -> None:
    harness = Harness(store, tmp_path / "home")
    deploy(store, FLOW)
    parent = deploy(
        store,
        "id: parent\nnamespace: test\ntasks:\n"
        "  - {id: call, type: io.kestra.plugin.core.flow.Subflow, namespace: test, flowId: limited}\n",
    )
    store.executions.create(_row("running", "RUNNING", 1))
    created: list[str] = []
    decide = threading.Thread(target=lambda: created.append(harness.executor.create_execution(parent, {})))
    _meanwhile(store, _row("other", "CREATED", 2), decide)
    assert created
    (child,) = store.executions.list(parent_execution_id=created[0])
    assert child.state == "QUEUED"  # two were active once the other committed
    harness.executor.close()
