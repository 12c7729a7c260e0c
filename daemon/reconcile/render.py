"""Text rendering of a plan and of a sync outcome (``flowd plan`` / ``flowd sync``); JSON is ``Plan.as_dict``.

Unchanged flows are only counted: a repository of thousands of flows should print a screenful, not a list.
Invalid files print their diagnostics as ``flowd validate`` does (``file:line:col: error: field: msg``).
"""

from __future__ import annotations

from daemon.reconcile.plan import Plan


def summary(plan: Plan) -> str:
    """``2 to create, 1 to update, 0 to delete, 7 unchanged`` (+ invalid / out-of-date counts when any)."""
    c = plan.counts
    text = f"{c['create']} to create, {c['update']} to update, {c['delete']} to delete"
    text += f", {c['unchanged']} unchanged"
    if c["invalid"]:
        text += f", {c['invalid']} invalid file{'s' if c['invalid'] != 1 else ''}"
    if c["out_of_date"]:
        text += f", {c['out_of_date']} kept out of date"
    if c["orphaned"]:
        text += f", {c['orphaned']} not pruned"
    return text


def plan_lines(plan: Plan) -> list[str]:
    """The plan, one change per line, update diffs indented under their flow."""
    lines = [f"Plan: {summary(plan)}"]
    for change in plan.changes:
        where = change.path or "-"
        if change.old_path:
            where = f"{change.old_path} -> {where}"
        if change.action == "create":
            lines.append(f"  + create  {change.uid}  ({where})")
        elif change.action == "update":
            lines.append(f"  ~ update  {change.uid}  ({where}, revision {change.revision} -> next)")
            lines.extend(f"      {line}" for line in change.diff)
        elif change.action == "delete":
            lines.append(f"  - delete  {change.uid}  (revision {change.revision}, was {where})")
        elif change.refresh:
            lines.append(f"  = refresh {change.uid}  ({where}; same content, no new revision)")
    for kept in plan.kept:
        lines.append(f"  ! keep    {kept.uid}  (OUT_OF_DATE: {kept.invalid_path} is invalid)")
    for uid in plan.orphaned:
        lines.append(f"  ? leave   {uid}  (not in the source; pruning is off)")
    if plan.invalid:
        # errors are why a file is invalid; its warnings are listed apart, as flowd validate says them
        diagnostics = plan.diagnostics()
        lines.append("Invalid files (not applied):")
        lines.extend(d.render() for d in diagnostics if d.severity == "error")
        warnings = [d.render() for d in diagnostics if d.severity != "error"]
        if warnings:
            lines.append("Warnings in those files (not why they are invalid):")
            lines.extend(warnings)
    if plan.refused:
        lines.append(f"Refused: {plan.refused}")
    return lines
