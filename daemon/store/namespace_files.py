"""Namespace files, versioned: ``(namespace, path)`` -> revisions of content; a deletion is a revision too.

``replace_all`` makes the stored set equal to a desired set (what a sync does): a new revision for each new
or changed file, a deletion revision for each file no longer there, nothing for unchanged ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from daemon.store.repository import Repository
from daemon.store.tables import namespace_files as nf


@dataclass(frozen=True, slots=True)
class NamespaceFile:
    """One revision of one namespace file (``content`` None for a deletion)."""

    namespace: str
    path: str
    revision: int
    hash: str | None
    size: int
    content: bytes | None
    deleted: bool
    commit: str | None
    created_at: datetime


def content_hash(content: bytes) -> str:
    """The sha256 hex digest a file's versions are compared by."""
    return hashlib.sha256(content).hexdigest()


class NamespaceFilesRepository(Repository):
    """Versions of namespace files (``namespace_files``)."""

    def _heads(
        self, c: Connection, namespace: str | None = None, *, content: bool = True
    ) -> list[sa.Row[tuple[object, ...]]]:
        latest = sa.select(nf.c.namespace, nf.c.path, sa.func.max(nf.c.revision).label("revision")).group_by(
            nf.c.namespace, nf.c.path
        )
        if namespace is not None:
            latest = latest.where(nf.c.namespace == namespace)
        sub = latest.subquery()
        columns = list(nf.c) if content else [c_ for c_ in nf.c if c_.name != "content"]
        query = sa.select(*columns).join(
            sub,
            sa.and_(
                nf.c.namespace == sub.c.namespace, nf.c.path == sub.c.path, nf.c.revision == sub.c.revision
            ),
        )
        return list(c.execute(query.order_by(nf.c.namespace, nf.c.path)))

    def current(self, namespace: str, *, conn: Connection | None = None) -> dict[str, NamespaceFile]:
        """The live files of ``namespace`` (latest revision, not deleted), by path."""
        with self._read(conn) as c:
            rows = self._heads(c, namespace)
        return {r.path: NamespaceFile(**_fields(r)) for r in rows if not r.deleted}

    def files(self, namespace: str) -> dict[str, bytes]:
        """The live files of ``namespace`` as ``{path: content}`` (what a task copies)."""
        return {path: f.content or b"" for path, f in self.current(namespace).items()}

    def get(self, namespace: str, path: str, *, conn: Connection | None = None) -> bytes | None:
        """The content of the live file, or None when there is none."""
        query = (
            sa.select(nf.c.content, nf.c.deleted)
            .where(nf.c.namespace == namespace, nf.c.path == path.lstrip("/"))
            .order_by(nf.c.revision.desc())
            .limit(1)
        )
        with self._read(conn) as c:
            row = c.execute(query).one_or_none()
        return None if row is None or row.deleted else bytes(row.content or b"")

    def history(self, namespace: str, path: str, *, conn: Connection | None = None) -> list[NamespaceFile]:
        """Every revision of one file, oldest first."""
        query = sa.select(nf).where(nf.c.namespace == namespace, nf.c.path == path).order_by(nf.c.revision)
        with self._read(conn) as c:
            return [NamespaceFile(**_fields(r)) for r in c.execute(query)]

    def replace_all(
        self,
        desired: Mapping[tuple[str, str], bytes],
        *,
        commit: str | None,
        now: datetime,
        conn: Connection | None = None,
    ) -> dict[str, list[tuple[str, str]]]:
        """Make the live set equal to ``desired`` ({(namespace, path): content}); what changed, by action."""
        changes: dict[str, list[tuple[str, str]]] = {"create": [], "update": [], "delete": []}
        with self._write(conn) as c:
            heads = {(r.namespace, r.path): r for r in self._heads(c, content=False)}
            rows = []
            for key, content in sorted(desired.items()):
                head = heads.get(key)
                digest = content_hash(content)
                if head is not None and not head.deleted and head.hash == digest:
                    continue
                action = "create" if head is None or head.deleted else "update"
                changes[action].append(key)
                rows.append(_row(key, (head.revision if head else 0) + 1, content, digest, commit, now))
            for key, head in heads.items():
                if key not in desired and not head.deleted:
                    changes["delete"].append(key)
                    rows.append(_row(key, head.revision + 1, None, None, commit, now))
            if rows:
                c.execute(nf.insert(), rows)
        return changes


def _row(
    key: tuple[str, str],
    revision: int,
    content: bytes | None,
    digest: str | None,
    commit: str | None,
    now: datetime,
) -> dict[str, object]:
    return {
        "namespace": key[0], "path": key[1], "revision": revision, "hash": digest,
        "size": len(content) if content is not None else 0, "content": content,
        "deleted": content is None, "commit": commit, "created_at": now,
    }  # fmt: skip


def _fields(row: sa.Row[tuple[object, ...]]) -> dict[str, Any]:
    fields = dict(row._mapping)
    fields.pop("id", None)
    if fields.get("content") is not None:
        fields["content"] = bytes(fields["content"])
    return fields
