"""Flow concurrency limits held across processes: deciding whether an execution may start (created as
CREATED, or promoted from QUEUED) and writing that decision happen under one lock per flow, counting the
flow's active executions in the store, never in one process's memory.

PostgreSQL: an advisory lock keyed by the flow (``pg_advisory_xact_lock`` for a decision written in one
transaction, a session lock around a creation whose transaction comes later). SQLite has one daemon and
one writer at a time: nothing to take.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from daemon.store.executions import ExecutionRepository
from daemon.store.repository import Repository
from daemon.store.tables import executions

# the first key of the two-key advisory locks (the leader's lock uses the one-key form: no clash)
FLOW_LOCK_CLASS = 0x666C6F77  # "flow"


def _key(namespace: str, flow_id: str) -> dict[str, object]:
    return {"k1": FLOW_LOCK_CLASS, "name": f"{namespace}/{flow_id}"}


class Admission(Repository):
    """The per-flow admission lock and the promotion of queued executions. The lock is re-entrant within
    a thread: an execution that ends within its creation (inline tasks) promotes the flow's queued one
    while its creator still holds the flow's lock."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        # per thread: ``held``, the flows whose session lock this thread holds; ``kept``, the connections
        # of those taken by ``hold`` (released by ``release_held``)
        self._local = threading.local()

    def _held(self) -> set[str]:
        held: set[str] | None = getattr(self._local, "held", None)
        if held is None:
            held = self._local.held = set()
            self._local.kept = {}
        return held

    def lock(self, namespace: str, flow_id: str, *, conn: Connection) -> None:
        """Hold the flow's lock until the transaction of ``conn`` ends (already held: nothing to do)."""
        if conn.dialect.name == "postgresql" and f"{namespace}/{flow_id}" not in self._held():
            conn.execute(
                sa.text("SELECT pg_advisory_xact_lock(:k1, hashtext(:name))"), _key(namespace, flow_id)
            )

    @contextmanager
    def holding(self, namespace: str, flow_id: str) -> Iterator[None]:
        """Hold the flow's lock for the block (on a connection of its own): the block counts the flow's
        active executions and commits the new one before another process may count."""
        name, held = f"{namespace}/{flow_id}", self._held()
        if self._dialect != "postgresql" or name in held:
            yield
            return
        with self._engine.connect() as conn:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k1, hashtext(:name))"), _key(namespace, flow_id))
            conn.commit()
            held.add(name)
            try:
                yield
            finally:
                held.discard(name)
                conn.execute(
                    sa.text("SELECT pg_advisory_unlock(:k1, hashtext(:name))"), _key(namespace, flow_id)
                )
                conn.commit()

    def hold(self, namespace: str, flow_id: str) -> None:
        """Take the flow's lock and keep it until ``release_held``: a subflow execution created within
        its parent's step is counted now and inserted with the step's transaction, later."""
        name, held = f"{namespace}/{flow_id}", self._held()
        if self._dialect != "postgresql" or name in held:
            return
        conn = self._engine.connect()
        try:
            conn.execute(sa.text("SELECT pg_advisory_lock(:k1, hashtext(:name))"), _key(namespace, flow_id))
            conn.commit()
        except BaseException:
            conn.close()
            raise
        held.add(name)
        self._local.kept[name] = conn

    def release_held(self) -> None:
        """Release the locks ``hold`` took in this thread (once the step that counted has committed, or
        failed)."""
        held = self._held()
        kept: dict[str, Connection] = self._local.kept
        while kept:
            name, conn = kept.popitem()
            held.discard(name)
            try:
                conn.execute(
                    sa.text("SELECT pg_advisory_unlock(:k1, hashtext(:name))"), _key(*name.split("/", 1))
                )
                conn.commit()
            finally:
                conn.close()  # a broken connection ends its session, and the lock with it

    def promote(
        self,
        execution_id: str,
        namespace: str,
        flow_id: str,
        *,
        limit: int,
        running: Collection[str],
        date: datetime,
        fence: tuple[str, int],
    ) -> bool:
        """Move a QUEUED execution to CREATED when it is its flow's oldest queued one and fewer than
        ``limit`` executions of the flow are in ``running`` states; decided and written in one transaction
        under the flow's lock. Returns whether it was promoted."""
        repo = ExecutionRepository(self._engine)
        ex = executions
        with self._write(None) as conn:
            self.lock(namespace, flow_id, conn=conn)
            if repo.count(namespace, flow_id, states=running, conn=conn) >= limit:
                return False
            oldest = conn.execute(
                sa.select(ex.c.id)
                .where(ex.c.namespace == namespace, ex.c.flow_id == flow_id, ex.c.state == "QUEUED")
                .order_by(ex.c.start_date, ex.c.id)
                .limit(1)
            ).scalar_one_or_none()
            if oldest != execution_id:
                return False
            return repo.set_state(
                execution_id, "CREATED", date=date, only_from=["QUEUED"], fence=fence, conn=conn
            )
