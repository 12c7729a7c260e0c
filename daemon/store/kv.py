"""The namespace key-value store: (namespace, key) -> JSON value, with an optional expiry.

``get`` returns the value (expired entries read as missing); ``entry`` returns a ``KvEntry`` dataclass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from daemon.store.repository import Repository, insert_for
from daemon.store.tables import kv

_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class KvEntry:
    """One stored value."""

    namespace: str
    key: str
    value: Any
    expires_at: datetime | None
    updated_at: datetime


def _live(now: datetime) -> sa.ColumnElement[bool]:
    return sa.or_(kv.c.expires_at.is_(None), kv.c.expires_at > now)


class KvRepository(Repository):
    """Key-value pairs (``kv``)."""

    def put(
        self,
        namespace: str,
        key: str,
        value: Any,
        *,
        now: datetime,
        expires_at: datetime | None = None,
        conn: Connection | None = None,
    ) -> None:
        """Set ``key`` to ``value`` (any JSON value, ``None`` included), replacing what was there."""
        values = {"value": value, "expires_at": expires_at, "updated_at": now}
        with self._write(conn) as c:
            stmt = insert_for(c, kv).values(namespace=namespace, key=key, **values)
            c.execute(stmt.on_conflict_do_update(index_elements=["namespace", "key"], set_=values))

    def entry(
        self, namespace: str, key: str, *, now: datetime, conn: Connection | None = None
    ) -> KvEntry | None:
        """The live entry for ``key``, or None when missing or expired."""
        query = sa.select(kv).where(kv.c.namespace == namespace, kv.c.key == key, _live(now))
        with self._read(conn) as c:
            row = c.execute(query).one_or_none()
        return KvEntry(**row._mapping) if row else None

    def get(
        self, namespace: str, key: str, default: Any = None, *, now: datetime, conn: Connection | None = None
    ) -> Any:
        """The value of ``key``, or ``default`` when missing or expired."""
        found = self.entry(namespace, key, now=now, conn=conn)
        return default if found is None else found.value

    def keys(self, namespace: str, *, now: datetime, conn: Connection | None = None) -> list[str]:
        """The live keys of a namespace, sorted."""
        query = sa.select(kv.c.key).where(kv.c.namespace == namespace, _live(now)).order_by(kv.c.key)
        with self._read(conn) as c:
            return list(c.execute(query).scalars())

    def delete(self, namespace: str, key: str, *, conn: Connection | None = None) -> bool:
        """Remove ``key``; False when it was not there."""
        with self._write(conn) as c:
            return c.execute(kv.delete().where(kv.c.namespace == namespace, kv.c.key == key)).rowcount > 0

    def purge_expired(self, now: datetime, *, conn: Connection | None = None) -> int:
        """Delete entries whose expiry has passed; returns how many."""
        with self._write(conn) as c:
            return c.execute(kv.delete().where(kv.c.expires_at <= now)).rowcount
