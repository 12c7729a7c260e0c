"""The node registry (``nodes``): every daemon upserts its row (host, pid, roles, version, leader flag,
start and last beat) every few seconds; ``flowd status --nodes``, ``GET /api/v1/cluster`` and ``/ui/cluster``
read it. A node's id is its executor's worker id, which is also the ``owner_id`` of the executions it drives.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from daemon.store.repository import Repository, upsert_statement
from daemon.store.tables import nodes

ALIVE_WITHIN = timedelta(seconds=20)  # the same liveness rule as the daemon heartbeats


@dataclass(frozen=True, slots=True)
class Node:
    """One daemon's row."""

    node_id: str
    host: str
    pid: int
    roles: str
    version: str
    listen: str | None
    leader: bool
    started_at: datetime
    last_beat: datetime

    def alive(self, now: datetime, within: timedelta = ALIVE_WITHIN) -> bool:
        """Beat within ``within`` of ``now``."""
        return self.last_beat >= now - within

    def as_dict(self, now: datetime) -> dict[str, Any]:
        """The JSON shape of ``GET /api/v1/cluster`` and ``flowd status --nodes --json``."""
        return {
            "id": self.node_id, "host": self.host, "pid": self.pid, "roles": self.roles.split(","),
            "version": self.version, "listen": self.listen, "leader": self.leader,
            "started": _iso(self.started_at), "lastBeat": _iso(self.last_beat), "alive": self.alive(now),
        }  # fmt: skip


class NodeRepository(Repository):
    """Rows of ``nodes``."""

    def beat(self, node: Node, *, conn: Connection | None = None) -> None:
        """Insert or refresh ``node``'s row."""
        values = {c.name: getattr(node, c.name) for c in nodes.columns}
        with self._write(conn) as c:
            c.execute(upsert_statement(c.dialect.name, nodes, "node_id"), values)

    def list(self, *, conn: Connection | None = None) -> list[Node]:
        """Every node, leader first, then by start."""
        query = sa.select(nodes).order_by(nodes.c.leader.desc(), nodes.c.started_at, nodes.c.node_id)
        with self._read(conn) as c:
            return [Node(**row._mapping) for row in c.execute(query)]

    def step_down_others(self, leader_id: str, *, conn: Connection | None = None) -> int:
        """Clear the leader flag of every node but ``leader_id`` (which holds the exclusive lock now: a
        previous leader that died never cleared its own)."""
        stmt = nodes.update().where(nodes.c.node_id != leader_id, nodes.c.leader).values(leader=False)
        with self._write(conn) as c:
            return c.execute(stmt).rowcount

    def remove(self, node_id: str, *, conn: Connection | None = None) -> bool:
        """Forget a node (clean exit, or found gone)."""
        with self._write(conn) as c:
            return c.execute(nodes.delete().where(nodes.c.node_id == node_id)).rowcount > 0


def live_others(rows: list[Node], now: datetime, *, me: str) -> list[Node]:
    """Other nodes that beat recently and, when on this host, whose process still exists."""
    host = socket.gethostname()
    return [
        n for n in rows
        if n.node_id != me and n.alive(now) and not (n.host == host and not pid_alive(n.pid))
    ]  # fmt: skip


def pid_alive(pid: int) -> bool:
    """Whether a process of this host has ``pid`` (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:  # Linux: a zombie (kill -9'd child not reaped) is gone
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
