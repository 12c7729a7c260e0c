"""Several ``flowd run`` processes on one PostgreSQL database, each with its own FLOWD_HOME: they register
as nodes, exactly one leads, ``kill -9`` of the leader hands the schedule to another node with no tick
lost or doubled; and the start-up guards refuse what would be unsafe."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
from datetime import datetime
from pathlib import Path

import httpx
import psycopg
import pytest

from daemon.cluster.leader import LEADER_KEY
from daemon.cluster.nodes import NodeRepository
from daemon.cluster.pgconn import libpq_url
from daemon.store import Store
from tests.cluster.conftest import node, postgres_only
from tests.server.daemon_harness import FLOWD, DaemonProcess, free_port, wait_for

pytestmark = pytest.mark.integration

KILLS = 10  # leader kills per run (each followed by a replacement node)
FAST_FAILOVER = "2s"  # a shorter take-over than the fixture's, to keep the ten kills quick
PER_SECOND = """
id: ticker
namespace: test.cluster
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "tick {{ trigger.date }}"
triggers:
  - id: every-second
    type: io.kestra.plugin.core.trigger.Schedule
    withSeconds: true
    cron: "* * * * * *"
"""


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "ticker.yml").write_text(PER_SECOND)
    return folder


class HeadlessProcess(DaemonProcess):
    """A node without the webserver role: started once it says so in its log."""

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"daemon exited with {self.proc.returncode}:\n{self.log.read_text()}")
        return "no HTTP server" in self.log.read_text(errors="replace")


def lock_holder(db_url: str) -> list[str]:
    """Node ids holding the leader lock, read from PostgreSQL itself."""
    with psycopg.connect(libpq_url(db_url), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = 0 AND l.objid = %s "
            # this test's database only: other tests may run clusters on the same server meanwhile
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (LEADER_KEY,),
        ).fetchall()
    return [str(name).removeprefix("flowd-leader ") for (name,) in rows]


def ticks(store: Store) -> list[str]:
    rows = store.executions.list(namespace="test.cluster", flow_id="ticker", limit=100_000)
    return [(r.trigger or {}).get("variables", {}).get("date") for r in rows]


def one_leader(db_url: str, store: Store, others_than: set[str]) -> str | None:
    holders = lock_holder(db_url)
    assert len(holders) <= 1, holders  # the lock is exclusive: never two holders
    if not holders or holders[0] in others_than:
        return None
    flagged = [n.node_id for n in NodeRepository(store.engine).list() if n.leader]
    return holders[0] if flagged == holders else None


@postgres_only
def test_three_nodes_one_leader_and_ticks_survive_leader_kills(
    flows: Path,
    tmp_path: Path,
    db_url: str,
    cluster_env: None,
    started: list[DaemonProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Ten ``kill -9`` of the leader: every time another node leads, and over the whole run the
    per-second schedule fired exactly once for every second, none lost, none doubled."""
    monkeypatch.setenv("FLOWD_LEADER_FAILOVER", FAST_FAILOVER)
    store = Store.open(db_url)
    try:
        for i in range(3):
            started.append(node(flows, db_url, tmp_path / f"home{i}"))
        wait_for(lambda: len(NodeRepository(store.engine).list()) == 3, "three nodes registered")
        leader = wait_for(lambda: one_leader(db_url, store, set()), "one leader")
        view = httpx.get(f"http://127.0.0.1:{started[0].port}/api/v1/cluster", timeout=5).json()
        assert len(view["nodes"]) == 3 and view["leader"] == leader
        assert sum(n["leader"] for n in view["nodes"]) == 1
        assert {n["pid"] for n in view["nodes"]} == {d.proc.pid for d in started}
        wait_for(lambda: len(ticks(store)) >= 3, "per-second ticks")
        gone: set[str] = set()
        for kill in range(KILLS):
            pid = next(n.pid for n in NodeRepository(store.engine).list() if n.node_id == leader)
            victim = next(d for d in started if d.proc.pid == pid)
            victim.stop(signal.SIGKILL)
            gone.add(leader)
            before = len(ticks(store))
            leader = wait_for(lambda: one_leader(db_url, store, gone), "another leader", timeout=30)
            wait_for(lambda b=before: len(ticks(store)) >= b + 3, "ticks from the new leader")
            # a replacement node joins (as a follower): three nodes again
            started.append(node(flows, db_url, tmp_path / f"home{3 + kill}"))
        for daemon in started:
            if daemon.proc.poll() is None:
                assert daemon.stop() == 0, daemon.output()
        dates = ticks(store)
        assert len(dates) == len(set(dates)), "a tick fired twice"
        seconds = sorted(datetime.fromisoformat(d.replace("Z", "+00:00")) for d in dates)
        gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(seconds)]
        assert all(gap == 1 for gap in gaps), gaps  # none lost across the leader changes
    finally:
        store.close()


