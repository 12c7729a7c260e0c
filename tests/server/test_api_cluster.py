"""``GET /api/v1/cluster``: the nodes in the store, the leader, the recorded source, running executions."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from daemon.cluster.nodes import Node, NodeRepository
from daemon.cluster.source import SourceRef, record_source
from daemon.store import Store
from tests.server.api_harness import api


def _node(node_id: str, *, leader: bool, now: datetime, age: float) -> Node:
    return Node(
        node_id=node_id, host="h1", pid=4242, roles="executor,worker", version="1.0", listen="0.0.0.0:8080",
        leader=leader, started_at=now - timedelta(minutes=5), last_beat=now - timedelta(seconds=age),
    )  # fmt: skip


def test_cluster_lists_nodes_and_leader(store: Store, tmp_path: Path) -> None:
    with api(store, tmp_path) as running:
        now = running.services.clock.now()
        repo = NodeRepository(store.engine)
        repo.beat(_node("a", leader=True, now=now, age=1))
        repo.beat(_node("b", leader=False, now=now, age=1))
        repo.beat(_node("old", leader=False, now=now, age=120))
        record_source(store.engine, SourceRef.of("https://git.example/flows.git", "main"), now=now)
        body = running.client.get("/api/v1/cluster").json()
    assert body["leader"] == "a" and body["dialect"] == store.dialect
    assert {n["id"]: n["alive"] for n in body["nodes"]} == {"a": True, "b": True, "old": False}
    first = body["nodes"][0]
    assert first["id"] == "a" and first["roles"] == ["executor", "worker"] and first["running"] == 0
    assert body["source"] == {"source": "https://git.example/flows.git", "ref": "main", "path": None}


def test_cluster_needs_the_token(store: Store, tmp_path: Path) -> None:
    with api(store, tmp_path, api_token="t0k3n") as running:
        assert running.client.get("/api/v1/cluster").status_code == 401
        ok = running.client.get("/api/v1/cluster", headers={"Authorization": "Bearer t0k3n"})
        assert ok.status_code == 200 and ok.json()["nodes"] == []
