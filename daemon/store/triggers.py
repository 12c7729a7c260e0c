"""Trigger state and recorded schedule ticks.

``TriggerState`` rows are frozen dataclasses. ``record_tick`` is insert-or-nothing on the UNIQUE key
(namespace, flow_id, trigger_id, scheduled_date): exactly one caller gets True for a tick, across
restarts and racing schedulers. Call it in the same transaction that creates the execution.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from daemon.store.repository import Repository, insert_for
from daemon.store.tables import schedule_ticks, triggers


@dataclass(frozen=True, slots=True)
class TriggerState:
    """One row of ``triggers``: where a trigger of a deployed flow stands."""

    namespace: str
    flow_id: str
    trigger_id: str
    revision: int
    definition_hash: str
    next_date: datetime | None
    last_date: datetime | None
    disabled: bool
    updated_at: datetime


class TriggerRepository(Repository):
    """Trigger state (``triggers``) and schedule ticks (``schedule_ticks``)."""

    def get(
        self, namespace: str, flow_id: str, trigger_id: str, *, conn: Connection | None = None
    ) -> TriggerState | None:
        """One trigger's state."""
        t = triggers
        query = sa.select(t).where(
            t.c.namespace == namespace, t.c.flow_id == flow_id, t.c.trigger_id == trigger_id
        )
        with self._read(conn) as c:
            row = c.execute(query).one_or_none()
        return TriggerState(**row._mapping) if row else None

    def list(
        self, *, namespace: str | None = None, flow_id: str | None = None, conn: Connection | None = None
    ) -> builtins.list[TriggerState]:
        """Trigger states, optionally of one namespace / flow."""
        t = triggers
        query = sa.select(t).order_by(t.c.namespace, t.c.flow_id, t.c.trigger_id)
        if namespace is not None:
            query = query.where(t.c.namespace == namespace)
        if flow_id is not None:
            query = query.where(t.c.flow_id == flow_id)
        with self._read(conn) as c:
            return [TriggerState(**row._mapping) for row in c.execute(query)]

    def due(self, now: datetime, *, conn: Connection | None = None) -> builtins.list[TriggerState]:
        """Enabled triggers whose ``next_date`` has come, earliest first."""
        t = triggers
        query = (
            sa.select(t)
            .where(t.c.disabled.is_(False), t.c.next_date.is_not(None), t.c.next_date <= now)
            .order_by(t.c.next_date)
        )
        with self._read(conn) as c:
            return [TriggerState(**row._mapping) for row in c.execute(query)]

    def put(self, state: TriggerState, *, conn: Connection | None = None) -> None:
        """Insert or replace a trigger's state."""
        values = {
            "revision": state.revision,
            "definition_hash": state.definition_hash,
            "next_date": state.next_date,
            "last_date": state.last_date,
            "disabled": state.disabled,
            "updated_at": state.updated_at,
        }
        with self._write(conn) as c:
            stmt = insert_for(c, triggers).values(
                namespace=state.namespace, flow_id=state.flow_id, trigger_id=state.trigger_id, **values
            )
            c.execute(
                stmt.on_conflict_do_update(index_elements=["namespace", "flow_id", "trigger_id"], set_=values)
            )

    def set_dates(
        self,
        namespace: str,
        flow_id: str,
        trigger_id: str,
        *,
        next_date: datetime | None,
        last_date: datetime | None,
        now: datetime,
        conn: Connection | None = None,
    ) -> bool:
        """Advance a trigger after it fired (or was evaluated)."""
        t = triggers
        stmt = (
            t.update()
            .where(t.c.namespace == namespace, t.c.flow_id == flow_id, t.c.trigger_id == trigger_id)
            .values(next_date=next_date, last_date=last_date, updated_at=now)
        )
        with self._write(conn) as c:
            return c.execute(stmt).rowcount > 0

    def delete(
        self, namespace: str, flow_id: str, trigger_id: str | None = None, *, conn: Connection | None = None
    ) -> int:
        """Forget one trigger's state, or all of a flow's (ticks are kept: they are history)."""
        t = triggers
        stmt = t.delete().where(t.c.namespace == namespace, t.c.flow_id == flow_id)
        if trigger_id is not None:
            stmt = stmt.where(t.c.trigger_id == trigger_id)
        with self._write(conn) as c:
            return c.execute(stmt).rowcount

    def record_tick(
        self,
        namespace: str,
        flow_id: str,
        trigger_id: str,
        scheduled_date: datetime,
        *,
        execution_id: str | None,
        now: datetime,
        conn: Connection | None = None,
    ) -> bool:
        """Record that the tick at ``scheduled_date`` fired; True only for the caller that inserted it."""
        with self._write(conn) as c:
            stmt = insert_for(c, schedule_ticks).values(
                namespace=namespace, flow_id=flow_id, trigger_id=trigger_id, scheduled_date=scheduled_date,
                execution_id=execution_id, created_at=now,
            )  # fmt: skip
            # an explicit RETURNING: a row comes back only when this call inserted it (rowcount is not
            # reliable here, SQLAlchemy adds an implicit RETURNING for the autoincrement key on PostgreSQL)
            inserted = c.execute(stmt.on_conflict_do_nothing().returning(schedule_ticks.c.id)).first()
            return inserted is not None

    def tick_execution(
        self,
        namespace: str,
        flow_id: str,
        trigger_id: str,
        scheduled_date: datetime,
        *,
        conn: Connection | None = None,
    ) -> tuple[bool, str | None]:
        """Whether that tick was recorded, and the execution it created."""
        st = schedule_ticks
        query = sa.select(st.c.execution_id).where(
            st.c.namespace == namespace,
            st.c.flow_id == flow_id,
            st.c.trigger_id == trigger_id,
            st.c.scheduled_date == scheduled_date,
        )
        with self._read(conn) as c:
            row = c.execute(query).one_or_none()
        return (False, None) if row is None else (True, row.execution_id)
