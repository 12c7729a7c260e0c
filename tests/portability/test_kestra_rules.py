"""Issue 15, the language side: flows Kestra accepts deploy here, flows it rejects fail here, old forms warn.

Each flow is written here; Kestra's documented behaviour is the oracle (docstrings say which rule).
"""

from __future__ import annotations

import textwrap

import pytest

from daemon.errors import Diagnostic
from daemon.language import validate_text
from daemon.language.validate import ValidationResult
from tests.engine.conftest import Harness

HEAD = "id: rules\nnamespace: company.team\n"
LOG = "  - {id: t, type: io.kestra.plugin.core.log.Log, message: m}\n"


def check(body: str, *, strict: bool = False) -> ValidationResult:
    return validate_text(HEAD + textwrap.dedent(body), "rules.yml", strict=strict)


def accepted(body: str) -> ValidationResult:
    result = check(body)
    assert result.flow is not None, [d.render() for d in result.errors]
    return result


def rejected(body: str) -> list[Diagnostic]:
    result = check(body)
    assert result.flow is None, "Kestra rejects this flow; flowd accepted it"
    return result.errors


def warned(result: ValidationResult, text: str) -> Diagnostic:
    found = [d for d in result.warnings if text in d.message]
    assert found, [d.render() for d in result.diagnostics]
    return found[0]


# --- accept what Kestra accepts ---------------------------------------------------------------------------


def test_system_read_only_label_is_allowed() -> None:
    """Kestra lets a flow set system.readOnly (the flow is then read-only in its UI)."""
    accepted("labels:\n  system.readOnly: 'true'\ntasks:\n" + LOG)


def test_input_ids_with_dots_and_temporal_bounds() -> None:
    """Kestra's own examples use input ids like ``request.name``; DATE/DATETIME/TIME take after/before."""
    result = accepted(
        """
        inputs:
          - id: request.start_date
            type: DATE
            after: 2024-01-01
            before: 2030-01-01
          - {id: at, type: DATETIME, after: "2024-01-01T00:00:00Z"}
          - {id: clock, type: TIME, before: "18:00:00"}
        tasks:
          - {id: t, type: io.kestra.plugin.core.log.Log, message: "{{ inputs.request.start_date }}"}
        """
    )
    assert result.flow is not None and result.flow.inputs[0].id == "request.start_date"
    assert not result.warnings  # the dotted reference is a declared input


def test_after_before_only_on_temporal_inputs() -> None:
    (error,) = rejected("inputs:\n  - {id: n, type: INT, after: 3}\ntasks:\n" + LOG)
    assert "only apply to DATE, DATETIME and TIME" in error.message


def test_pause_with_deprecated_tasks_and_switch_with_null_defaults() -> None:
    """Old Kestra's Pause held ``tasks``; a Switch may write ``defaults: null``."""
    result = accepted(
        """
        tasks:
          - id: wait
            type: io.kestra.plugin.core.flow.Pause
            pauseDuration: PT1S
            tasks:
              - {id: after, type: io.kestra.plugin.core.log.Log, message: m}
          - id: pick
            type: io.kestra.plugin.core.flow.Switch
            value: a
            cases:
              a:
                - {id: x, type: io.kestra.plugin.core.log.Log, message: m}
            defaults: null
        """
    )
    assert "tasks[0].tasks" in {d.path for d in result.warnings}


def test_the_tasks_of_a_pause_are_tasks_of_the_flow() -> None:
    """They run (after the pause): a later task may read their outputs, and their ids must be unique."""
    body = """
        tasks:
          - id: wait
            type: io.kestra.plugin.core.flow.Pause
            tasks:
              - {id: inner, type: io.kestra.plugin.core.debug.Return, format: x}
          - {id: after, type: io.kestra.plugin.core.log.Log, message: "{{ outputs.inner.value }}"}
        """
    assert not [d for d in accepted(body).warnings if "outputs.inner" in d.message]
    duplicate = "\n          - {id: inner, type: io.kestra.plugin.core.log.Log, message: m}\n"
    errors = rejected(body.rstrip() + duplicate)
    assert any("duplicate task id 'inner'" in d.message for d in errors)


def test_lower_case_iso_duration() -> None:
    """Java's Duration.parse reads PT0.25s (any case)."""
    result = accepted("tasks:\n  - {id: s, type: io.kestra.plugin.core.flow.Sleep, duration: PT0.25s}\n")
    assert result.flow is not None and result.flow.tasks[0].duration.total_seconds() == 0.25  # type: ignore[attr-defined]


