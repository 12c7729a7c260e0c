"""The cluster as data: nodes (alive or not, the leader first), the source the store follows, and how many
active executions each node drives. Shown by ``flowd status --nodes``, ``GET /api/v1/cluster`` and
``/ui/cluster``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from daemon.cluster.nodes import NodeRepository
from daemon.cluster.source import recorded_source
from daemon.store import Store
from daemon.store.executions import ACTIVE_STATES
from daemon.store.tables import executions


def active_by_owner(store: Store) -> dict[str | None, int]:
    """Active executions per owning node (None: waiting for a node to adopt them)."""
    query = (
        sa.select(executions.c.owner_id, sa.func.count())
        .where(executions.c.state.in_(list(ACTIVE_STATES)))
        .group_by(executions.c.owner_id)
    )
    with store.engine.connect() as conn:
        return {owner: int(n) for owner, n in conn.execute(query)}


def cluster_view(store: Store, now: datetime) -> dict[str, Any]:
    """``{"dialect", "leader", "nodes": [...], "source", "unowned"}``; each node carries ``running``."""
    rows = NodeRepository(store.engine).list()
    active = active_by_owner(store)
    nodes = [{**n.as_dict(now), "running": active.get(n.node_id, 0)} for n in rows]
    leader = next((n["id"] for n in nodes if n["leader"] and n["alive"]), None)
    source = recorded_source(store.engine)
    return {
        "dialect": store.dialect,
        "leader": leader,
        "nodes": nodes,
        "source": {"source": source.source, "ref": source.ref, "path": source.path} if source else None,
        "unowned": active.get(None, 0),
    }
