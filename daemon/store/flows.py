"""The deployed flows and every revision of them.

Rows come back as frozen dataclasses. A flow is never removed: deleting (prune) marks it ``deleted`` and
records a deleted revision; its revisions and executions stay.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from daemon.store.repository import Repository, insert_for
from daemon.store.tables import flow_revisions, flows

SyncState = Literal["SYNCED", "OUT_OF_DATE", "DELETED"]


@dataclass(frozen=True, slots=True)
class FlowHead:
    """A live flow's identity, revision, content hash, path and sync state (``heads``)."""

    namespace: str
    flow_id: str
    revision: int
    hash: str
    path: str | None
    sync_state: str


@dataclass(frozen=True, slots=True)
class FlowSource:
    """One flow to deploy with ``deploy_many``."""

    namespace: str
    flow_id: str
    source: str
    hash: str
    path: str | None


@dataclass(frozen=True, slots=True)
class DeployedFlow:
    """One row of ``flows``: a flow's current revision. ``OUT_OF_DATE``: its file is currently invalid."""

    namespace: str
    flow_id: str
    revision: int
    source: str
    hash: str
    path: str | None
    commit: str | None
    sync_state: str
    deleted: bool
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class FlowRevision:
    """One row of ``flow_revisions``; ``deleted`` marks the revision recording a deletion."""

    namespace: str
    flow_id: str
    revision: int
    source: str
    hash: str
    path: str | None
    commit: str | None
    created_at: datetime
    deleted: bool