def test_webhook_response_properties_are_accepted_with_a_warning() -> None:
    result = accepted(
        "tasks:\n" + LOG + "triggers:\n  - id: hook\n    type: io.kestra.plugin.core.trigger.Webhook\n"
        "    key: k\n    wait: true\n    returnOutputs: true\n    responseContentType: text/plain\n"
    )
    assert {d.path for d in result.warnings} >= {"triggers[0].wait", "triggers[0].returnOutputs"}


def test_flow_trigger_inputs_read_the_triggering_execution_outputs() -> None:
    """In a Flow trigger's inputs, ``outputs.x`` are the triggering execution's outputs."""
    result = accepted(
        "tasks:\n" + LOG + "triggers:\n  - id: after\n    type: io.kestra.plugin.core.trigger.Flow\n"
        "    inputs:\n      file: '{{ outputs.extract.uri }}'\n"
    )
    assert not result.warnings


@pytest.mark.parametrize(
    "template",
    [
        "{{ inputs.missing ?? 'none' }}",
        "{{ inputs.missing is defined ? inputs.missing : 'x' }}",
        "{{ inputs.missing | default('x') }}",
        "{% if inputs.missing is defined %}{{ inputs.missing }}{% endif %}",
        "{{ outputs.nothing.value ?? 'none' }}",
    ],
)
def test_guarded_references_are_never_flagged(template: str) -> None:
    result = check(
        f'tasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n    message: "{template}"\n',
        strict=True,
    )
    assert result.flow is not None and not result.diagnostics, [d.render() for d in result.diagnostics]


def test_flowd_own_checks_are_warnings_unless_strict() -> None:
    """Kestra deploys a flow reading an undeclared input; flowd warns, and refuses it only when strict."""
    body = (
        "tasks:\n  - {id: t, type: io.kestra.plugin.core.log.Log, message: '{{ inputs.nope }}'}\n"
        "  - id: i\n    type: io.kestra.plugin.core.flow.If\n    condition: '{{ 1 + }}'\n    then:\n"
        "      - {id: x, type: io.kestra.plugin.core.log.Log, message: '{{ outputs.ghost.value }}'}\n"
    )
    result = accepted(body)
    assert {d.path for d in result.warnings} == {
        "tasks[0].message",
        "tasks[1].condition",
        "tasks[1].then[0].message",
    }
    strict = check(body, strict=True)
    assert strict.flow is None and len(strict.errors) == 3


def test_extend_is_ignored_with_a_warning() -> None:
    result = accepted("extend:\n  title: A blueprint\n  tags: [demo]\ntasks:\n" + LOG)
    assert warned(result, "blueprint").path == "extend"


def test_kestra_current_slack_name_is_an_alias_without_warning() -> None:
    result = accepted(
        "tasks:\n  - id: s\n    type: io.kestra.plugin.slack.notifications.SlackIncomingWebhook\n"
        "    url: https://hooks.example.com/x\n    messageText: hi\n"
    )
    assert result.flow is not None and not result.warnings
    assert result.flow.tasks[0].type == "io.kestra.plugin.notifications.slack.SlackIncomingWebhook"


# --- reject what Kestra rejects ---------------------------------------------------------------------------


def test_input_without_type() -> None:
    (error,) = rejected("inputs:\n  - id: x\ntasks:\n" + LOG)
    assert "missing required property 'type'" in error.message and error.path == "inputs[0].type"


def test_file_input_default_must_be_a_file_uri() -> None:
    (error,) = rejected("inputs:\n  - {id: f, type: FILE, defaults: data.csv}\ntasks:\n" + LOG)
    assert "file URI" in error.message
    accepted("inputs:\n  - {id: f, type: FILE, defaults: 'nsfile:///data.csv'}\ntasks:\n" + LOG)


def test_array_of_arrays() -> None:
    (error,) = rejected("inputs:\n  - {id: a, type: ARRAY, itemType: ARRAY}\ntasks:\n" + LOG)
    assert "itemType cannot be ARRAY" in error.message


@pytest.mark.parametrize(
    ("switch", "text"),
    [
        ("    value: a\n", "at least one case or defaults"),
        ("    value: a\n    cases:\n      a: []\n", "case 'a' has no tasks"),
    ],
)
def test_switch_without_branches_or_with_an_empty_case(switch: str, text: str) -> None:
    (error,) = rejected("tasks:\n  - id: s\n    type: io.kestra.plugin.core.flow.Switch\n" + switch)
    assert text in error.message


def test_duplicate_preconditions_ids() -> None:
    (error,) = rejected(
        "tasks:\n" + LOG + "triggers:\n  - id: up\n    type: io.kestra.plugin.core.trigger.Flow\n"
        "    preconditions:\n      id: both\n      where:\n        - {id: f, filters: []}\n"
        "        - {id: f, filters: []}\n"
    )
    assert "duplicate preconditions id 'f'" in error.message


