"""Work that crosses nodes, with real ``flowd run`` processes on one PostgreSQL database: a subflow whose
child is driven by another node than its waiting parent, a kill asked of one node for an execution another
node drives, and a flow's concurrency limit held across nodes."""

from __future__ import annotations

import itertools
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest

from daemon.cluster.nodes import pid_alive
from daemon.cluster.pgconn import libpq_url
from daemon.store import Execution, Store
from tests.cluster.conftest import node, postgres_only
from tests.server.daemon_harness import DaemonProcess, wait_for

pytestmark = pytest.mark.integration

NS = "test.cluster"
PARENT = """
id: parent
namespace: test.cluster
tasks:
  - id: call
    type: io.kestra.plugin.core.flow.Subflow
    namespace: test.cluster
    flowId: child
    inputs: {n: 21}
  - id: show
    type: io.kestra.plugin.core.debug.Return
    format: "{{ outputs.call.outputs.doubled }}"
"""
CHILD = """
id: child
namespace: test.cluster
inputs: [{id: n, type: INT}]
tasks:
  - id: wait
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner: {type: io.kestra.plugin.core.runner.Process}
    commands: ["sleep 2"]
  - {id: r, type: io.kestra.plugin.core.debug.Return, format: "{{ inputs.n * 2 }}"}
outputs:
  - {id: doubled, type: STRING, value: "{{ outputs.r.value }}"}
"""


def _ended(store: Store, execution_id: str) -> Execution | None:
    row = store.executions.get(execution_id)
    return row if row is not None and row.end_date is not None else None


def _node_id(store: Store, daemon: DaemonProcess) -> str:
    from daemon.cluster.nodes import NodeRepository

    return wait_for(
        lambda: next(
            (n.node_id for n in NodeRepository(store.engine).list() if n.pid == daemon.proc.pid), None
        ),
        "the node's row",
    )


@postgres_only
def test_subflow_child_driven_by_another_node_wakes_its_parent(
    tmp_path: Path, db_url: str, cluster_env: None, started: list[DaemonProcess]
) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    (flows / "parent.yml").write_text(PARENT)
    (flows / "child.yml").write_text(CHILD)
    store = Store.open(db_url)
    try:
        a = node(flows, db_url, tmp_path / "a")
        started.append(a)
        b = node(flows, db_url, tmp_path / "b")
        started.append(b)
        a_id, b_id = _node_id(store, a), _node_id(store, b)
        wait_for(lambda: store.flows.get(NS, "child") is not None, "the flows deployed")
        parent_id = httpx.post(f"http://127.0.0.1:{a.port}/api/v1/executions/{NS}/parent", timeout=10).json()[
            "id"
        ]

        def child_running() -> Execution | None:
            (child,) = store.executions.list(parent_execution_id=parent_id) or [None]
            if child is None:
                return None
            runs = store.executions.list_task_runs(child.id)
            return child if runs and runs[0].state == "RUNNING" else None

        child = wait_for(child_running, "the child's task to run on node A")
        assert child.owner_id == a_id
        # node A freezes (a long pause); meanwhile its child execution is handed back and node B adopts it
        a.proc.send_signal(signal.SIGSTOP)
        try:
            with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
                released = "owner_id = NULL, heartbeat_at = NULL, epoch = epoch + 1"
                conn.execute(f"UPDATE executions SET {released} WHERE id = %s", (child.id,))
            wait_for(lambda: store.executions.get(child.id).owner_id == b_id, "node B to adopt the child")  # type: ignore[union-attr]
        finally:
            a.proc.send_signal(signal.SIGCONT)
        ended_child = wait_for(lambda: _ended(store, child.id), "the child to end on node B")
        assert ended_child.state == "SUCCESS" and ended_child.owner_id == b_id
        parent = wait_for(lambda: _ended(store, parent_id), "the parent to end on node A")
        assert parent.state == "SUCCESS", parent.histories
        assert parent.owner_id == a_id  # still driven by A: it learnt of the child's end from the store
        runs = {r.task_id: r for r in store.executions.list_task_runs(parent_id)}
        assert runs["call"].outputs["outputs"] == {"doubled": "42"}
        assert runs["show"].outputs == {"value": "42"}
    finally:
        store.close()


def _sleeper(pid_file: Path) -> str:
    return f"""
id: sleeper
namespace: test.cluster
tasks:
  - id: wait
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner: {{type: io.kestra.plugin.core.runner.Process}}
    commands:
      - echo $$ > {pid_file}
      - exec sleep 600
  - {{id: after, type: io.kestra.plugin.core.log.Log, message: never}}
"""


