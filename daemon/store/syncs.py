"""The record of sync runs: what was attempted, what was applied, and what went wrong.

Rows come back as ``SyncRun`` frozen dataclasses. A run is ``start``-ed (result None while it runs) and
then ``finish``-ed with one of ``SUCCESS``, ``PARTIAL`` (some files invalid), ``FAILED``, ``SOURCE_ERROR``,
``REFUSED`` (the plan would have deleted every deployed flow), or ``INTERRUPTED`` when the process died
mid-sync (closed at the next start by ``close_interrupted``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from daemon.errors import StoreError
from daemon.store.repository import Repository
from daemon.store.tables import syncs

SyncResult = Literal["SUCCESS", "PARTIAL", "FAILED", "SOURCE_ERROR", "REFUSED", "INTERRUPTED"]
# plan counts that mean a sync changed deployed flows
_CHANGES = ("create", "update", "delete", "out_of_date", "orphaned")


def unchanged_repeat(run: SyncRun, previous: SyncRun | None) -> bool:
    """Whether a finished ``run`` only repeats ``previous``: same source, result, applied commit and errors,
    and nothing created, updated or deleted. Pure."""
    if previous is None or run.result not in ("SUCCESS", "PARTIAL"):
        return False
    counts = run.counts if isinstance(run.counts, dict) else None
    if counts is None or any(counts.get(action, 0) for action in _CHANGES):
        return False
    return (
        previous.source == run.source
        and previous.result == run.result
        and previous.commit_applied == run.commit_applied
        and (previous.errors or []) == (run.errors or [])
    )


@dataclass(frozen=True, slots=True)
class SyncRun:
    """One row of ``syncs``. ``errors`` is a list of diagnostics dicts (``Diagnostic.as_dict()``)."""

    id: int
    source: str
    ref: str | None
    commit_attempted: str | None
    commit_applied: str | None
    started_at: datetime
    finished_at: datetime | None
    result: str | None
    counts: dict[str, Any] | None
    plan: dict[str, Any] | list[Any] | None
    errors: list[dict[str, Any]] | None
    unchanged_polls: int | None = None  # later polls that changed nothing, folded into this row
    unchanged_until: datetime | None = None  # when the last of them finished


@dataclass(frozen=True, slots=True)
class SyncBrief:
    """A sync run's outcome without its plan and errors (``SyncRepository.latest_outcomes``)."""

    id: int
    finished_at: datetime | None
    result: str | None
    counts: dict[str, Any] | None


class SyncRepository(Repository):
    """Sync runs (``syncs``)."""

    def start(
        self,
        *,
        source: str,
        ref: str | None,
        commit_attempted: str | None,
        started_at: datetime,
        conn: Connection | None = None,
    ) -> int:
        """Record a sync that begins now; returns its id."""
        stmt = (
            syncs.insert()
            .values(source=source, ref=ref, commit_attempted=commit_attempted, started_at=started_at)
            .returning(syncs.c.id)
        )
        with self._write(conn) as c:
            return int(c.execute(stmt).scalar_one())

    def finish(
        self,
        sync_id: int,
        *,
        result: SyncResult,
        finished_at: datetime,
        commit_applied: str | None = None,
        counts: dict[str, Any] | None = None,
        plan: dict[str, Any] | list[Any] | None = None,
        errors: list[dict[str, Any]] | None = None,
        collapse: bool = False,
        conn: Connection | None = None,
    ) -> SyncRun:
        """Close a sync with its result; raises StoreError when ``sync_id`` does not exist. With
        ``collapse``, a sync that only repeats the one before it (``unchanged_repeat``) is not kept: it is
        counted on that row (``unchanged_polls``, ``unchanged_until``), which is returned without its plan
        (``plan`` None: read it with ``get``). No plan is read back here: a first sync of 10,000 flows
        has a 2 MB plan, whose decoding (one C call, 50 ms) would hold the GIL, stalling the main loop."""
        light = [column for column in syncs.c if column.name != "plan"]
        stmt = (
            syncs.update()
            .where(syncs.c.id == sync_id)
            .values(
                result=result, finished_at=finished_at, commit_applied=commit_applied,
                counts=counts, plan=plan, errors=errors,
            )
            .returning(*light)
        )  # fmt: skip
        with self._write(conn) as c:
            row = c.execute(stmt).one_or_none()
            if row is None:
                raise StoreError(f"sync {sync_id} does not exist")
            run = SyncRun(**row._mapping, plan=plan)
            if not collapse:
                return run
            before = sa.select(*light).where(syncs.c.id < sync_id).order_by(syncs.c.id.desc()).limit(1)
            found = c.execute(before).one_or_none()
            previous = SyncRun(**found._mapping, plan=None) if found else None
            if previous is None or not unchanged_repeat(run, previous):
                return run
            c.execute(syncs.delete().where(syncs.c.id == sync_id))
            folded = (
                syncs.update()
                .where(syncs.c.id == previous.id)
                .values(
                    unchanged_polls=sa.func.coalesce(syncs.c.unchanged_polls, 0) + 1,
                    unchanged_until=finished_at,
                )
                .returning(*light)
            )
            return SyncRun(**c.execute(folded).one()._mapping, plan=None)

    def close_interrupted(self, *, now: datetime, conn: Connection | None = None) -> int:
        """Close every sync left open by a process that died (``kill -9``, a crash) as INTERRUPTED; returns
        how many. Called at start-up. A sync another live daemon runs right now would be closed too, but its
        own ``finish`` then writes the real result over it."""
        stmt = (
            syncs.update()
            .where(syncs.c.result.is_(None))
            .values(
                result="INTERRUPTED", finished_at=now,
                errors=[{"message": "the flowd process stopped during this sync; nothing of it was applied"}],
            )
        )  # fmt: skip
        with self._write(conn) as c:
            return int(c.execute(stmt).rowcount)

    def get(self, sync_id: int, *, conn: Connection | None = None) -> SyncRun | None:
        """One sync run."""
        with self._read(conn) as c:
            row = c.execute(sa.select(syncs).where(syncs.c.id == sync_id)).one_or_none()
        return SyncRun(**row._mapping) if row else None

    def latest(self, *, limit: int = 20, conn: Connection | None = None) -> list[SyncRun]:
        """The most recent sync runs, newest first."""
        query = sa.select(syncs).order_by(syncs.c.id.desc()).limit(limit)
        with self._read(conn) as c:
            return [SyncRun(**row._mapping) for row in c.execute(query)]

    def latest_outcomes(self, *, limit: int = 20, conn: Connection | None = None) -> list[SyncBrief]:
        """``latest`` without the plans and errors: what the scheduler looks at every few seconds (a first
        sync's plan lists every flow, and it stays among the latest while later syncs change nothing)."""
        with self._read(conn) as c:
            return [SyncBrief(*row) for row in c.execute(_BRIEF, {"b_limit": limit})]

    def last_applied_commit(self, *, source: str | None = None, conn: Connection | None = None) -> str | None:
        """The commit of the newest sync that applied one (optionally for one source)."""
        query = (
            sa.select(syncs.c.commit_applied)
            .where(syncs.c.commit_applied.is_not(None))
            .order_by(syncs.c.id.desc())
            .limit(1)
        )
        if source is not None:
            query = query.where(syncs.c.source == source)
        with self._read(conn) as c:
            return c.execute(query).scalar_one_or_none()


_BRIEF = (
    sa.select(syncs.c.id, syncs.c.finished_at, syncs.c.result, syncs.c.counts)
    .order_by(syncs.c.id.desc())
    .limit(sa.bindparam("b_limit", type_=sa.Integer()))
)
