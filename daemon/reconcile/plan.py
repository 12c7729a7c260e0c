"""Planning a sync, pure: the desired flows of a commit against the deployed set -> what to create, update,
delete, leave alone, and which files are refused.

Rules (each has a test):
- identity is ``namespace/id``; content is the hash of the normalised source (see ``hashing``);
- an invalid file never takes down the flow it used to deploy: a deployed flow whose recorded path is an
  invalid file, or whose ``namespace/id`` an invalid file still declares, is *kept* (sync_state OUT_OF_DATE);
- two files declaring the same ``namespace/id`` are both refused (the deployed revision stays, as above);
- a file that held a deployed flow and no longer validates keeps that flow (whatever became of it: emptied,
  binary, a typo); a flow is deleted only when its file is gone or a valid file no longer defines it;
- ``prune=False`` never deletes; a plan that would leave nothing deployed (every deployed flow deleted and
  nothing created: an empty folder, a wrong path or branch) is *refused* unless ``allow_empty``;
- a plan deleting more than ``MassDeleteGuard.share`` of the deployed flows (at least ``minimum`` of them),
  or more than ``max_count`` flows, is *refused* unless the guard is ``allowed``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from daemon.errors import Diagnostic
from daemon.reconcile.diff import short_diff
from daemon.reconcile.triggers import TriggerDef

Action = Literal["create", "update", "delete", "unchanged"]
ACTIONS: tuple[Action, ...] = ("create", "update", "delete", "unchanged")


@dataclass(frozen=True, slots=True)
class DesiredFlow:
    """A valid flow of the source. ``triggers`` is None when the file was not re-validated because its
    content is the one already deployed from that path (it can then only be ``unchanged``)."""

    namespace: str
    flow_id: str
    path: str
    source: str
    hash: str
    triggers: tuple[TriggerDef, ...] | None = None

    @property
    def uid(self) -> str:
        return f"{self.namespace}/{self.flow_id}"


@dataclass(frozen=True, slots=True)
class DeployedFlow:
    """What planning needs of a live deployed flow; without ``source`` an update has no diff until
    ``with_diffs`` adds it (a sync reads the sources of the updated flows only)."""

    namespace: str
    flow_id: str
    revision: int
    hash: str
    path: str | None
    source: str | None = None
    sync_state: str = "SYNCED"

    @property
    def uid(self) -> str:
        return f"{self.namespace}/{self.flow_id}"


@dataclass(frozen=True, slots=True)
class InvalidFile:
    """A flow file that cannot be deployed; ``uid`` when its YAML could be read that far; ``former``: the
    deployed flow whose recorded path this file is (kept deployed while the file is invalid)."""

    path: str
    diagnostics: tuple[Diagnostic, ...]
    uid: str | None = None
    former: str | None = None
    looks_like_flow: bool = True


@dataclass(frozen=True, slots=True)
class FlowChange:
    """One flow in the plan. ``refresh``: unchanged content whose row still needs its path or sync_state
    brought up to date (a moved file, a file that is valid again); this never makes a revision."""

    action: Action
    namespace: str
    flow_id: str
    path: str | None
    hash: str
    old_path: str | None = None
    revision: int | None = None
    diff: tuple[str, ...] = ()
    refresh: bool = False
    desired: DesiredFlow | None = None

    @property
    def uid(self) -> str:
        return f"{self.namespace}/{self.flow_id}"


@dataclass(frozen=True, slots=True)
class KeptFlow:
    """A deployed flow left as it is because its file is invalid (marked OUT_OF_DATE)."""

    namespace: str
    flow_id: str
    invalid_path: str
    already_out_of_date: bool

    @property
    def uid(self) -> str:
        return f"{self.namespace}/{self.flow_id}"


@dataclass(frozen=True, slots=True)
class MassDeleteGuard:
    """When a sync deletes too much to be anything but an accident (Argo CD's and Flux's users ask for it).

    Refused: more than ``share`` of the deployed flows and at least ``minimum`` of them (deleting one or
    two flows of a small set is ordinary work), or more than ``max_count`` flows; unless ``allowed``."""

    share: float = 0.25
    max_count: int = 50
    minimum: int = 3
    allowed: bool = False

    def refusal(self, deletes: int, deployed: int) -> str | None:
        """Why a plan deleting ``deletes`` of ``deployed`` flows is refused, or None."""
        if self.allowed or not deletes:
            return None
        if deletes > self.max_count or (deletes >= self.minimum and deletes > self.share * deployed):
            return (
                f"refusing to delete {deletes} of {deployed} deployed flows (more than "
                f"{self.share:.0%} or more than {self.max_count}): pass --allow-mass-delete "
                "(FLOWD_ALLOW_MASS_DELETE=true) if this is intended"
            )
        return None


@dataclass(frozen=True, slots=True)
class Plan:
    """The whole plan; ``refused`` holds the reason when it must not be applied."""

    changes: tuple[FlowChange, ...] = ()
    invalid: tuple[InvalidFile, ...] = ()
    kept: tuple[KeptFlow, ...] = ()
    orphaned: tuple[str, ...] = ()  # would be deleted, but prune is off
    refused: str | None = None
    counts: dict[str, int] = field(default_factory=dict)

    def of(self, action: Action) -> list[FlowChange]:
        """The changes with that action."""
        return [c for c in self.changes if c.action == action]

    @property
    def has_changes(self) -> bool:
        """True when applying would create, update or delete a flow."""
        return any(c.action != "unchanged" for c in self.changes)

    def diagnostics(self) -> list[Diagnostic]:
        """Every diagnostic of every invalid file, in file order."""
        return [d for f in self.invalid for d in f.diagnostics]

    def as_dict(self, *, include_unchanged: bool = True) -> dict[str, Any]:
        """JSON-ready form (``flowd plan --format json``; the sync record omits the unchanged entries)."""
        changes = [c for c in self.changes if include_unchanged or c.action != "unchanged" or c.refresh]
        return {
            "refused": self.refused,
            "counts": dict(self.counts),
            "changes": [
                {
                    "action": c.action,
                    "uid": c.uid,
                    "path": c.path,
                    "old_path": c.old_path,
                    "revision": c.revision,
                    "hash": c.hash,
                    "diff": list(c.diff),
                    "refresh": c.refresh,
                }
                for c in changes
            ],
            "invalid": [
                {"path": f.path, "uid": f.uid, "diagnostics": [d.as_dict() for d in f.diagnostics]}
                for f in self.invalid
            ],
            "kept": [{"uid": k.uid, "invalid_path": k.invalid_path} for k in self.kept],
            "orphaned": list(self.orphaned),
        }


def plan(
    desired: Sequence[DesiredFlow],
    deployed: Sequence[DeployedFlow],
    invalid: Sequence[InvalidFile],
    *,
    prune: bool,
    allow_empty: bool,
    guard: MassDeleteGuard | None = None,
) -> Plan:
    """Compare the source's valid flows with the deployed ones; see the module docstring for the rules."""
    claimed = {d.uid for d in desired}
    # a file that is no flow at all and deployed a flow now defined elsewhere (the flow moved) is no news
    invalid = [f for f in invalid if f.looks_like_flow or f.former not in claimed]
    valid, refused_files = _refuse_duplicates(desired, invalid)
    live = {d.uid: d for d in deployed}
    changes: list[FlowChange] = []
    for want in sorted(valid, key=_identity):
        have = live.get(want.uid)
        changes.append(_change(want, have))
    invalid_by_path = {f.path: f for f in refused_files}
    invalid_by_uid = {f.uid: f for f in refused_files if f.uid}
    wanted = {d.uid for d in valid}
    kept: list[KeptFlow] = []
    orphaned: list[str] = []
    for have in sorted(deployed, key=_identity):
        if have.uid in wanted:
            continue
        culprit = invalid_by_path.get(have.path or "") or invalid_by_uid.get(have.uid)
        if culprit is not None:
            kept.append(
                KeptFlow(have.namespace, have.flow_id, culprit.path, have.sync_state == "OUT_OF_DATE")
            )
        elif prune:
            changes.append(
                FlowChange(
                    "delete", have.namespace, have.flow_id, have.path, have.hash, revision=have.revision
                )
            )
        else:
            orphaned.append(have.uid)
    result = Plan(
        tuple(changes), tuple(sorted(refused_files, key=lambda f: f.path)), tuple(kept), tuple(orphaned)
    )
    counts: dict[str, int] = {action: len(result.of(action)) for action in ACTIONS}
    counts.update(invalid=len(result.invalid), out_of_date=len(kept), orphaned=len(orphaned))
    refused = None
    if deployed and not allow_empty and counts["delete"] == len(deployed) and not counts["create"]:
        refused = (
            f"refusing to delete all {len(deployed)} deployed flows: the source has no valid flow "
            "(empty folder, wrong --path or --ref?); pass --allow-empty to do it anyway"
        )
    elif not (allow_empty and counts["delete"] == len(deployed)):
        refused = (guard or MassDeleteGuard()).refusal(counts["delete"], len(deployed))
    return replace(result, counts=counts, refused=refused)


