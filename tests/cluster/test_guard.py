"""Start-up guards: one daemon per SQLite store; no multi-node cluster on node-local storage; roles."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon.cluster.guard import LocalStorageInCluster, SecondDaemon, SqliteLock, check_storage
from daemon.cluster.nodes import Node, NodeRepository, live_others
from daemon.cluster.roles import Roles
from daemon.errors import UsageError
from daemon.store import Store

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def _node(
    node_id: str, *, host: str = "elsewhere", pid: int = 1, age: float = 1.0, leader: bool = False
) -> Node:
    return Node(
        node_id=node_id, host=host, pid=pid, roles="scheduler,executor", version="1", listen=None,
        leader=leader, started_at=NOW - timedelta(hours=1), last_beat=NOW - timedelta(seconds=age),
    )  # fmt: skip


def test_roles() -> None:
    assert Roles.parse(None) == Roles.parse("all") == Roles.parse("") == Roles()
    worker = Roles.parse("worker")
    assert worker.runs_executions and not worker.scheduler and not worker.webserver
    assert str(Roles.parse(" webserver , scheduler")) == "scheduler,webserver"
    with pytest.raises(UsageError, match="unknown role brain"):
        Roles.parse("scheduler,brain")


def test_second_daemon_on_sqlite_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/flowd.db"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from daemon.cluster.guard import SqliteLock; import time; "
         f"held = SqliteLock.acquire({url!r}); print('held', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": os.getcwd()},
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(SecondDaemon, match="PostgreSQL") as caught:
            SqliteLock.acquire(url)
        assert "FLOWD_DATABASE_URL=postgresql://" in caught.value.message
        assert f"pid {holder.pid}" in caught.value.message
    finally:
        holder.kill()  # kill -9: the kernel releases the lock
        holder.wait()
    lock = SqliteLock.acquire(url)
    assert lock is not None
    lock.release()
    assert SqliteLock.acquire("postgresql://x@127.0.0.1/y") is None


def test_cluster_on_local_storage_is_refused() -> None:
    rows = [_node("me"), _node("other")]
    with pytest.raises(LocalStorageInCluster, match="FLOWD_STORAGE=database"):
        check_storage(rows, NOW, me="me", storage="local", shared=False)
    check_storage(rows, NOW, me="me", storage="database", shared=False)
    check_storage(rows, NOW, me="me", storage="local", shared=True)
    # alone, or with nodes that are gone: fine
    check_storage([_node("me"), _node("old", age=60)], NOW, me="me", storage="local", shared=False)


def test_live_others_skips_dead_local_processes() -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = socket.gethostname()
    rows = [_node("me"), _node("gone", host=host, pid=dead.pid), _node("here", host=host, pid=os.getpid())]
    assert [n.node_id for n in live_others(rows, NOW, me="me")] == ["here"]


def test_node_registry(store: Store) -> None:
    repo = NodeRepository(store.engine)
    repo.beat(_node("b"))
    repo.beat(_node("a", leader=True))
    repo.beat(_node("b", age=0.5))
    rows = repo.list()
    assert [n.node_id for n in rows] == ["a", "b"] and rows[0].leader
    assert rows[1].last_beat == NOW - timedelta(seconds=0.5)
    assert rows[0].as_dict(NOW)["roles"] == ["scheduler", "executor"]
    repo.beat(_node("b", leader=True))  # b took the lock: a died without stepping down
    assert repo.step_down_others("b") == 1
    assert [n.node_id for n in repo.list() if n.leader] == ["b"]
    assert repo.remove("a") and not repo.remove("a")