def _run_once(db_url: str, home: Path, source: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLOWD_HOME": str(home), "FLOWD_DATABASE_URL": db_url}
    argv = [*FLOWD, "run", "--source", str(source), "--listen", f"127.0.0.1:{free_port()}", *extra]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)


@postgres_only
def test_daemon_with_another_source_is_refused(
    flows: Path, tmp_path: Path, db_url: str, cluster_env: None, started: list[DaemonProcess]
) -> None:
    store = Store.open(db_url)
    try:
        started.append(node(flows, db_url, tmp_path / "a"))
        wait_for(lambda: store.flows.get("test.cluster", "ticker") is not None, "the flow deployed")
        wait_for(lambda: store.syncs.latest(limit=1) and store.syncs.latest(limit=1)[0].result, "a sync")
        other = tmp_path / "other"
        other.mkdir()
        refused = _run_once(db_url, tmp_path / "b", other)
        assert refused.returncode == 2, refused.stderr
        assert str(flows.resolve()) in refused.stderr and str(other.resolve()) in refused.stderr
        assert "--replace-source" in refused.stderr
        assert store.flows.get("test.cluster", "ticker") is not None  # nothing was deleted
    finally:
        store.close()


@postgres_only
def test_cluster_on_local_storage_is_refused(
    flows: Path, tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch, started: list[DaemonProcess]
) -> None:
    monkeypatch.setenv("FLOWD_STORAGE", "local")
    started.append(node(flows, db_url, tmp_path / "a"))
    refused = _run_once(db_url, tmp_path / "b", flows)
    assert refused.returncode == 2, refused.stderr
    assert "FLOWD_STORAGE=database" in refused.stderr


def test_second_daemon_on_sqlite_is_refused(
    flows: Path, tmp_path: Path, started: list[DaemonProcess]
) -> None:
    db_url = f"sqlite:///{tmp_path / 'flowd.db'}"
    started.append(node(flows, db_url, tmp_path / "a"))
    refused = _run_once(db_url, tmp_path / "b", flows)
    assert refused.returncode == 2, refused.stderr
    assert "PostgreSQL" in refused.stderr and "already runs" in refused.stderr
    # one clear line, after the start lines saying where the data and the source are; no traceback
    lines = refused.stderr.strip().splitlines()
    assert "already runs" in lines[-1] and not any("Traceback" in line for line in lines)


def test_port_in_use_is_one_line_before_any_sync(
    flows: Path, tmp_path: Path, started: list[DaemonProcess]
) -> None:
    db_url = f"sqlite:///{tmp_path / 'flowd.db'}"
    first = node(flows, db_url, tmp_path / "a")
    started.append(first)
    env = {
        **os.environ,
        "FLOWD_HOME": str(tmp_path / "b"),
        "FLOWD_DATABASE_URL": f"sqlite:///{tmp_path}/b.db",
    }
    argv = [*FLOWD, "run", "--source", str(flows), "--listen", f"127.0.0.1:{first.port}"]
    refused = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "cannot listen on 127.0.0.1" in refused.stderr, refused.stderr
    with Store.open(f"sqlite:///{tmp_path}/b.db") as other:
        assert other.syncs.latest(limit=1) == []  # it synced nothing


SLOW = """
id: slow
namespace: test.cluster
tasks:
  - id: wait
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process
    commands:
      - sleep 3
"""