def test_flowable_directly_inside_working_directory() -> None:
    (error,) = rejected(
        """
        tasks:
          - id: wd
            type: io.kestra.plugin.core.flow.WorkingDirectory
            tasks:
              - id: par
                type: io.kestra.plugin.core.flow.Parallel
                tasks:
                  - {id: t, type: io.kestra.plugin.core.log.Log, message: m}
        """
    )
    assert "only runs runnable tasks" in error.message and error.path == "tasks[0].tasks[0].type"


@pytest.mark.parametrize("where", ["flow", "task"])
def test_worker_group_is_an_enterprise_feature(where: str) -> None:
    body = (
        "workerGroup:\n  key: gpu\ntasks:\n" + LOG
        if where == "flow"
        else "tasks:\n  - {id: t, type: io.kestra.plugin.core.log.Log, message: m, workerGroup: {key: gpu}}\n"
    )
    (error,) = rejected(body)
    assert "Enterprise" in error.message and error.path.endswith("workerGroup")


def test_listeners_were_removed_from_kestra() -> None:
    (error,) = rejected("listeners:\n  - tasks: []\ntasks:\n" + LOG)
    assert "removed from Kestra" in error.message and "unknown property" not in error.message


@pytest.mark.parametrize(
    ("kind", "where", "wrong"),
    [
        ("io.kestra.plugin.gcp.bigquery.Query", "tasks", "jdbc"),
        ("io.kestra.plugin.gcp.gcs.Upload", "tasks", "http"),
        ("io.kestra.plugin.kafka.Trigger", "triggers", "Trigger'"),
    ],
)
def test_did_you_mean_stays_in_the_plugin_family(kind: str, where: str, wrong: str) -> None:
    extra = "    key: k\n" if where == "triggers" else ""
    body = (
        "tasks:\n" + LOG + f"triggers:\n  - id: x\n    type: {kind}\n{extra}"
        if where == "triggers"
        else f"tasks:\n  - id: x\n    type: {kind}\n"
    )
    (error,) = rejected(body)
    assert "unsupported" in error.message and kind in error.message
    assert "did you mean" not in (error.hint or "") and "flowd plugins" in (error.hint or "")


def test_did_you_mean_still_fixes_a_typo() -> None:
    (error,) = rejected("tasks:\n  - {id: x, type: io.kestra.plugin.core.flow.Swich, value: a}\n")
    assert "did you mean 'io.kestra.plugin.core.flow.Switch'?" in (error.hint or "")


# --- old forms: a warning naming the current form, never an error -----------------------------------------


def test_legacy_input_name_secret_dot_and_jdbc_query_warn() -> None:
    result = accepted(
        "inputs:\n  - {name: who, type: STRING}\ntasks:\n"
        "  - {id: t, type: io.kestra.plugin.core.log.Log, message: '{{ secret.API_KEY }} {{ inputs.who }}'}\n"
        "  - {id: q, type: io.kestra.plugin.jdbc.Query, url: 'jdbc:postgresql://db/x', sql: select 1}\n"
    )
    assert "'id'" in warned(result, "old form of an input").message
    assert "secret('API_KEY')" in warned(result, "secret.API_KEY").message
    assert "io.kestra.plugin.jdbc.postgresql.Query" in warned(result, "legacy type name").message
    assert not result.errors


# --- schedule conditions: evaluated, or warned about by name ----------------------------------------------


def test_unevaluated_schedule_condition_is_a_warning_naming_it() -> None:
    result = accepted(
        "tasks:\n" + LOG + "triggers:\n  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n"
        "    cron: '0 9 * * *'\n    conditions:\n"
        "      - type: io.kestra.plugin.core.condition.PublicHoliday\n"
        "      - type: io.kestra.plugin.core.condition.DayWeek\n        dayOfWeek: MONDAY\n"
    )
    assert "PublicHoliday" in warned(result, "not evaluated").message
    assert len([d for d in result.warnings if "not evaluated" in d.message]) == 1


def test_invalid_evaluated_condition_is_an_error() -> None:
    (error,) = rejected(
        "tasks:\n" + LOG + "triggers:\n  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n"
        "    cron: '0 9 * * *'\n    conditions:\n      - type: io.kestra.plugin.core.condition.DayWeek\n"
        "        dayOfWeek: FUNDAY\n"
    )
    assert "dayOfWeek" in error.message


