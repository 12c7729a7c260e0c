"""Daemon heartbeats: each daemon process upserts its row regularly; others read who is alive.

Rows come back as ``Heartbeat`` frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from daemon.store.repository import Repository, upsert_statement
from daemon.store.tables import heartbeats


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """One daemon's last sign of life."""

    daemon_id: str
    host: str
    pid: int
    started_at: datetime
    last_seen: datetime


class HeartbeatRepository(Repository):
    """Daemon heartbeats (``heartbeats``)."""

    def beat(
        self,
        daemon_id: str,
        *,
        host: str,
        pid: int,
        started_at: datetime,
        now: datetime,
        conn: Connection | None = None,
    ) -> None:
        """Record that ``daemon_id`` is alive at ``now``."""
        row = {"daemon_id": daemon_id, "host": host, "pid": pid, "started_at": started_at, "last_seen": now}
        with self._write(conn) as c:
            c.execute(upsert_statement(c.dialect.name, heartbeats, "daemon_id"), row)

    def all(self, *, conn: Connection | None = None) -> list[Heartbeat]:
        """Every daemon's row, by id (the leader's look for gone daemons splits them by age itself)."""
        with self._read(conn) as c:
            return [Heartbeat(**row._mapping) for row in c.execute(_ALL)]

    def alive(self, now: datetime, max_age: timedelta, *, conn: Connection | None = None) -> list[Heartbeat]:
        """Daemons seen within ``max_age`` of ``now``."""
        query = (
            sa.select(heartbeats)
            .where(heartbeats.c.last_seen >= now - max_age)
            .order_by(heartbeats.c.daemon_id)
        )
        with self._read(conn) as c:
            return [Heartbeat(**row._mapping) for row in c.execute(query)]

    def dead(self, now: datetime, max_age: timedelta, *, conn: Connection | None = None) -> list[Heartbeat]:
        """Daemons not seen within ``max_age`` (their claimed work may be requeued)."""
        query = (
            sa.select(heartbeats)
            .where(heartbeats.c.last_seen < now - max_age)
            .order_by(heartbeats.c.daemon_id)
        )
        with self._read(conn) as c:
            return [Heartbeat(**row._mapping) for row in c.execute(query)]

    def remove(self, daemon_id: str, *, conn: Connection | None = None) -> bool:
        """Forget a daemon (clean shutdown, or after its work was requeued)."""
        with self._write(conn) as c:
            return c.execute(heartbeats.delete().where(heartbeats.c.daemon_id == daemon_id)).rowcount > 0


_ALL = sa.select(heartbeats).order_by(heartbeats.c.daemon_id)
