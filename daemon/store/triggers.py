"""Trigger state and recorded schedule ticks.

``TriggerState`` rows are frozen dataclasses. ``record_tick`` is insert-or-nothing on the UNIQUE key
(namespace, flow_id, trigger_id, scheduled_date): exactly one caller gets True for a tick, across
restarts and racing schedulers. Call it in the same transaction that creates the execution.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
    disabled_override: bool | None = None  # an operator's disable/enable kept across syncs (None: Git's)


TriggerKey = tuple[str, str, str]  # (namespace, flow_id, trigger_id)
_GROUP_MIN = 20  # ticks sharing dates and revision moved by one UPDATE ... WHERE key IN (...)
_GROUP_MAX = 500  # keys per such statement (3 parameters each, well under SQLite's limit)


@dataclass(frozen=True, slots=True)
class TickRow:
    """A tick to record with ``record_ticks``, and its trigger's cursor move with ``advance_many`` (to
    ``next_date``, guarded by the trigger ``revision`` the tick was planned from)."""

    namespace: str
    flow_id: str
    trigger_id: str
    scheduled_date: datetime
    execution_id: str | None
    next_date: datetime | None = None
    revision: int = 0


class TriggerRepository(Repository):
    """Trigger state (``triggers``) and schedule ticks (``schedule_ticks``)."""

    # --- bulk forms, for a scheduler firing many ticks at one instant in one transaction ----------------
    def get_many(
        self, keys: Iterable[TriggerKey], *, conn: Connection | None = None
    ) -> dict[TriggerKey, TriggerState]:
        """The states of the given triggers (absent keys are left out)."""
        t = triggers
        wanted = builtins.list(dict.fromkeys(keys))
        if not wanted:
            return {}
        query = sa.select(t).where(sa.tuple_(t.c.namespace, t.c.flow_id, t.c.trigger_id).in_(wanted))
        with self._read(conn) as c:
            states = [TriggerState(**row._mapping) for row in c.execute(query)]
        return {(s.namespace, s.flow_id, s.trigger_id): s for s in states}

    def advance_many(self, ticks: Sequence[TickRow], *, now: datetime, conn: Connection | None = None) -> int:
        """``set_dates`` for many triggers, each guarded: its cursor moves to its tick's ``next_date``
        (``last_date`` to the tick) only while the trigger is still enabled, scheduled and at the tick's
        ``revision``. Returns how many moved: fewer than given means some trigger changed. Ticks sharing
        their dates and revision (many flows on one cron) move in one statement, the others together."""
        groups: dict[tuple[int, datetime, datetime | None], builtins.list[TickRow]] = {}
        for r in ticks:
            groups.setdefault((r.revision, r.scheduled_date, r.next_date), []).append(r)
        t = triggers
        guard = (t.c.disabled.is_(False), t.c.next_date.is_not(None))
        single: builtins.list[TickRow] = []
        moved = 0
        with self._write(conn) as c:
            for (revision, last, following), rows in groups.items():
                if len(rows) < _GROUP_MIN:
                    single += rows
                    continue
                for start in range(0, len(rows), _GROUP_MAX):
                    keys = [(r.namespace, r.flow_id, r.trigger_id) for r in rows[start : start + _GROUP_MAX]]
                    stmt = (
                        t.update()
                        .where(sa.tuple_(t.c.namespace, t.c.flow_id, t.c.trigger_id).in_(keys))
                        .where(t.c.revision == revision, *guard)
                        .values(next_date=following, last_date=last, updated_at=now)
                    )
                    moved += c.execute(stmt).rowcount
            if single:
                stmt = (
                    t.update()
                    .where(
                        t.c.namespace == sa.bindparam("k_ns"),
                        t.c.flow_id == sa.bindparam("k_flow"),
                        t.c.trigger_id == sa.bindparam("k_trigger"),
                        t.c.revision == sa.bindparam("k_revision"),
                        *guard,
                    )
                    .values(
                        next_date=sa.bindparam("k_next"), last_date=sa.bindparam("k_last"), updated_at=now
                    )
                )
                params = [
                    {"k_ns": r.namespace, "k_flow": r.flow_id, "k_trigger": r.trigger_id,
                     "k_revision": r.revision, "k_next": r.next_date, "k_last": r.scheduled_date}
                    for r in single
                ]  # fmt: skip
                moved += c.execute(stmt, params).rowcount
        return moved

    def record_ticks(
        self, ticks: Sequence[TickRow], *, now: datetime, conn: Connection | None = None
    ) -> builtins.list[TickRow]:
        """``record_tick`` for many ticks (insert-or-nothing on the UNIQUE key, one statement); returns
        those this call inserted. Each row needs its own ``execution_id``: it tells inserted rows apart
        when some ticks were recorded before."""
        if not ticks:
            return []
        st = schedule_ticks
        rows = [
            {"namespace": r.namespace, "flow_id": r.flow_id, "trigger_id": r.trigger_id,
             "scheduled_date": r.scheduled_date, "execution_id": r.execution_id, "created_at": now}
            for r in ticks
        ]  # fmt: skip
        with self._write(conn) as c:
            inserted = c.execute(insert_for(c, st).on_conflict_do_nothing(), rows).rowcount
            if inserted == len(ticks):
                return builtins.list(ticks)  # the usual case: none was recorded before
            ids = [r.execution_id for r in ticks if r.execution_id is not None]
            mine = set(c.execute(sa.select(st.c.execution_id).where(st.c.execution_id.in_(ids))).scalars())
        return [r for r in ticks if r.execution_id in mine]

    def forget_tick_executions(self, execution_ids: Sequence[str], *, conn: Connection | None = None) -> None:
        """Recorded ticks whose execution could not be created after all: they keep no execution id."""
        if not execution_ids:
            return
        st = schedule_ticks
        stmt = (
            st.update().where(st.c.execution_id.in_(builtins.list(execution_ids))).values(execution_id=None)
        )
        with self._write(conn) as c:
            c.execute(stmt)

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
        """Insert or replace a trigger's state. ``state.disabled`` is the source's value: an operator's
        override on the stored row wins over it (and is dropped once the source agrees with it)."""
        params = {column.name: getattr(state, column.name) for column in triggers.c}  # the same fields
        with self._write(conn) as c:
            c.execute(_put_statement(c), params)

    def disable(
        self,
        namespace: str,
        flow_id: str,
        trigger_id: str,
        *,
        revision: int,
        now: datetime,
        conn: Connection | None = None,
    ) -> bool:
        """Disable a trigger while its state is still of ``revision`` (``stopAfter``); a sync that deploys
        a new revision sets it from the definition again. True when a row changed."""
        t = triggers
        stmt = (
            t.update()
            .where(
                t.c.namespace == namespace, t.c.flow_id == flow_id, t.c.trigger_id == trigger_id,
                t.c.revision == revision, t.c.disabled.is_(False),
            )
            .values(disabled=True, updated_at=now)
        )  # fmt: skip
        with self._write(conn) as c:
            return c.execute(stmt).rowcount > 0

    def set_disabled(
        self,
        namespace: str,
        flow_id: str,
        trigger_id: str,
        *,
        disabled: bool,
        source_disabled: bool,
        now: datetime,
        conn: Connection | None = None,
    ) -> bool:
        """An operator disables or enables a trigger; the choice is kept across syncs while it differs from
        the source's ``source_disabled`` (when they agree there is nothing to keep). False if unknown."""
        t = triggers
        stmt = (
            t.update()
            .where(t.c.namespace == namespace, t.c.flow_id == flow_id, t.c.trigger_id == trigger_id)
            .values(
                disabled=disabled,
                disabled_override=None if disabled == source_disabled else disabled,
                updated_at=now,
            )
        )
        with self._write(conn) as c:
            return c.execute(stmt).rowcount > 0

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


_PUT: dict[str, Any] = {}


def _put_statement(c: Connection) -> Any:
    """The upsert of ``put``, built once per dialect: a sync of 1,000 flows puts 1,000 trigger states, and
    building (and cache-keying) a new statement for each took longer than running it (bench W4)."""
    stmt = _PUT.get(c.dialect.name)
    if stmt is None:
        t = triggers
        insert = insert_for(c, t)
        new = insert.excluded
        override = t.c.disabled_override
        agreed = sa.or_(override.is_(None), override == new.disabled)
        replaced = ("revision", "definition_hash", "next_date", "last_date", "updated_at")
        stmt = insert.on_conflict_do_update(
            index_elements=["namespace", "flow_id", "trigger_id"],
            set_={
                **{k: new[k] for k in replaced},
                "disabled": sa.case((agreed, new.disabled), else_=override),
                "disabled_override": sa.case((agreed, sa.null()), else_=override),
            },
        )
        _PUT[c.dialect.name] = stmt
    return stmt