def _identity(flow: DesiredFlow | DeployedFlow) -> tuple[str, str]:
    return (flow.namespace, flow.flow_id)


def with_diffs(result: Plan, old_sources: Mapping[str, str]) -> Plan:
    """The plan with a diff on each update whose old source (by uid) is given."""
    changes = tuple(
        replace(c, diff=short_diff(old_sources[c.uid], c.desired.source, path=c.desired.path))
        if c.action == "update" and c.desired is not None and c.uid in old_sources
        else c
        for c in result.changes
    )
    return replace(result, changes=changes)


def _change(want: DesiredFlow, have: DeployedFlow | None) -> FlowChange:
    if have is None:
        return FlowChange("create", want.namespace, want.flow_id, want.path, want.hash, desired=want)
    old_path = have.path if have.path != want.path else None
    if have.hash != want.hash:
        diff = short_diff(have.source, want.source, path=want.path) if have.source is not None else ()
        return FlowChange(
            "update", want.namespace, want.flow_id, want.path, want.hash,
            old_path=old_path, revision=have.revision, diff=diff, desired=want,
        )  # fmt: skip
    refresh = old_path is not None or have.sync_state != "SYNCED"
    return FlowChange(
        "unchanged", want.namespace, want.flow_id, want.path, want.hash,
        old_path=old_path, revision=have.revision, refresh=refresh, desired=want,
    )  # fmt: skip


