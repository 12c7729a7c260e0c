"""The review of a plan, pure: what a pull request's merge would change, with full diffs and the schedules
whose next fire time moves. ``flowd plan --format json|markdown`` renders it.

The JSON form is a stable, documented contract (``FORMAT_VERSION``; fields are only ever added):

```
{"formatVersion": 1, "summary": "1 to create, ...", "refused": null, "counts": {...},
 "created": [{"uid", "path"}], "updated": [{"uid", "path", "oldPath", "revision", "diff": [lines]}],
 "deleted": [{"uid", "path", "revision"}], "kept": [{"uid", "invalidPath"}], "orphaned": [uid],
 "invalid": [{"path", "uid", "diagnostics": [{"file","line","column","severity","path","message","hint"}]}],
 "triggers": [{"uid", "triggerId", "change": "added|removed|changed", "nextBefore", "nextAfter",
               "scheduleBefore", "scheduleAfter"}]}
```
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from daemon.reconcile.plan import Plan
from daemon.reconcile.render import summary

FORMAT_VERSION = 1


@dataclass(frozen=True, slots=True)
class TriggerChange:
    """A schedule whose next fire time the merge changes (added, removed, or moved)."""

    uid: str
    trigger_id: str
    change: str
    next_before: datetime | None
    next_after: datetime | None
    schedule_before: str | None
    schedule_after: str | None


@dataclass(frozen=True, slots=True)
class Review:
    plan: Plan
    diffs: dict[str, tuple[str, ...]]  # uid -> full unified diff of an update
    triggers: tuple[TriggerChange, ...]

    @property
    def summary(self) -> str:
        return summary(self.plan)


def build_review(plan: Plan, old_source: Callable[[str], str | None], *, now: datetime) -> Review:
    """Full diffs of the updated flows and the schedule changes of every created, updated or deleted flow;
    ``old_source(uid)`` gives a deployed flow's YAML (None when unknown)."""
    diffs: dict[str, tuple[str, ...]] = {}
    triggers: list[TriggerChange] = []
    for change in plan.changes:
        if change.action == "unchanged":
            continue
        old = old_source(change.uid) if change.action in ("update", "delete") else None
        new = change.desired.source if change.desired is not None else None
        if change.action == "update" and old is not None and new is not None:
            diffs[change.uid] = unified_diff(old, new, path=change.path or change.uid)
        triggers.extend(schedule_changes(change.uid, old, new, now=now))
    return Review(plan, diffs, tuple(triggers))


def unified_diff(old: str, new: str, *, path: str) -> tuple[str, ...]:
    """A whole unified diff (three lines of context) without the file header."""
    lines = difflib.unified_diff(
        old.splitlines(), new.splitlines(), fromfile=f"a/{path}", tofile=f"b/{path}", lineterm=""
    )
    return tuple(lines)[2:]


def schedule_changes(uid: str, old: str | None, new: str | None, *, now: datetime) -> list[TriggerChange]:
    """The schedules of two versions of a flow whose next fire time after ``now`` differs."""
    before, after = _schedules(old, now), _schedules(new, now)
    out = []
    for trigger_id in sorted(before.keys() | after.keys()):
        was, will = before.get(trigger_id), after.get(trigger_id)
        if was == will:
            continue
        change = "added" if was is None else "removed" if will is None else "changed"
        out.append(
            TriggerChange(
                uid,
                trigger_id,
                change,
                was[0] if was else None,
                will[0] if will else None,
                was[1] if was else None,
                will[1] if will else None,
            )
        )
    return out


def _schedules(source: str | None, now: datetime) -> dict[str, tuple[datetime | None, str]]:
    """trigger id -> (next fire time or None when disabled, "cron in tz") of a flow's Schedule triggers."""
    if source is None:
        return {}
    from daemon.errors import FlowdError
    from daemon.language.model import ScheduleTrigger
    from daemon.language.validate import validate_text
    from daemon.schedule.ticks import next_tick, parse_cron

    flow = validate_text(source, "<review>").flow
    if flow is None:
        return {}
    out: dict[str, tuple[datetime | None, str]] = {}
    for trigger in flow.triggers:
        if not isinstance(trigger, ScheduleTrigger):
            continue
        described = f"{trigger.cron} ({trigger.timezone})"
        if trigger.disabled or flow.disabled:
            out[trigger.id] = (None, described + ", disabled")
            continue
        try:
            spec = parse_cron(trigger.cron, with_seconds=trigger.withSeconds)
            out[trigger.id] = (next_tick(spec, trigger.timezone, now), described)
        except FlowdError:
            out[trigger.id] = (None, described)
    return out


def review_json(review: Review) -> dict[str, Any]:
    """The stable JSON document of a review (see the module docstring)."""
    plan = review.plan
    return {
        "formatVersion": FORMAT_VERSION,
        "summary": review.summary,
        "refused": plan.refused,
        "counts": dict(plan.counts),
        "created": [{"uid": c.uid, "path": c.path} for c in plan.of("create")],
        "updated": [
            {
                "uid": c.uid,
                "path": c.path,
                "oldPath": c.old_path,
                "revision": c.revision,
                "diff": list(review.diffs.get(c.uid, c.diff)),
            }
            for c in plan.of("update")
        ],
        "deleted": [{"uid": c.uid, "path": c.path, "revision": c.revision} for c in plan.of("delete")],
        "kept": [{"uid": k.uid, "invalidPath": k.invalid_path} for k in plan.kept],
        "orphaned": list(plan.orphaned),
        "invalid": [
            {"path": f.path, "uid": f.uid, "diagnostics": [d.as_dict() for d in f.diagnostics]}
            for f in plan.invalid
        ],
        "triggers": [
            {
                "uid": t.uid,
                "triggerId": t.trigger_id,
                "change": t.change,
                "nextBefore": _iso(t.next_before),
                "nextAfter": _iso(t.next_after),
                "scheduleBefore": t.schedule_before,
                "scheduleAfter": t.schedule_after,
            }
            for t in review.triggers
        ],
    }


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment is not None else None
