"""``Reconciler``: one object per source, kept by the daemon, that plans and applies syncs and records them.

Each ``sync()``:
1. reads a snapshot of the source (incrementally: the previous snapshot is passed as ``since``); a source
   that cannot be read is recorded as SOURCE_ERROR and changes nothing;
2. reads the deployed flows, validates the files that changed (results are cached by path and content for
   the object's life) and plans, all outside any transaction; then applies in one short transaction
   (serialised between flowd processes) that first re-reads the deployed flows' content hashes: if another
   process changed them since, it plans again (``REPLANS`` times, then once under the lock). Validating
   thousands of files never holds the write lock;
3. records the sync in ``store.syncs``: SUCCESS, PARTIAL (some files invalid, the rest applied), REFUSED
   (would have deleted every deployed flow), SOURCE_ERROR, or FAILED (the store refused; re-raised).

``commit_applied`` of a sync record is *the newest commit the deployed set fully matches*: the commit itself
on SUCCESS; on PARTIAL the previous such commit is carried forward (the invalid files still run an older
revision, each flow row recording the commit it came from); None when nothing was applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sqlalchemy.engine import Connection

from daemon.clock import Clock, SystemClock
from daemon.errors import FlowdError, SourceError, StoreError
from daemon.reconcile.apply import apply_plan, load_deployed, lock_for_sync, old_sources
from daemon.reconcile.collect import Collected, FileChecker
from daemon.reconcile.namespace_files import sync_namespace_files
from daemon.reconcile.plan import (
    DeployedFlow,
    DesiredFlow,
    InvalidFile,
    MassDeleteGuard,
    Plan,
    plan,
    with_diffs,
)
from daemon.store import Store

REPLANS = 3  # plans made outside the lock before one is made under it (see ``_plan_and_apply``)
SyncResult = Literal["SUCCESS", "PARTIAL", "REFUSED", "SOURCE_ERROR", "FAILED"]
EXIT_CODES: dict[str, int] = {"SUCCESS": 0, "PARTIAL": 1, "FAILED": 1, "SOURCE_ERROR": 2, "REFUSED": 2}


class SnapshotLike(Protocol):
    """What the reconciler reads of a source snapshot (``daemon.sources.Snapshot``)."""

    @property
    def commit(self) -> str | None: ...

    @property
    def files(self) -> Mapping[str, bytes]: ...


class SourceLike(Protocol):
    """What the reconciler needs of a source (``daemon.sources.Source``)."""

    def snapshot(self, since: Any = None) -> Any: ...


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    """The result of one sync; ``message`` is the one-line reason of a SOURCE_ERROR / REFUSED."""

    result: SyncResult
    sync_id: int | None
    commit: str | None
    plan: Plan | None = None
    message: str | None = None
    validated: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 all applied, 1 some files invalid, 2 nothing applied (source unreadable, or refused)."""
        return EXIT_CODES[self.result]


