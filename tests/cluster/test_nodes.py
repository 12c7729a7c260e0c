"""The node registry's row: a beat inserts it, the next ones replace every column; the version it carries
is looked up once per process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from daemon.cluster import node as node_module
from daemon.cluster.nodes import Node, NodeRepository
from daemon.store import Store

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _node(**changes: object) -> Node:
    fields: dict[str, object] = dict(
        node_id="n1", host="box", pid=1, roles="executor", version="1", listen=None, leader=False,
        started_at=T0, last_beat=T0,
    )  # fmt: skip
    fields.update(changes)
    return Node(**fields)  # type: ignore[arg-type]


def test_a_beat_inserts_then_replaces_every_column(store: Store) -> None:
    repo = NodeRepository(store.engine)
    repo.beat(_node())
    repo.beat(_node(node_id="n2"))
    later = T0 + timedelta(seconds=5)
    changed = _node(
        host="other", pid=2, roles="executor,scheduler", version="2", listen="127.0.0.1:8080", leader=True,
        started_at=later, last_beat=later,
    )  # fmt: skip
    repo.beat(changed)
    assert repo.list() == [changed, _node(node_id="n2")]


def test_the_version_is_looked_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    looked: list[str] = []

    def version(name: str) -> str:
        looked.append(name)
        return "9.9"

    monkeypatch.setattr(importlib.metadata, "version", version)
    node_module.flowd_version.cache_clear()
    try:
        assert [node_module.flowd_version() for _ in range(3)] == ["9.9"] * 3
    finally:
        node_module.flowd_version.cache_clear()
    assert looked == ["flowd"]
