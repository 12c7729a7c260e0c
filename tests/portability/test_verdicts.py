"""Flowd's verdict on a flow agrees with Kestra's: each test reproduces one of Kestra's validation rules
with a flow of our own (valid flows using supported types validate; invalid ones fail for the same reason)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from daemon.cli.main import cli
from daemon.errors import Diagnostic
from daemon.language import validate_paths, validate_text
from daemon.language.validate import ValidationResult

HEAD = "id: verdict\nnamespace: company.team\n"


def check(body: str, head: str = HEAD) -> ValidationResult:
    return validate_text(head + textwrap.dedent(body), "verdict.yml")


def errors(body: str, head: str = HEAD) -> list[Diagnostic]:
    result = check(body, head)
    assert result.flow is None, "Kestra rejects this flow; flowd accepted it"
    return result.errors


def only_error(body: str, head: str = HEAD) -> Diagnostic:
    found = errors(body, head)
    assert len(found) == 1, [d.render() for d in found]
    return found[0]


# --- valid flows ------------------------------------------------------------------------------------------


VALID_ETL = """
labels:
  team: data
  owner: ops
inputs:
  - id: colour
    type: SELECT
    displayName: Taxi colour
    values: [yellow, green]
    defaults: yellow
  - id: month
    type: ENUM
    values: ["01", "02"]
    defaults: "01"
    allowCustomValue: true
  - id: dry
    type: BOOL
    defaults: false
  - id: settings
    type: YAML
    required: false
  - id: notify
    type: EMAIL
    required: false
    prefill: ops@example.com
  - id: region
    type: STRING
    defaults: eu
    dependsOn:
      inputs: [colour]
      condition: "{{ inputs.colour == 'yellow' }}"
variables:
  file: "{{ inputs.colour }}_tripdata_{{ inputs.month }}.csv"
tasks:
  - id: fetch
    type: io.kestra.plugin.core.http.Download
    uri: "http://127.0.0.1:9/{{ render(vars.file) }}.gz"
  - id: guarded
    type: io.kestra.plugin.core.flow.AllowFailure
    tasks:
      - id: shout
        type: io.kestra.plugin.core.debug.Echo
        format: "{{ outputs.fetch.uri }}"
    errors:
      - id: on_error
        type: io.kestra.plugin.core.log.Log
        message: "{{ errorLogs() }}"
    finally:
      - id: tidy
        type: io.kestra.plugin.core.log.Log
        message: done
  - id: stop_early
    type: io.kestra.plugin.core.execution.Exit
    condition: "{{ inputs.dry }}"
    state: KILLED
  - id: load
    type: io.kestra.plugin.jdbc.duckdb.Query
    sql: SELECT 1
  - id: purge
    type: io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles
afterExecution:
  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "{{ execution.state }}"
triggers:
  - id: monthly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 9 1 * *"
  - id: once
    type: io.kestra.plugin.core.trigger.ScheduleOnDates
    dates: ["2025-03-01T09:00:00Z"]