@postgres_only
def test_kill_9_of_a_worker_mid_task_runs_the_task_again_elsewhere(
    flows: Path, tmp_path: Path, db_url: str, cluster_env: None, started: list[DaemonProcess]
) -> None:
    (flows / "slow.yml").write_text(SLOW)
    store = Store.open(db_url)
    try:
        for i in range(2):
            started.append(node(flows, db_url, tmp_path / f"home{i}"))
        wait_for(lambda: store.flows.get("test.cluster", "slow") is not None, "the flow deployed")
        victim, survivor = started
        created = httpx.post(
            f"http://127.0.0.1:{victim.port}/api/v1/executions/test.cluster/slow", timeout=10
        )
        execution_id = created.json()["id"]

        def running() -> bool:
            runs = store.executions.list_task_runs(execution_id)
            return bool(runs) and runs[0].state == "RUNNING"

        wait_for(running, "the task to run")
        victim.stop(signal.SIGKILL)
        ended = wait_for(
            lambda: (e := store.executions.get(execution_id)) is not None and e.end_date is not None and e,
            "the execution to end on the other node",
        )
        assert ended.state == "SUCCESS", ended.histories
        ends = [h["state"] for h in ended.histories if h["state"] in ("SUCCESS", "FAILED", "KILLED")]
        assert ends == ["SUCCESS"]  # it ended once
        (run,) = store.executions.list_task_runs(execution_id)
        assert [a["state"] for a in run.attempts] == ["KILLED", "SUCCESS"]  # interrupted, then run again
        assert survivor.proc.poll() is None
    finally:
        store.close()


@postgres_only
def test_sync_asked_of_a_follower_is_done_by_the_leader(
    flows: Path, tmp_path: Path, db_url: str, cluster_env: None, started: list[DaemonProcess]
) -> None:
    store = Store.open(db_url)
    try:
        for i in range(2):
            started.append(node(flows, db_url, tmp_path / f"home{i}"))
        leader = wait_for(lambda: one_leader(db_url, store, set()), "one leader")
        follower = next(n for n in NodeRepository(store.engine).list() if n.node_id != leader)
        port = next(d.port for d in started if d.proc.pid == follower.pid)
        # the newest finished sync: one still running may be folded into it (deleted) when it changes nothing
        before = next(r.id for r in store.syncs.latest(limit=10) if r.finished_at is not None)
        body = httpx.post(f"http://127.0.0.1:{port}/api/v1/sync", timeout=90).json()
        # a new row, or the one before it when the sync changed nothing (unchanged polls are folded)
        assert body["result"] == "SUCCESS" and body["syncId"] >= before, body
        assert body["message"].startswith(f"synced by the leader node for {follower.node_id}"), body
    finally:
        store.close()


@postgres_only
def test_roles_split_between_nodes(
    flows: Path, tmp_path: Path, db_url: str, cluster_env: None, started: list[DaemonProcess]
) -> None:
    (flows / "slow.yml").write_text(SLOW.replace("sleep 3", "sleep 0.2"))
    store = Store.open(db_url)
    try:
        front = node(flows, db_url, tmp_path / "front", "--role", "webserver")
        started.append(front)
        (tmp_path / "back").mkdir()
        back = HeadlessProcess(
            source=flows, db_url=db_url, home=tmp_path / "back", extra=["--role", "scheduler,executor,worker"]
        )
        started.append(back)
        rows = wait_for(lambda: (r := NodeRepository(store.engine).list()) and len(r) == 2 and r, "two nodes")
        roles = {n.pid: n.roles for n in rows}
        assert roles == {front.proc.pid: "webserver", back.proc.pid: "scheduler,executor,worker"}
        leader = wait_for(lambda: one_leader(db_url, store, set()), "one leader")
        assert next(n.pid for n in rows if n.node_id == leader) == back.proc.pid  # the webserver never leads
        wait_for(lambda: store.flows.get("test.cluster", "slow") is not None, "the flow deployed")
        url = f"http://127.0.0.1:{front.port}/api/v1/executions/test.cluster/slow"
        execution_id = httpx.post(url, timeout=10).json()["id"]
        ended = wait_for(
            lambda: (e := store.executions.get(execution_id)) is not None and e.end_date is not None and e,
            "the execution to end",
        )
        # the front node handed it over: the back node drove it
        assert ended.state == "SUCCESS" and ended.owner_id == leader
    finally:
        store.close()
