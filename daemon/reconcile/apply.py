"""Applying a plan to the store, inside the caller's transaction: flows, revisions, sync states, triggers.

The caller opens one transaction (``store.begin()``) and passes its connection: either the whole plan lands
or nothing does. A revision is made only for created and updated flows (``FlowRepository.deploy_many`` keeps
the revision when the hash is unchanged); a delete marks the flow deleted, keeping revisions and executions.

Trigger state follows each new revision (see ``triggers``): an inserted or reset row has ``next_date`` NULL,
which tells the scheduler to compute the next fire date from the new definition; a reset keeps ``last_date``
(history, and what keeps the scheduler from firing the same instant twice); a kept row only moves to the new
revision; a removed trigger's row is deleted, and so are all rows of a deleted flow.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from daemon.reconcile.plan import DeployedFlow, FlowChange, Plan
from daemon.reconcile.triggers import reconcile_triggers
from daemon.store import Store, TriggerState
from daemon.store.flows import FlowSource

# any constant works: it only has to be the same for every flowd process sharing the database
_SYNC_LOCK_KEY = 0x666C6F7764


def lock_for_sync(conn: Connection) -> None:
    """Serialise syncs: on PostgreSQL a transaction-level advisory lock; SQLite's BEGIN IMMEDIATE already
    holds the only write lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SYNC_LOCK_KEY})


def load_deployed(store: Store, *, conn: Connection | None = None) -> list[DeployedFlow]:
    """The live deployed flows as planning sees them, without their sources (see ``old_sources``)."""
    return [
        DeployedFlow(h.namespace, h.flow_id, h.revision, h.hash, h.path, None, h.sync_state)
        for h in store.flows.heads(conn=conn)
    ]


def old_sources(store: Store, plan: Plan, *, conn: Connection | None = None) -> dict[str, str]:
    """The deployed sources of the flows the plan updates (for their diffs), by uid."""
    updates = plan.of("update")
    if len(updates) > 200:  # one scan beats hundreds of lookups
        wanted = {c.uid for c in updates}
        return {
            u: f.source for f in store.flows.list(conn=conn) if (u := f"{f.namespace}/{f.flow_id}") in wanted
        }
    found = (store.flows.get(c.namespace, c.flow_id, conn=conn) for c in updates)
    return {f"{f.namespace}/{f.flow_id}": f.source for f in found if f is not None}


def apply_plan(store: Store, plan: Plan, *, commit: str | None, now: datetime, conn: Connection) -> None:
    """Write ``plan`` through ``conn``; a refused plan is an error of the caller."""
    if plan.refused:
        raise ValueError("a refused plan cannot be applied")
    to_deploy = [c for c in plan.changes if c.action in ("create", "update") or c.refresh]
    sources = []
    for change in to_deploy:
        d = change.desired
        assert d is not None  # the plan puts the desired flow on every create/update/unchanged
        sources.append(FlowSource(d.namespace, d.flow_id, d.source, d.hash, d.path))
    revisions = store.flows.deploy_many(sources, commit=commit, now=now, conn=conn)
    changed = [c for c in to_deploy if c.action != "unchanged"]
    if changed:
        states: dict[tuple[str, str], dict[str, TriggerState]] = defaultdict(dict)
        if len(changed) <= 50:  # a few flows: look them up; many: one scan is cheaper
            found = [
                s
                for c in changed
                for s in store.triggers.list(namespace=c.namespace, flow_id=c.flow_id, conn=conn)
            ]
        else:
            found = store.triggers.list(conn=conn)
        for state in found:
            states[(state.namespace, state.flow_id)][state.trigger_id] = state
        for change in changed:
            key = (change.namespace, change.flow_id)
            _reconcile_triggers(store, change, states.get(key, {}), revisions[key], now=now, conn=conn)
    for change in plan.of("delete"):
        store.flows.delete(change.namespace, change.flow_id, commit=commit, now=now, conn=conn)
        store.triggers.delete(change.namespace, change.flow_id, conn=conn)
    for kept in plan.kept:
        if not kept.already_out_of_date:
            store.flows.set_sync_state(kept.namespace, kept.flow_id, "OUT_OF_DATE", now=now, conn=conn)


def _reconcile_triggers(
    store: Store,
    change: FlowChange,
    existing: dict[str, TriggerState],
    revision: int,
    *,
    now: datetime,
    conn: Connection,
) -> None:
    desired = change.desired
    if desired is None or desired.triggers is None:
        return  # not re-validated: its content is the deployed one, so are its trigger states
    ops = reconcile_triggers(desired.triggers, {tid: s.definition_hash for tid, s in existing.items()})
    for op in ops:
        if op.definition is None:
            store.triggers.delete(desired.namespace, desired.flow_id, op.trigger_id, conn=conn)
            continue
        old = existing.get(op.trigger_id)
        if op.action == "keep" and old is not None and old.revision == revision:
            continue
        keep = op.action == "keep" and old is not None
        store.triggers.put(
            TriggerState(
                namespace=desired.namespace, flow_id=desired.flow_id, trigger_id=op.trigger_id,
                revision=revision, definition_hash=op.definition.hash,
                next_date=old.next_date if keep and old else None,
                last_date=old.last_date if old else None,
                disabled=op.definition.disabled, updated_at=now,
            ),
            conn=conn,
        )  # fmt: skip