def _refuse_duplicates(
    desired: Sequence[DesiredFlow], invalid: Sequence[InvalidFile]
) -> tuple[list[DesiredFlow], list[InvalidFile]]:
    """Files sharing a ``namespace/id`` are all refused, valid or not, with a diagnostic naming the others."""
    claims: dict[str, list[str]] = defaultdict(list)
    for d in desired:
        claims[d.uid].append(d.path)
    for f in invalid:
        if f.uid:
            claims[f.uid].append(f.path)
    clashes = {uid: sorted(paths) for uid, paths in claims.items() if len(paths) > 1}
    if not clashes:
        return list(desired), list(invalid)

    def clash(uid: str, path: str) -> Diagnostic:
        others = ", ".join(p for p in clashes[uid] if p != path)
        return Diagnostic(
            path, 1, 1, "error", "id", f"flow {uid} is also defined in {others}; both are refused"
        )

    valid = [d for d in desired if d.uid not in clashes]
    refused = [InvalidFile(d.path, (clash(d.uid, d.path),), d.uid) for d in desired if d.uid in clashes]
    for f in invalid:
        if f.uid in clashes:
            refused.append(replace(f, diagnostics=(*f.diagnostics, clash(f.uid, f.path))))
        else:
            refused.append(f)
    return valid, refused
