"""The plan review: full diffs, schedule changes, the stable JSON document and the Markdown comment
(golden files under tests/reconcile/golden; regenerate with FLOWD_UPDATE_GOLDEN=1 and read the diff)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from daemon.errors import Diagnostic
from daemon.reconcile.hashing import content_hash
from daemon.reconcile.markdown import MARKER, render_markdown
from daemon.reconcile.plan import DeployedFlow, DesiredFlow, InvalidFile, plan
from daemon.reconcile.review import build_review, review_json, schedule_changes

GOLDEN = Path(__file__).parent / "golden"
NOW = datetime(2026, 12, 5, 18, 0, tzinfo=UTC)


def flow(fid: str, body: str = "", *, cron: str | None = None, lines: int = 1) -> str:
    text = f"id: {fid}\nnamespace: team\ntasks:\n"
    for i in range(lines):
        text += f"  - id: log{i}\n    type: io.kestra.plugin.core.log.Log\n    message: {body or 'hi'} {i}\n"
    if cron:
        text += "triggers:\n  - id: nightly\n    type: io.kestra.plugin.core.trigger.Schedule\n"
        text += f'    cron: "{cron}"\n'
    return text


def desired(fid: str, text: str) -> DesiredFlow:
    return DesiredFlow("team", fid, f"flows/{fid}.yml", text, content_hash(text))


def deployed(fid: str, text: str, revision: int = 3) -> DeployedFlow:
    return DeployedFlow("team", fid, revision, content_hash(text), f"flows/{fid}.yml")


OLD = {
    "kept": flow("kept"),
    "edited": flow("edited", cron="0 2 * * *"),
    "long": flow("long", lines=30),
    "gone": flow("gone", cron="*/15 * * * *"),
}
NEW = {
    "kept": OLD["kept"],
    "edited": flow("edited", "hello", cron="30 3 * * 1-5"),
    "long": flow("long", "changed", lines=30),
    "fresh": flow("fresh", cron="0 0 1 * *"),
}
BROKEN = InvalidFile(
    "flows/broken.yml",
    (Diagnostic("flows/broken.yml", 5, 11, "error", "tasks[0].type", "unsupported task type 'x.Nope'"),),
    None,
)


def the_review() -> object:
    result = plan(
        [desired(k, v) for k, v in NEW.items()], [deployed(k, v) for k, v in OLD.items()], [BROKEN],
        prune=True, allow_empty=False,
    )  # fmt: skip
    return build_review(result, lambda uid: OLD.get(uid.split("/")[1]), now=NOW)


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("FLOWD_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_markdown_comment_matches_golden() -> None:
    text = render_markdown(the_review())  # type: ignore[arg-type]
    assert text.startswith(MARKER + "\n")
    golden("plan.md", text)


def test_json_document_matches_golden() -> None:
    doc = review_json(the_review())  # type: ignore[arg-type]
    assert doc["formatVersion"] == 1
    golden("plan.json", json.dumps(doc, indent=2) + "\n")


def test_long_diffs_are_collapsed_and_short_ones_open() -> None:
    text = render_markdown(the_review())  # type: ignore[arg-type]
    assert "<details open><summary><code>team/edited</code>" in text
    assert "<details><summary><code>team/long</code> (+30 −30)</summary>" in text


def test_schedule_changes() -> None:
    changes = schedule_changes("team/x", flow("x", cron="0 2 * * *"), flow("x", cron="0 2 * * *"), now=NOW)
    assert changes == []  # same schedule: nothing to say even when the rest of the flow changed
    [moved] = schedule_changes("team/x", flow("x", cron="0 2 * * *"), flow("x", cron="0 4 * * *"), now=NOW)
    assert (moved.change, moved.next_before, moved.next_after) == (
        "changed", datetime(2026, 12, 6, 2, tzinfo=UTC), datetime(2026, 12, 6, 4, tzinfo=UTC),
    )  # fmt: skip
    [gone] = schedule_changes("team/x", flow("x", cron="0 2 * * *"), None, now=NOW)
    assert (gone.change, gone.next_after) == ("removed", None)
    disabled = flow("x", cron="0 2 * * *") + "    disabled: true\n"
    [off] = schedule_changes("team/x", flow("x", cron="0 2 * * *"), disabled, now=NOW)
    assert off.next_after is None and off.schedule_after == "0 2 * * * (UTC), disabled"