def test_stop_after_and_a_foreign_condition_date_are_warned_about() -> None:
    """Not evaluated by flowd, so never silent: stopAfter on a Flow trigger, a condition's own date."""
    result = accepted(
        "tasks:\n" + LOG + "triggers:\n  - id: up\n    type: io.kestra.plugin.core.trigger.Flow\n"
        "    stopAfter: [FAILED]\n"
        "  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n"
        "    cron: '0 9 * * *'\n    stopAfter: [FAILED]\n    conditions:\n"
        "      - type: io.kestra.plugin.core.condition.Weekend\n        date: '{{ execution.startDate }}'\n"
        "      - type: io.kestra.plugin.core.condition.Weekend\n        date: '{{ trigger.date }}'\n"
    )
    stop = {d.path for d in result.warnings if "stopAfter" in d.message}
    assert stop == {"triggers[0].stopAfter"}  # evaluated on the Schedule
    assert [d.path for d in result.warnings if "tick date" in d.message] == ["triggers[1].conditions[0].date"]


def test_dotted_input_ids_read_as_nested_keys() -> None:
    """Kestra's vacation-approval example reads ``request.start_date`` as ``inputs.request.start_date``."""
    from daemon.engine.variables import nest_dotted

    nested = nest_dotted({"request.name": "Rick", "request.start_date": "2042-07-01", "plain": 1})
    assert nested["request"] == {"name": "Rick", "start_date": "2042-07-01"}
    assert nested["request.name"] == "Rick" and nested["plain"] == 1
    assert nest_dotted({"a": 1, "a.b": 2}) == {"a": 1, "a.b": 2}  # a scalar is never replaced


def test_dotted_input_ids_run_end_to_end(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """
inputs:
  - {id: request.name, type: STRING, defaults: Rick}
tasks:
  - {id: hello, type: io.kestra.plugin.core.debug.Return, format: "hi {{ inputs.request.name }}"}
"""
    )
    assert ex.state == "SUCCESS"
    (run,) = harness.runs(ex.id, "hello")
    assert run.outputs == {"value": "hi Rick"}


@pytest.mark.parametrize(
    ("kind", "bounds", "good", "bad"),
    [
        ("DATE", {"after": "2024-01-01", "before": "2024-12-31"}, "2024-06-01", "2025-01-01"),
        ("TIME", {"after": "08:00:00"}, "09:30:00", "07:00:00"),
        ("DATETIME", {"before": "2030-01-01T00:00:00Z"}, "2029-01-01T00:00:00Z", "2031-01-01T00:00:00Z"),
    ],
)
def test_temporal_inputs_respect_after_and_before(
    kind: str, bounds: dict[str, str], good: str, bad: str
) -> None:
    from daemon.engine.inputs import coerce
    from daemon.errors import InputError
    from daemon.language.model import Input

    spec = Input.model_validate({"id": "when", "type": kind, **bounds})
    assert coerce(spec, good)
    with pytest.raises(InputError, match=r"is not (after|before)"):
        coerce(spec, bad)


def test_retried_is_a_state_kestra_names() -> None:
    """Kestra's state list (stopAfter, ExecutionStatus) includes RETRIED."""
    accepted(
        "tasks:\n" + LOG + "triggers:\n  - id: up\n    type: io.kestra.plugin.core.trigger.Flow\n"
        "    states: [RETRIED]\n    conditions:\n"
        "      - {type: io.kestra.plugin.core.condition.ExecutionStatus, in: [FAILED, RETRIED]}\n"
    )


def test_unevaluated_flow_trigger_condition_is_a_warning() -> None:
    """A Flow trigger whose condition flowd cannot evaluate never fires: the validator says so."""
    result = accepted(
        "tasks:\n" + LOG + "triggers:\n  - id: up\n    type: io.kestra.plugin.core.trigger.Flow\n"
        "    conditions:\n      - {type: io.kestra.plugin.core.condition.ExecutionOutputs, expression: x}\n"
        "      - {type: io.kestra.plugin.core.condition.Weekend}\n"
    )
    (warning,) = [d for d in result.warnings if "never fires" in d.message]
    assert "ExecutionOutputs" in warning.message and warning.path == "triggers[0].conditions[0].type"


def test_unknown_property_hint_points_to_flowd_plugins() -> None:
    (error,) = rejected("tasks:\n  - {id: t, type: io.kestra.plugin.core.log.Log, message: m, colour: red}\n")
    assert error.hint == "'flowd plugins io.kestra.plugin.core.log.Log' lists its properties"


def test_old_schedule_interval_is_accepted_with_a_warning() -> None:
    result = accepted(
        "tasks:\n" + LOG + "triggers:\n  - id: s\n    type: io.kestra.core.models.triggers.types.Schedule\n"
        "    cron: '*/15 * * * *'\n    interval: PT1S\n"
    )
    assert "triggers[0].interval" in {d.path for d in result.warnings}
