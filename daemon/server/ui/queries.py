"""Read-only queries the web UI needs beyond the repositories' methods: paged, filtered, no N+1.

Every function takes the ``Store`` and returns plain dataclasses or rows; none writes. They use the store's
tables directly (SQLAlchemy Core) because a page wants a few columns of many rows, not whole records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from daemon.store import ACTIVE_STATES, Execution, Store, SyncRun, TriggerState
from daemon.store.tables import executions, flows, syncs, triggers

FlowKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class FlowRow:
    """One line of the flows page."""

    namespace: str
    flow_id: str
    revision: int
    path: str | None
    commit: str | None
    sync_state: str
    deleted: bool
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class FlowPage:
    """One page of flows, how many match in all, and every namespace with its number of flows."""

    rows: list[FlowRow]
    total: int
    namespaces: dict[str, int]


@dataclass(frozen=True, slots=True)
class LastExecution:
    """The newest execution of a flow."""

    id: str
    state: str
    start_date: datetime


def _text_filter(text: str | None) -> list[sa.ColumnElement[bool]]:
    if not text:
        return []
    needle = text.strip()
    uid = sa.func.lower(flows.c.namespace + "." + flows.c.flow_id)
    return [uid.contains(needle.lower(), autoescape=True)]


def _namespace_filter(namespace: str | None) -> list[sa.ColumnElement[bool]]:
    if not namespace:
        return []
    return [
        sa.or_(flows.c.namespace == namespace, flows.c.namespace.startswith(namespace + ".", autoescape=True))
    ]


def flow_page(
    store: Store,
    *,
    text: str | None,
    namespace: str | None,
    include_deleted: bool,
    offset: int,
    limit: int,
) -> FlowPage:
    """Flows ordered by namespace and id, filtered by a case-insensitive text on ``namespace.id`` and by a
    namespace (with its sub-namespaces); the namespace counts ignore the text and namespace filters."""
    f = flows
    where = [*_text_filter(text), *_namespace_filter(namespace)]
    live = [] if include_deleted else [f.c.deleted.is_(False)]
    columns = (f.c.namespace, f.c.flow_id, f.c.revision, f.c.path, f.c.commit, f.c.sync_state, f.c.deleted,
               f.c.updated_at)  # fmt: skip
    page = sa.select(*columns).where(*where, *live).order_by(f.c.namespace, f.c.flow_id)
    total = sa.select(sa.func.count()).select_from(f).where(*where, *live)
    spaces = sa.select(f.c.namespace, sa.func.count()).where(*live).group_by(f.c.namespace)
    with store.engine.connect() as conn:
        rows = [FlowRow(*row) for row in conn.execute(page.offset(offset).limit(limit))]
        count = int(conn.execute(total).scalar_one())
        namespaces = {str(ns): int(n) for ns, n in conn.execute(spaces)}
    return FlowPage(rows, count, namespaces)


def last_executions(store: Store, keys: Sequence[FlowKey]) -> dict[FlowKey, LastExecution]:
    """The newest execution of each flow in ``keys``, in one query (a window over those flows)."""
    if not keys:
        return {}
    ex = executions
    rank = (
        sa.func.row_number()
        .over(partition_by=(ex.c.namespace, ex.c.flow_id), order_by=(ex.c.start_date.desc(), ex.c.id.desc()))
        .label("rank")
    )
    ranked = (
        sa.select(ex.c.namespace, ex.c.flow_id, ex.c.id, ex.c.state, ex.c.start_date, rank)
        .where(sa.tuple_(ex.c.namespace, ex.c.flow_id).in_(list(keys)))
        .subquery()
    )
    query = sa.select(ranked).where(ranked.c.rank == 1)
    with store.engine.connect() as conn:
        return {
            (row.namespace, row.flow_id): LastExecution(row.id, row.state, row.start_date)
            for row in conn.execute(query)
        }


def triggers_of(store: Store, keys: Sequence[FlowKey]) -> dict[FlowKey, list[TriggerState]]:
    """The trigger states of the flows in ``keys``, in one query."""
    if not keys:
        return {}
    t = triggers
    query = (
        sa.select(t)
        .where(sa.tuple_(t.c.namespace, t.c.flow_id).in_(list(keys)))
        .order_by(t.c.namespace, t.c.flow_id, t.c.trigger_id)
    )
    out: dict[FlowKey, list[TriggerState]] = {}
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            state = TriggerState(**row._mapping)
            out.setdefault((state.namespace, state.flow_id), []).append(state)
    return out


def next_runs(store: Store, *, limit: int) -> list[TriggerState]:
    """The enabled triggers of live flows with a next date, soonest first."""
    t, f = triggers, flows
    query = (
        sa.select(t)
        .join(f, sa.and_(f.c.namespace == t.c.namespace, f.c.flow_id == t.c.flow_id))
        .where(t.c.disabled.is_(False), t.c.next_date.is_not(None), f.c.deleted.is_(False))
        .order_by(t.c.next_date)
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [TriggerState(**row._mapping) for row in conn.execute(query)]


def running_executions(store: Store, *, limit: int) -> list[Execution]:
    """Executions that are not terminal yet, newest first."""
    return store.executions.list(states=ACTIVE_STATES, limit=limit)


def sync_page(store: Store, *, before_id: int | None, limit: int) -> list[SyncRun]:
    """Sync runs newest first, only those with an id below ``before_id`` when given (keyset paging)."""
    query = sa.select(syncs).order_by(syncs.c.id.desc()).limit(limit)
    if before_id is not None:
        query = query.where(syncs.c.id < before_id)
    with store.engine.connect() as conn:
        return [SyncRun(**row._mapping) for row in conn.execute(query)]


def flow_executions(
    store: Store, namespace: str, flow_id: str, *, offset: int, limit: int
) -> tuple[list[Execution], int]:
    """One page of a flow's executions (exactly that namespace), newest first, and their total."""
    ex = executions
    where = (ex.c.namespace == namespace, ex.c.flow_id == flow_id)
    page = sa.select(ex).where(*where).order_by(ex.c.start_date.desc(), ex.c.id.desc())
    total = sa.select(sa.func.count()).select_from(ex).where(*where)
    with store.engine.connect() as conn:
        rows = [Execution(**row._mapping) for row in conn.execute(page.offset(offset).limit(limit))]
        return rows, int(conn.execute(total).scalar_one())