@postgres_only
def test_kill_through_one_node_stops_a_task_running_on_another(
    tmp_path: Path, db_url: str, cluster_env: None, started: list[DaemonProcess]
) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    pid_file = tmp_path / "task.pid"
    (flows / "sleeper.yml").write_text(_sleeper(pid_file))
    store = Store.open(db_url)
    try:
        a = node(flows, db_url, tmp_path / "a")
        started.append(a)
        b = node(flows, db_url, tmp_path / "b")
        started.append(b)
        b_id = _node_id(store, b)
        wait_for(lambda: store.flows.get(NS, "sleeper") is not None, "the flow deployed")
        execution_id = httpx.post(
            f"http://127.0.0.1:{b.port}/api/v1/executions/{NS}/sleeper", timeout=10
        ).json()["id"]
        task_pid = wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), "the task on node B")
        assert store.executions.get(execution_id).owner_id == b_id  # type: ignore[union-attr]
        killed = httpx.delete(f"http://127.0.0.1:{a.port}/api/v1/executions/{execution_id}/kill", timeout=10)
        assert killed.status_code == 202, killed.text
        # the task's process is stopped by its node (it would sleep 600 s otherwise), and the kill ends it
        wait_for(lambda: not pid_alive(int(task_pid)), "the task's process to be gone")
        ended = wait_for(lambda: _ended(store, execution_id), "the execution to end")
        assert ended.state == "KILLED", ended.histories
        # never overwritten: B's next heartbeat and steps leave it KILLED, ended once
        b_beat = wait_for(
            lambda: _beat_after(store, b_id, ended), "a heartbeat of node B after the kill", timeout=30
        )
        assert b_beat
        again = store.executions.get(execution_id)
        assert again is not None and again.state == "KILLED"
        ends = [h["state"] for h in again.histories if h["state"] in ("SUCCESS", "FAILED", "KILLED")]
        assert ends == ["KILLED"]
        assert {r.task_id: r.state for r in store.executions.list_task_runs(execution_id)} == {
            "wait": "KILLED"
        }
        assert b.proc.poll() is None and a.proc.poll() is None
    finally:
        store.close()


def _beat_after(store: Store, node_id: str, ended: Execution) -> bool:
    from daemon.cluster.nodes import NodeRepository

    assert ended.end_date is not None
    return any(
        n.node_id == node_id and n.last_beat > ended.end_date for n in NodeRepository(store.engine).list()
    )


LIMITED = """
id: limited
namespace: test.cluster
concurrency: {{limit: 2{behavior}}}
tasks:
  - id: work
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner: {{type: io.kestra.plugin.core.runner.Process}}
    commands:
      - echo "start $(date +%s.%N)" >> {log}
      - sleep 1
      - echo "end $(date +%s.%N)" >> {log}
"""


def _most_at_once(log: Path) -> int:
    """The most tasks that ran at the same time, from their start and end lines."""
    events = sorted(
        (float(stamp), 1 if kind == "start" else -1)
        for kind, stamp in (line.split() for line in log.read_text().splitlines())
    )  # an end sorts before a start at the same instant: they did not overlap
    return max(itertools.accumulate(delta for _, delta in events))


def _submit_at_once(ports: list[int], count: int) -> list[str]:
    """``count`` executions of the limited flow asked of the nodes round-robin, all at once (threads):
    the nodes decide concurrently whether each may start."""
    urls = [f"http://127.0.0.1:{port}/api/v1/executions/{NS}/limited" for port in ports]
    with ThreadPoolExecutor(count) as pool:
        answers = list(pool.map(lambda i: httpx.post(urls[i % len(urls)], timeout=30), range(count)))
    return [answer.json()["id"] for answer in answers]


@postgres_only
def test_flow_concurrency_limit_holds_across_nodes(
    tmp_path: Path, db_url: str, cluster_env: None, started: list[DaemonProcess]
) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    log = tmp_path / "spans.log"
    (flows / "limited.yml").write_text(LIMITED.format(behavior="", log=log))
    store = Store.open(db_url)
    try:
        for i in range(3):
            started.append(node(flows, db_url, tmp_path / f"home{i}"))
        wait_for(lambda: store.flows.get(NS, "limited") is not None, "the flow deployed")
        ids = _submit_at_once([d.port for d in started], 10)
        ends = [wait_for(lambda i=i: _ended(store, i), "every execution to end", timeout=120) for i in ids]
        assert [e.state for e in ends] == ["SUCCESS"] * 10
        assert len({e.owner_id for e in ends}) > 1  # driven by several nodes
        assert len(log.read_text().splitlines()) == 20
        assert _most_at_once(log) <= 2
    finally:
        store.close()


@postgres_only
@pytest.mark.parametrize(("behavior", "refused"), [("CANCEL", "CANCELLED"), ("FAIL", "FAILED")])
def test_flow_concurrency_cancel_or_fail_across_nodes(
    tmp_path: Path, db_url: str, cluster_env: None, started: list[DaemonProcess], behavior: str, refused: str
) -> None:
    flows = tmp_path / "flows"
    flows.mkdir()
    log = tmp_path / "spans.log"
    (flows / "limited.yml").write_text(LIMITED.format(behavior=f", behavior: {behavior}", log=log))
    store = Store.open(db_url)
    try:
        for i in range(3):
            started.append(node(flows, db_url, tmp_path / f"home{i}"))
        wait_for(lambda: store.flows.get(NS, "limited") is not None, "the flow deployed")
        ids = _submit_at_once([d.port for d in started], 6)
        ends = [wait_for(lambda i=i: _ended(store, i), "every execution to end", timeout=120) for i in ids]
        states = [e.state for e in ends]
        assert set(states) <= {"SUCCESS", refused} and states.count("SUCCESS") >= 2, states
        assert len(log.read_text().splitlines()) == 2 * states.count("SUCCESS")
        assert _most_at_once(log) <= 2
    finally:
        store.close()