"""


def test_valid_flow_with_supported_types_validates() -> None:
    """A flow using the supported core tasks, triggers, input types and input properties is valid."""
    result = check(VALID_ETL)
    assert result.ok and result.flow is not None, [d.render() for d in result.diagnostics]
    assert result.warnings == []
    types = {i.id: i.type for i in result.flow.inputs}
    assert types["month"] == "SELECT" and types["dry"] == "BOOLEAN"


def test_legacy_names_validate_with_a_warning_naming_the_current_one() -> None:
    """Kestra keeps its pre-0.17 type names as aliases (the editor shows a note); so does flowd."""
    result = check(
        """
        tasks:
          - id: hello
            type: io.kestra.core.tasks.log.Log
            message: hi
          - id: legacy_shell
            type: io.kestra.core.tasks.scripts.Bash
            commands: ["echo hi"]
            exitOnFailed: true
            interpreter: /bin/sh
            inputFiles:
              data.txt: "x"
        triggers:
          - id: nightly
            type: io.kestra.core.models.triggers.types.Schedule
            cron: "@daily"
            conditions:
              - type: io.kestra.core.models.conditions.types.VariableCondition
                expression: "{{ true }}"
        """
    )
    assert result.ok and result.flow is not None, [d.render() for d in result.diagnostics]
    assert "io.kestra.plugin.core.log.Log" in result.warnings[0].message
    assert any("io.kestra.plugin.core.condition.Expression" in w.message for w in result.warnings)


# --- invalid flows -----------------------------------------------------------------------------------------


def test_rule_task_ids_are_unique_within_a_flow_nested_ones_included() -> None:
    """Kestra: 'Duplicate task id with name [...]' (ids are unique across all nesting levels)."""
    error = only_error(
        """
        tasks:
          - id: same
            type: io.kestra.plugin.core.log.Log
            message: a
          - id: group
            type: io.kestra.plugin.core.flow.Sequential
            tasks:
              - id: same
                type: io.kestra.plugin.core.log.Log
                message: b
        """
    )
    assert "duplicate task id 'same'" in error.message and error.line == 11


def test_rule_trigger_and_input_ids_are_unique() -> None:
    """Kestra rejects duplicate input ids and duplicate trigger ids."""
    found = errors(
        """
        inputs:
          - {id: x, type: STRING}
          - {id: x, type: INT}
        tasks:
          - {id: t, type: io.kestra.plugin.core.log.Log, message: m}
        triggers:
          - {id: s, type: io.kestra.plugin.core.trigger.Schedule, cron: "@daily"}
          - {id: s, type: io.kestra.plugin.core.trigger.Schedule, cron: "@hourly"}
        """
    )
    messages = sorted(d.message for d in found)
    assert any("duplicate input id 'x'" in m for m in messages)
    assert any("duplicate trigger id 's'" in m for m in messages)


@pytest.mark.parametrize(
    ("where", "bad"),
    [("task", "has space"), ("task", "_leading"), ("task", "x" * 101), ("input", "a b"), ("input", ".a")],
)
def test_rule_ids_match_kestras_id_pattern(where: str, bad: str) -> None:
    """Kestra: ids match ^[a-zA-Z0-9][a-zA-Z0-9_-]* (at most 100 characters); input ids may hold dots."""
    inputs = f"inputs:\n  - id: '{bad}'\n    type: STRING\n" if where == "input" else ""
    task_id = "ok" if where == "input" else bad
    error = only_error(
        f"{inputs}tasks:\n  - id: '{task_id}'\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"
    )
    assert "is not a valid" in error.message or "at most 100" in error.message


def test_rule_namespace_pattern() -> None:
    """Kestra: a namespace is lowercase letters, digits, '.', '_' and '-'."""
    error = only_error(
        "tasks:\n  - {id: t, type: io.kestra.plugin.core.log.Log, message: m}\n",
        head="id: f\nnamespace: Company Team\n",
    )
    assert "not a valid namespace" in error.message


@pytest.mark.parametrize(
    ("body", "property_name"),
    [
        ("tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n", "message"),
        ("tasks:\n  - id: t\n    type: io.kestra.plugin.core.http.Download\n", "uri"),
        ("tasks:\n  - id: t\n    type: io.kestra.plugin.core.flow.Subflow\n    flowId: child\n", "namespace"),
        ("tasks:\n  - {id: t, type: io.kestra.plugin.core.log.Log, message: m}\n"
         "triggers:\n  - {id: s, type: io.kestra.plugin.core.trigger.Schedule}\n", "cron"),
    ],
)  # fmt: skip
def test_rule_required_properties(body: str, property_name: str) -> None:
    """Kestra's @NotNull properties: a task or trigger missing one is rejected, naming it."""
    error = only_error(body)
    assert f"missing required property '{property_name}'" in error.message


def test_rule_a_flow_needs_id_namespace_and_tasks() -> None:
    """Kestra: id, namespace and a non-empty task list are required."""
    found = errors("description: nothing else\n", head="")
    text = " ".join(d.message for d in found)
    assert "'id'" in text and "'namespace'" in text and "'tasks'" in text
    assert "at least 1 item" in only_error("tasks: []\n").message


def test_rule_flowable_needs_its_children() -> None:
    """Kestra: a Parallel/If/ForEach without its task list is invalid."""
    error = only_error("tasks:\n  - id: p\n    type: io.kestra.plugin.core.flow.Parallel\n    tasks: []\n")
    assert "at least 1 item" in error.message


def test_rule_recursive_subflow() -> None:
    """Kestra: 'Recursive call to flow [...]' — a flow cannot call itself as a subflow."""
    error = only_error(
        """
        tasks:
          - id: again
            type: io.kestra.plugin.core.flow.Subflow
            namespace: company.team
            flowId: verdict
        """
    )
    assert "recursive subflow" in error.message


@pytest.mark.parametrize("where", ["flow", "trigger", "subflow"])
def test_rule_system_labels_are_reserved(where: str) -> None:
    """Kestra: labels starting with 'system.' are set by Kestra only."""
    task = "  - {id: t, type: io.kestra.plugin.core.log.Log, message: m}\n"
    if where == "flow":
        body = "labels:\n  system.correlationId: x\ntasks:\n" + task
    elif where == "trigger":
        body = (
            "tasks:\n" + task + "triggers:\n  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n"
            "    cron: '@daily'\n    labels:\n      system.username: me\n"
        )
    else:
        body = (
            "tasks:\n  - id: c\n    type: io.kestra.plugin.core.flow.Subflow\n    namespace: company.team\n"
            "    flowId: child\n    labels:\n      system.username: me\n"
        )
    error = only_error(body)
    assert "reserved 'system.' prefix" in error.message


def test_rule_duplicate_keys_anywhere() -> None:
    """Kestra's YAML parser refuses duplicate keys at any depth (the flow, a task, a nested mapping)."""
    top = errors("tasks:\n  - {id: t, type: io.kestra.plugin.core.log.Log, message: m}\nnamespace: other\n")
    assert any("duplicate key 'namespace'" in d.message for d in top)
    nested = errors(
        """
        tasks:
          - id: call
            type: io.kestra.plugin.core.http.Request
            uri: http://127.0.0.1:9/x
            headers:
              Accept: text/csv
              Accept: application/json
        """
    )
    assert any("duplicate key 'Accept'" in d.message for d in nested)