class Reconciler:
    """Keeps a store's deployed flows equal to a source. Safe to call repeatedly; not thread-safe."""

    def __init__(
        self,
        store: Store,
        source: SourceLike,
        *,
        prune: bool = True,
        allow_empty: bool = False,
        source_url: str | None = None,
        ref: str | None = None,
        clock: Clock | None = None,
        trust_deployed: bool = True,
        strict: bool = False,
        mass_delete: MassDeleteGuard | None = None,
    ) -> None:
        self.store = store
        self.source = source
        self.prune = prune
        self.allow_empty = allow_empty
        describe = getattr(source, "describe", None)
        self.source_url = source_url or (str(describe()) if callable(describe) else repr(source))
        self.ref = ref if ref is not None else getattr(source, "ref", None)
        self.clock = clock or SystemClock()
        self.trust_deployed = trust_deployed
        self.mass_delete = mass_delete
        self._checker = FileChecker(strict=strict)
        self._snapshot: Any = None

    def plan(self) -> Plan:
        """What a sync would do now; changes nothing. Raises SourceError when the source cannot be read."""
        snapshot = self._read()
        deployed = load_deployed(self.store)  # read-only: no write lock, no transaction needed
        collected = self._collect(snapshot, deployed)
        return self._plan(collected.desired, deployed, collected.invalid)

    def sync(self) -> SyncOutcome:
        """Plan and apply in one transaction, and record the sync. Never raises on bad flow files; a source
        that cannot be read gives a SOURCE_ERROR outcome; a store failure is recorded and raised."""
        started = self.clock.now()
        try:
            snapshot = self._read()
        except SourceError as exc:
            sync_id = self.store.syncs.start(
                source=self.source_url, ref=self.ref, commit_attempted=None, started_at=started
            )
            self.store.syncs.finish(
                sync_id,
                result="SOURCE_ERROR",
                finished_at=self.clock.now(),
                errors=[{"message": exc.message}],
            )
            return SyncOutcome("SOURCE_ERROR", sync_id, None, message=exc.message)
        commit = snapshot.commit
        sync_id = self.store.syncs.start(
            source=self.source_url, ref=self.ref, commit_attempted=commit, started_at=started
        )
        try:
            result, collected = self._plan_and_apply(snapshot, commit)
        except Exception as exc:
            message = exc.message if isinstance(exc, FlowdError) else f"{type(exc).__name__}: {exc}"
            self.store.syncs.finish(
                sync_id, result="FAILED", finished_at=self.clock.now(), errors=[{"message": message}]
            )
            if isinstance(exc, FlowdError):
                raise
            raise StoreError(f"sync failed, nothing was applied: {message}") from exc
        outcome: SyncResult = "REFUSED" if result.refused else "PARTIAL" if result.invalid else "SUCCESS"
        applied = {
            "SUCCESS": commit,
            "PARTIAL": self.store.syncs.last_applied_commit(source=self.source_url),
            "REFUSED": None,
        }[outcome]
        errors = [d.as_dict() for d in result.diagnostics()]
        if result.refused:
            errors.insert(0, {"message": result.refused})
        self.store.syncs.finish(
            sync_id, result=outcome, finished_at=self.clock.now(), commit_applied=applied,
            counts=result.counts, plan=result.as_dict(include_unchanged=False), errors=errors, collapse=True,
        )  # fmt: skip
        return SyncOutcome(
            outcome, sync_id, commit, result, result.refused, collected.validated, dict(result.counts)
        )

    def _plan_and_apply(self, snapshot: SnapshotLike, commit: str | None) -> tuple[Plan, Collected]:
        """Validate and plan outside any transaction, then apply in a short one that first checks the
        deployed flows are still those planned against (content hashes); if another process changed them
        meanwhile, plan again. The last try plans under the lock, so a sync always ends."""
        for attempt in range(REPLANS + 1):
            last = attempt == REPLANS
            deployed = [] if last else load_deployed(self.store)  # a read: no write lock
            if not last:
                collected = self._collect(snapshot, deployed)
                result = self._plan(collected.desired, deployed, collected.invalid)
            with self.store.begin() as conn:
                lock_for_sync(conn)
                current = load_deployed(self.store, conn=conn)
                if last:
                    collected = self._collect(snapshot, current)
                    result = self._plan(collected.desired, current, collected.invalid, conn=conn)
                elif _fingerprint(current) != _fingerprint(deployed):
                    continue  # changed since planned: nothing written, plan again
                if not result.refused:
                    now = self.clock.now()
                    apply_plan(self.store, result, commit=commit, now=now, conn=conn)
                    sync_namespace_files(
                        self.store,
                        self.source,
                        snapshot,
                        collected.desired,
                        commit=commit,
                        now=now,
                        conn=conn,
                    )
            return result, collected
        raise AssertionError("unreachable: the last try always returns")

    def _read(self) -> SnapshotLike:
        snapshot: SnapshotLike = self.source.snapshot(since=self._snapshot)
        self._snapshot = snapshot
        return snapshot

    def _collect(self, snapshot: SnapshotLike, deployed: list[DeployedFlow]) -> Collected:
        return self._checker.collect(snapshot.files, deployed=deployed, trust=self.trust_deployed)

    def _plan(
        self,
        desired: list[DesiredFlow],
        deployed: list[DeployedFlow],
        invalid: list[InvalidFile],
        *,
        conn: Connection | None = None,
    ) -> Plan:
        result = plan(
            desired, deployed, invalid, prune=self.prune, allow_empty=self.allow_empty, guard=self.mass_delete
        )
        return with_diffs(result, old_sources(self.store, result, conn=conn))


def _fingerprint(deployed: list[DeployedFlow]) -> set[tuple[str, str, int, str, str | None, str]]:
    """What a plan depends on of the deployed set: revision, content hash, path and sync state."""
    return {(d.namespace, d.flow_id, d.revision, d.hash, d.path, str(d.sync_state)) for d in deployed}
