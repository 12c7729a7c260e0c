"""The outbox: work that follows an execution's end (``store.outbox``).

A row is inserted in the transaction that records the end, keyed ``<execution id>:<kind>`` so an end has
at most one row of each kind. A consumer acts on it (idempotently: its effects carry keys derived from the
row's), then deletes it; on an error the row stays, due again later. A crash between the end's commit and
the consumer leaves the row for the next consumer (at start-up, every row is taken).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from daemon.store.repository import Repository
from daemon.store.tables import outbox


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One row of ``outbox``."""

    key: str
    execution_id: str
    kind: str
    created_at: datetime
    due_at: datetime
    payload: dict[str, Any] | None = None
    attempts: int = 0
    last_error: str | None = None


class OutboxRepository(Repository):
    """Insert, list due, delete, postpone."""

    def add(self, rows: Sequence[OutboxRow], *, conn: Connection | None = None) -> None:
        """Insert rows (one executemany); a key already there is an error (the end is recorded once)."""
        if not rows:
            return
        params = [
            {"key": r.key, "execution_id": r.execution_id, "kind": r.kind, "payload": r.payload,
             "created_at": r.created_at, "due_at": r.due_at, "attempts": r.attempts}
            for r in rows
        ]  # fmt: skip
        with self._write(conn) as c:
            c.execute(outbox.insert(), params)

    def due(
        self, now: datetime | None, *, limit: int = 100, conn: Connection | None = None
    ) -> list[OutboxRow]:
        """Rows due at ``now`` (every row with ``None``), oldest first."""
        query = sa.select(outbox).order_by(outbox.c.due_at, outbox.c.key).limit(limit)
        if now is not None:
            query = query.where(outbox.c.due_at <= now)
        with self._read(conn) as c:
            return [OutboxRow(**row._mapping) for row in c.execute(query)]

    def get(self, key: str, *, conn: Connection | None = None) -> OutboxRow | None:
        """One row."""
        with self._read(conn) as c:
            row = c.execute(sa.select(outbox).where(outbox.c.key == key)).one_or_none()
        return OutboxRow(**row._mapping) if row else None

    def delete(self, keys: Collection[str], *, conn: Connection | None = None) -> None:
        """Forget rows that were acted on."""
        if not keys:
            return
        with self._write(conn) as c:
            c.execute(outbox.delete().where(outbox.c.key.in_(list(keys))))

    def postpone(self, key: str, *, due_at: datetime, error: str, conn: Connection | None = None) -> None:
        """A consumer failed on the row: try again at ``due_at``; the error is kept for operators."""
        stmt = (
            outbox.update()
            .where(outbox.c.key == key)
            .values(due_at=due_at, attempts=outbox.c.attempts + 1, last_error=error[:2000])
        )
        with self._write(conn) as c:
            c.execute(stmt)