def test_rule_unquoted_expression_is_a_mapping_and_the_message_says_to_quote_it() -> None:
    """Kestra: `message: {{ x }}` is a YAML flow mapping, not a string; it must be quoted."""
    error = only_error(
        "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: {{ flow.id }}\n"
    )
    assert "quote" in (error.hint or "") + error.message


def test_rule_input_validator_must_be_a_regular_expression() -> None:
    """Kestra: a STRING input's validator is a regex; an invalid one is rejected."""
    error = only_error(
        "inputs:\n  - {id: code, type: STRING, validator: '^[A-Z+$'}\n"
        "tasks:\n  - {id: t, type: io.kestra.plugin.core.log.Log, message: m}\n"
    )
    assert "validator is not a valid regular expression" in error.message


def test_rule_input_defaults_fit_the_type() -> None:
    """Kestra: an input default must be of the input's type (and one of a SELECT's values)."""
    found = errors(
        "inputs:\n  - {id: n, type: INT, defaults: many}\n"
        "  - {id: c, type: SELECT, values: [a, b], defaults: z}\n"
        "tasks:\n  - {id: t, type: io.kestra.plugin.core.log.Log, message: m}\n"
    )
    assert len(found) == 2


def test_rule_unknown_property() -> None:
    """Kestra: 'Unrecognized field' — a typo in a property name is an error, with a suggestion."""
    error = only_error(
        "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n    levle: WARN\n"
    )
    assert "unknown property 'levle'" in error.message
    assert error.hint == "did you mean 'level'?"


@pytest.mark.parametrize("cron", ["0 9 1 *", "61 * * * *", "@sometimes"])
def test_rule_invalid_cron(cron: str) -> None:
    """Kestra: 'invalid cron expression' for a Schedule trigger."""
    error = only_error(
        "tasks:\n  - {id: t, type: io.kestra.plugin.core.log.Log, message: m}\n"
        f"triggers:\n  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '{cron}'\n"
    )
    assert "cron" in error.message and error.path == "triggers[0].cron"


def test_rule_invalid_timezone_and_duration() -> None:
    """Kestra: a Schedule timezone is a zone id; durations are ISO-8601."""
    found = errors(
        "tasks:\n  - {id: t, type: io.kestra.plugin.core.flow.Sleep, duration: 5 minutes}\n"
        "triggers:\n  - {id: s, type: io.kestra.plugin.core.trigger.Schedule, cron: '@daily',"
        " timezone: Mars/Olympus}\n"
    )
    text = " ".join(d.message for d in found)
    assert "ISO-8601 duration" in text and "unknown timezone" in text


def test_rule_unknown_type_points_to_the_compatibility_table() -> None:
    """Kestra: 'Invalid type' for a type no plugin provides; flowd points to 'flowd plugins'."""
    error = only_error("tasks:\n  - id: t\n    type: io.kestra.plugin.core.storage.Concat\n    files: []\n")
    assert "unsupported task type" in error.message
    assert "flowd plugins" in (error.hint or "")
    legacy = errors("tasks:\n  - id: t\n    type: io.kestra.core.tasks.storages.Concat\n    files: []\n")
    assert "now named 'io.kestra.plugin.core.storage.Concat'" in legacy[0].message


def test_rule_invalid_expression_syntax() -> None:
    """Kestra fails a flow whose Pebble expression does not parse (when rendered); flowd says so early."""
    error = only_error(
        "tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: '{{ 1 + }}'\n"
    )
    assert "invalid expression" in error.message


# --- through files and the CLI ------------------------------------------------------------------------------


def test_validate_paths_flags_a_subflow_to_a_flow_defined_twice(tmp_path: Path) -> None:
    """Kestra keys flows by namespace and id: two files defining the same flow conflict."""
    body = "tasks:\n  - {id: t, type: io.kestra.plugin.core.log.Log, message: m}\n"
    (tmp_path / "a.yml").write_text(HEAD + body)
    (tmp_path / "b.yaml").write_text(HEAD + body)
    results = validate_paths([tmp_path])
    assert all(r.flow is None and "also defined in" in r.errors[0].message for r in results)


def test_cli_accepts_the_valid_etl_and_rejects_an_unsupported_type(tmp_path: Path) -> None:
    """``flowd validate``: exit 0 on the valid flow, 1 with the doc's name on an unsupported type."""
    (tmp_path / "etl.yml").write_text(HEAD + textwrap.dedent(VALID_ETL))
    ok = CliRunner().invoke(cli, ["validate", str(tmp_path / "etl.yml")])
    assert ok.exit_code == 0, ok.output
    (tmp_path / "bad.yml").write_text(
        "id: bad\nnamespace: company.team\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Fetch\n"
    )
    bad = CliRunner().invoke(cli, ["validate", str(tmp_path)])
    assert bad.exit_code == 1
    assert "unsupported task type 'io.kestra.plugin.core.log.Fetch'" in bad.output
    assert "flowd plugins" in bad.output