class FlowRepository(Repository):
    """Deployed flows (``flows``) and their history (``flow_revisions``)."""

    def get(
        self, namespace: str, flow_id: str, *, include_deleted: bool = False, conn: Connection | None = None
    ) -> DeployedFlow | None:
        """The deployed flow, or None (also None when deleted, unless ``include_deleted``)."""
        query = sa.select(flows).where(flows.c.namespace == namespace, flows.c.flow_id == flow_id)
        if not include_deleted:
            query = query.where(flows.c.deleted.is_(False))
        with self._read(conn) as c:
            row = c.execute(query).one_or_none()
        return DeployedFlow(**row._mapping) if row else None

    def list(
        self, *, namespace: str | None = None, include_deleted: bool = False, conn: Connection | None = None
    ) -> builtins.list[DeployedFlow]:
        """Deployed flows ordered by namespace and id; ``namespace`` also matches its sub-namespaces."""
        query = sa.select(flows).order_by(flows.c.namespace, flows.c.flow_id)
        if namespace is not None:
            query = query.where(
                sa.or_(
                    flows.c.namespace == namespace,
                    flows.c.namespace.startswith(namespace + ".", autoescape=True),
                )
            )
        if not include_deleted:
            query = query.where(flows.c.deleted.is_(False))
        with self._read(conn) as c:
            return [DeployedFlow(**row._mapping) for row in c.execute(query)]

    def heads(self, *, conn: Connection | None = None) -> builtins.list[FlowHead]:
        """Every live flow without its source: what a sync compares, cheap for thousands of flows."""
        f = flows
        query = sa.select(f.c.namespace, f.c.flow_id, f.c.revision, f.c.hash, f.c.path, f.c.sync_state).where(
            f.c.deleted.is_(False)
        )
        with self._read(conn) as c:
            return [FlowHead(*row) for row in c.execute(query)]

    def deploy(
        self,
        namespace: str,
        flow_id: str,
        *,
        source: str,
        hash: str,
        path: str | None,
        commit: str | None,
        now: datetime,
        conn: Connection | None = None,
    ) -> DeployedFlow:
        """Make ``source`` the current revision. Same hash as the live one: no new revision, only
        path/commit/sync_state are refreshed. Otherwise (or after a deletion) the revision number grows."""
        with self._write(conn) as c:
            current = self.get(namespace, flow_id, include_deleted=True, conn=c)
            if current is not None and not current.deleted and current.hash == hash:
                revision = current.revision
            else:
                revision = (current.revision if current else 0) + 1
                c.execute(
                    flow_revisions.insert().values(
                        namespace=namespace, flow_id=flow_id, revision=revision, source=source, hash=hash,
                        path=path, commit=commit, created_at=now, deleted=False,
                    )
                )  # fmt: skip
            values = dict(
                revision=revision, source=source, hash=hash, path=path, commit=commit,
                sync_state="SYNCED", deleted=False, updated_at=now,
            )  # fmt: skip
            stmt = insert_for(c, flows).values(namespace=namespace, flow_id=flow_id, **values)
            c.execute(stmt.on_conflict_do_update(index_elements=["namespace", "flow_id"], set_=values))
        return DeployedFlow(namespace=namespace, flow_id=flow_id, **values)  # type: ignore[arg-type]

    def deploy_many(
        self,
        items: Sequence[FlowSource],
        *,
        commit: str | None,
        now: datetime,
        conn: Connection | None = None,
    ) -> dict[tuple[str, str], int]:
        """``deploy`` for many flows (distinct namespace/id) in three statements, for syncs of thousands of
        files; returns each flow's revision."""
        if not items:
            return {}
        with self._write(conn) as c:
            query = sa.select(
                flows.c.namespace, flows.c.flow_id, flows.c.revision, flows.c.hash, flows.c.deleted
            )
            if len(items) <= 500:  # a few flows: look them up; many: one scan is cheaper
                keys = [(i.namespace, i.flow_id) for i in items]
                query = query.where(sa.tuple_(flows.c.namespace, flows.c.flow_id).in_(keys))
            current = {(r.namespace, r.flow_id): r for r in c.execute(query)}
            new_revisions: builtins.list[dict[str, object]] = []
            rows: builtins.list[dict[str, object]] = []
            out: dict[tuple[str, str], int] = {}
            for item in items:
                key = (item.namespace, item.flow_id)
                cur = current.get(key)
                if cur is not None and not cur.deleted and cur.hash == item.hash:
                    revision = cur.revision
                else:
                    revision = (cur.revision if cur else 0) + 1
                    new_revisions.append(dict(
                        namespace=item.namespace, flow_id=item.flow_id, revision=revision, source=item.source,
                        hash=item.hash, path=item.path, commit=commit, created_at=now, deleted=False,
                    ))  # fmt: skip
                rows.append(dict(
                    namespace=item.namespace, flow_id=item.flow_id, revision=revision, source=item.source,
                    hash=item.hash, path=item.path, commit=commit, sync_state="SYNCED", deleted=False,
                    updated_at=now,
                ))  # fmt: skip
                out[key] = revision
            if new_revisions:
                c.execute(flow_revisions.insert(), new_revisions)
            stmt = insert_for(c, flows)
            updated = ("revision", "source", "hash", "path", "commit", "sync_state", "deleted", "updated_at")
            c.execute(
                stmt.on_conflict_do_update(
                    index_elements=["namespace", "flow_id"], set_={k: stmt.excluded[k] for k in updated}
                ),
                rows,
            )
        return out

    def set_sync_state(
        self, namespace: str, flow_id: str, state: SyncState, *, now: datetime, conn: Connection | None = None
    ) -> bool:
        """Set the sync state of a live flow (e.g. ``OUT_OF_DATE`` when its file became invalid)."""
        stmt = (
            flows.update()
            .where(flows.c.namespace == namespace, flows.c.flow_id == flow_id, flows.c.deleted.is_(False))
            .values(sync_state=state, updated_at=now)
        )
        with self._write(conn) as c:
            return c.execute(stmt).rowcount > 0

    def delete(
        self,
        namespace: str,
        flow_id: str,
        *,
        commit: str | None,
        now: datetime,
        conn: Connection | None = None,
    ) -> bool:
        """Mark the flow deleted and record a deleted revision; False when it is not live."""
        with self._write(conn) as c:
            current = self.get(namespace, flow_id, conn=c)
            if current is None:
                return False
            revision = current.revision + 1
            c.execute(
                flow_revisions.insert().values(
                    namespace=namespace, flow_id=flow_id, revision=revision, source=current.source,
                    hash=current.hash, path=current.path, commit=commit, created_at=now, deleted=True,
                )
            )  # fmt: skip
            c.execute(
                flows.update()
                .where(flows.c.namespace == namespace, flows.c.flow_id == flow_id)
                .values(revision=revision, commit=commit, sync_state="DELETED", deleted=True, updated_at=now)
            )
        return True

    def revisions(
        self, namespace: str, flow_id: str, *, conn: Connection | None = None
    ) -> builtins.list[FlowRevision]:
        """Every revision of a flow, oldest first."""
        query = (
            sa.select(flow_revisions)
            .where(flow_revisions.c.namespace == namespace, flow_revisions.c.flow_id == flow_id)
            .order_by(flow_revisions.c.revision)
        )
        with self._read(conn) as c:
            return [FlowRevision(**row._mapping) for row in c.execute(query)]

    def get_revision(
        self, namespace: str, flow_id: str, revision: int, *, conn: Connection | None = None
    ) -> FlowRevision | None:
        """One revision (executions refer to the revision they ran)."""
        query = sa.select(flow_revisions).where(
            flow_revisions.c.namespace == namespace,
            flow_revisions.c.flow_id == flow_id,
            flow_revisions.c.revision == revision,
        )
        with self._read(conn) as c:
            row = c.execute(query).one_or_none()
        return FlowRevision(**row._mapping) if row else None
