"""The Markdown rendering of a review, for a pull request comment (``flowd plan --format markdown``).

The first line is a hidden marker (``MARKER``) that CI jobs look for to update their one comment instead of
adding a new one on every push. Long diffs are collapsed in ``<details>``.
"""

from __future__ import annotations

from daemon.reconcile.review import Review

MARKER = "<!-- flowd-plan -->"
OPEN_DIFF_LINES = 30  # diffs up to this long are shown open; longer ones collapsed


def render_markdown(review: Review, *, title: str = "flowd plan") -> str:
    """The whole comment: summary, a table of changes, diffs, schedule changes, invalid files."""
    plan = review.plan
    out = [MARKER, f"### {title}: {review.summary}", ""]
    if plan.refused:
        out += [f"> **Refused:** {plan.refused}", ""]
    rows = []
    for change in plan.of("create"):
        rows.append(f"| create | `{change.uid}` | `{change.path}` | new |")
    for change in plan.of("update"):
        moved = f"`{change.old_path}` → " if change.old_path else ""
        after = change.revision + 1 if change.revision else "next"
        rows.append(f"| update | `{change.uid}` | {moved}`{change.path}` | {change.revision} → {after} |")
    for change in plan.of("delete"):
        rows.append(f"| **delete** | `{change.uid}` | `{change.path or '-'}` | {change.revision} (removed) |")
    for kept in plan.kept:
        rows.append(f"| keep | `{kept.uid}` | `{kept.invalid_path}` is invalid | deployed revision stays |")
    for uid in plan.orphaned:
        rows.append(f"| leave | `{uid}` | not in the source | pruning is off |")
    if rows:
        out += ["| change | flow | file | revision |", "|---|---|---|---|", *rows, ""]
    else:
        out += ["No flow changes.", ""]
    for change in plan.of("update"):
        diff = review.diffs.get(change.uid, change.diff)
        if not diff:
            continue
        added = sum(1 for line in diff if line.startswith("+"))
        removed = sum(1 for line in diff if line.startswith("-"))
        state = " open" if len(diff) <= OPEN_DIFF_LINES else ""
        out += [
            f"<details{state}><summary><code>{change.uid}</code> (+{added} −{removed})</summary>",
            "",
            "```diff",
            *(_fence_safe(line) for line in diff),
            "```",
            "</details>",
            "",
        ]
    if review.triggers:
        out += ["#### Schedules", "", "| flow | trigger | change | next fire now | next fire after merge |"]
        out += ["|---|---|---|---|---|"]
        for t in review.triggers:
            before = _when(t.next_before, t.schedule_before)
            after = _when(t.next_after, t.schedule_after)
            out.append(f"| `{t.uid}` | `{t.trigger_id}` | {t.change} | {before} | {after} |")
        out.append("")
    if plan.invalid:
        out += ["#### Invalid files (not applied)", ""]
        for diagnostic in plan.diagnostics():
            out.append(
                f"- `{diagnostic.file}:{diagnostic.line}:{diagnostic.column}` {diagnostic.severity}: "
                f"{diagnostic.path + ': ' if diagnostic.path else ''}{_inline(diagnostic.message)}"
            )
        out.append("")
    return "\n".join(out).rstrip() + "\n"


def _when(moment: object, schedule: str | None) -> str:
    if schedule is None:
        return "–"
    if moment is None:
        return f"never (`{schedule}`)"
    text = moment.isoformat().replace("+00:00", "Z") if hasattr(moment, "isoformat") else str(moment)
    return f"{text} (`{schedule}`)"


def _fence_safe(line: str) -> str:
    return line.replace("```", "`` `")


def _inline(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
