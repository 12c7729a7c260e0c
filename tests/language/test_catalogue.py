"""``flowd plugins`` and the compatibility table read the same registry; the table's generated part agrees."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from daemon.cli.main import cli
from daemon.language import validate_text
from daemon.language.catalogue import catalogue, find, render_markdown
from daemon.language.model import TRIGGER_CLASSES
from daemon.language.structure import COMPATIBILITY_DOC
from daemon.language.tasks import TASK_CLASSES
from daemon.language.tasks_flow import IfTask, SwitchTask

ROOT = Path(__file__).resolve().parents[2]
MARK = "## Supported types (generated)"


def test_generated_table_agrees_with_the_registry() -> None:
    text = (ROOT / COMPATIBILITY_DOC).read_text()
    assert MARK in text
    section = text.split(MARK, 1)[1]
    assert section.split("\n\n", 2)[2] == render_markdown(), "run: flowd plugins --format markdown"


def test_catalogue_covers_every_registered_type() -> None:
    assert {e.type for e in catalogue()} == set(TASK_CLASSES) | set(TRIGGER_CLASSES)


def test_every_example_validates() -> None:
    """Each type's example, wrapped in a flow, passes flowd validate."""
    for entry in catalogue():
        snippet = "\n".join("    " + line for line in entry.example().splitlines())
        snippet = "  - " + snippet.lstrip()
        if entry.kind == "task":
            text = f"id: ex\nnamespace: company.team\ntasks:\n{snippet}\n"
        else:
            log = "  - {id: t, type: io.kestra.plugin.core.log.Log, message: m}\n"
            text = f"id: ex\nnamespace: company.team\ntasks:\n{log}triggers:\n{snippet}\n"
        result = validate_text(text)
        assert result.ok, (entry.type, [d.render() for d in result.errors])


def test_find_by_short_and_legacy_names() -> None:
    assert [e.type for e in find("Switch")] == ["io.kestra.plugin.core.flow.Switch"]
    assert find("io.kestra.core.tasks.log.Log")[0].type == "io.kestra.plugin.core.log.Log"
    slack = find("io.kestra.plugin.slack.notifications.SlackIncomingWebhook")
    assert slack and "io.kestra.plugin.slack.notifications.SlackIncomingWebhook" in slack[0].aliases
    assert find("io.kestra.plugin.kafka.Trigger") == []


def test_cli_lists_and_shows_one_type() -> None:
    runner = CliRunner()
    listing = runner.invoke(cli, ["plugins"])
    assert listing.exit_code == 0 and "io.kestra.plugin.core.log.Log  [task, supported]" in listing.output
    one = runner.invoke(cli, ["plugins", "log.Log"])
    assert one.exit_code == 0
    assert "message: string | list  (required)" in one.output and "example:" in one.output
    assert "io.kestra.core.tasks.log.Log" in one.output
    data = json.loads(runner.invoke(cli, ["plugins", "Sleep", "--format", "json"]).output)
    assert data[0]["properties"][0] == {"name": "duration", "type": "duration", "required": True}
    missing = runner.invoke(cli, ["plugins", "io.kestra.plugin.gcp.bigquery.Query"])
    assert missing.exit_code == 2 and "flowd plugins" in missing.output


def test_task_lists_read_the_same_once_their_model_is_built() -> None:
    # validating a flow builds the task types it uses, which resolves their ``list[Task]`` annotations
    for cls in (IfTask, SwitchTask):
        cls.model_rebuild(force=True)
    (entry,) = find("io.kestra.plugin.core.flow.If")
    assert {p.name: p.type for p in entry.properties}["then"] == "list of tasks"
    (entry,) = find("io.kestra.plugin.core.flow.Switch")
    assert {p.name: p.type for p in entry.properties}["cases"] == "map of task lists"
