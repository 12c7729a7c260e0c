"""One store, one source: the store records the flow source it follows (``store_source``), and a daemon or
``flowd sync`` with a different source is refused with a message naming both (``--replace-source`` makes
the store follow the new one). Without it, two daemons (or a daemon and a one-off sync) with different
sources would delete each other's flows on every poll.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from daemon.errors import UsageError
from daemon.store.repository import insert_for
from daemon.store.tables import store_source

_URL = re.compile(r"^[a-z][a-z0-9+.-]*://|^[\w.-]+@[\w.-]+:", re.IGNORECASE)  # scheme:// or git@host:


@dataclass(frozen=True, slots=True)
class SourceRef:
    """A flow source as the store records it: a URL or an absolute folder, a ref, a subfolder."""

    source: str
    ref: str | None = None
    path: str | None = None

    @classmethod
    def of(cls, source: str, ref: str | None = None, path: str | None = None) -> SourceRef:
        """Normalised: a local folder made absolute, a URL without a trailing slash, empty parts None."""
        text = source.strip()
        text = text.rstrip("/") if _URL.match(text) else str(Path(text).expanduser().resolve())
        clean_path = (path or "").strip().strip("/") or None
        return cls(text, (ref or "").strip() or None, clean_path)

    def describe(self) -> str:
        """``SOURCE [ref REF] [path PATH]``."""
        parts = [self.source]
        if self.ref:
            parts.append(f"ref {self.ref}")
        if self.path:
            parts.append(f"path {self.path}")
        return " ".join(parts)


class SourceMismatch(UsageError):
    """The store follows another flow source."""

    def __init__(self, recorded: SourceRef, wanted: SourceRef) -> None:
        self.recorded = recorded
        self.wanted = wanted
        super().__init__(
            f"this store follows {recorded.describe()}; refusing to sync {wanted.describe()}, whose flows "
            "would replace the deployed ones. Use the same --source/--ref/--path, or pass --replace-source "
            "to make the store follow the new source."
        )


def recorded_source(engine: Engine) -> SourceRef | None:
    """The source the store follows, if any was recorded."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(store_source).where(store_source.c.id == 1)).first()
    return SourceRef(row.source, row.ref, row.path) if row is not None else None


def check_source(engine: Engine, wanted: SourceRef, *, replace: bool = False) -> SourceRef | None:
    """Raise SourceMismatch when the store follows a source other than ``wanted`` (unless ``replace``);
    returns the recorded source (None when none is)."""
    recorded = recorded_source(engine)
    if recorded is not None and recorded != wanted and not replace:
        raise SourceMismatch(recorded, wanted)
    return recorded


def record_source(engine: Engine, wanted: SourceRef, *, now: datetime) -> None:
    """Record ``wanted`` as the store's source (after a sync from it applied: a source that cannot be read
    is never recorded, and a refused replacement changes nothing)."""
    values = {"source": wanted.source, "ref": wanted.ref, "path": wanted.path, "recorded_at": now}
    with engine.begin() as conn:
        stmt = insert_for(conn, store_source).values(id=1, **values)
        conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=values))
