from __future__ import annotations

import importlib

import pytest

from daemon.errors import Diagnostic
from daemon.language import validate_text
from daemon.language.semantics import cron_problem, valid_timezone
from tests.language.flows import flow

LOG = "type: io.kestra.plugin.core.log.Log\n"
SCHEDULE = "io.kestra.plugin.core.trigger.Schedule"
WEBHOOK = "    type: io.kestra.plugin.core.trigger.Webhook\n"


def errors(text: str, *, strict: bool = False) -> dict[str, Diagnostic]:
    result = validate_text(text, "f.yml", strict=strict)
    return {d.path: d for d in result.diagnostics if d.severity == "error"}


def warnings(text: str) -> dict[str, Diagnostic]:
    result = validate_text(text, "f.yml")
    return {d.path: d for d in result.diagnostics if d.severity == "warning"}


def log(task_id: str, message: str = "hi", extra: str = "") -> str:
    return f'- id: {task_id}\n  {LOG}  message: "{message}"\n{extra}'


@pytest.fixture
def expressions() -> None:
    module = importlib.import_module("daemon.expressions")
    if not hasattr(module, "check_syntax"):
        pytest.skip("daemon.expressions.check_syntax is not written yet")


def test_duplicate_ids_nested_in_flowables_errors_and_finally() -> None:
    text = flow(
        log("a")
        + "- id: p\n  type: io.kestra.plugin.core.flow.Parallel\n  tasks:\n"
        + "    - id: a\n      type: io.kestra.plugin.core.log.Log\n      message: again\n",
        tail="finally:\n  - id: p\n    type: io.kestra.plugin.core.log.Log\n    message: x\n",
    )
    found = errors(text)
    assert found["tasks[1].tasks[0].id"].message == "duplicate task id 'a' (first at line 4)"
    assert found["finally[0].id"].message == "duplicate task id 'p' (first at line 7)"


def test_duplicate_ids_inside_dag_entries() -> None:
    text = flow(
        "- id: d\n  type: io.kestra.plugin.core.flow.Dag\n  tasks:\n"
        "    - task:\n        id: x\n        type: io.kestra.plugin.core.log.Log\n        message: m\n"
        "    - task:\n        id: x\n        type: io.kestra.plugin.core.log.Log\n        message: m\n"
        "      dependsOn: [x]\n"
    )
    found = errors(text)
    assert "duplicate task id 'x'" in found["tasks[0].tasks[1].task.id"].message
    # x depends on itself: a cycle
    assert "cycle" in found["tasks[0].tasks[1].dependsOn"].message


def test_depends_on_unknown_task_and_cycle_path() -> None:
    text = flow(
        log("a", extra="  dependsOn: [c]\n")
        + log("b", extra="  dependsOn: [a]\n")
        + log("c", extra="  dependsOn: [b, bb]\n")
    )
    found = errors(text)
    assert found["tasks[2].dependsOn[1]"].message == "dependsOn names 'bb', which is not a task here"
    assert found["tasks[2].dependsOn[1]"].hint == "did you mean 'b'?"
    cycle = found["tasks[0].dependsOn"]
    assert cycle.message == "dependsOn forms a cycle: a -> c -> b -> a"


def test_dag_without_cycle_is_fine() -> None:
    text = flow(log("a") + log("b", extra="  dependsOn: [a]\n") + log("c", extra="  dependsOn: [a, b]\n"))
    assert validate_text(text).ok


def schedule(cron: str, extra: str = "") -> str:
    return flow(
        log("a"),
        tail=f'triggers:\n  - id: s\n    type: {SCHEDULE}\n    cron: "{cron}"\n{extra}',
    )


@pytest.mark.parametrize("cron", ["0 9 * * MON-FRI", "@daily", "@hourly", "*/5 * * * *", "0 0 L * *"])
def test_good_crons(cron: str) -> None:
    assert validate_text(schedule(cron)).ok


@pytest.mark.parametrize(
    ("cron", "message"),
    [
        ("0 9 * *", "has 4 fields, expected 5"),
        ("61 * * * *", "invalid cron expression"),
        ("@sometimes", "unknown cron nickname"),
        ("0 0 9 * * *", "has 6 fields, expected 5"),
    ],
)
def test_bad_crons(cron: str, message: str) -> None:
    d = errors(schedule(cron))["triggers[0].cron"]
    assert message in d.message and d.line == 10


def test_cron_with_seconds_takes_six_fields() -> None:
    assert validate_text(schedule("30 0 9 * * *", "    withSeconds: true\n")).ok
    assert (
        "expected 6" in errors(schedule("0 9 * * *", "    withSeconds: true\n"))["triggers[0].cron"].message
    )
    assert cron_problem("75 0 9 * * *", with_seconds=True) is not None


def test_bad_timezone() -> None:
    d = errors(schedule("@daily", "    timezone: Europe/Atlantis\n"))["triggers[0].timezone"]
    assert d.message == "unknown timezone 'Europe/Atlantis'"
    assert valid_timezone("America/New_York") and not valid_timezone("../etc/passwd")


def test_bad_duration_in_trigger_and_sleep() -> None:
    text = flow("- id: z\n  type: io.kestra.plugin.core.flow.Sleep\n  duration: 10s\n")
    d = errors(text)["tasks[0].duration"]
    assert "ISO-8601 duration" in d.message and "'10s'" in d.message


def test_input_validator_and_defaults() -> None:
    head = """\
    inputs:
      - id: code
        type: STRING
        validator: "^[A-Z(+$"
      - id: count
        type: INT
        defaults: many
      - id: color
        type: SELECT
        values: [red, green]
        defaults: blue
      - id: day
        type: DATE
        defaults: 2024-02-30
      - id: ok_default
        type: FLOAT
        defaults: 1.5
      - id: templated
        type: DATETIME
        defaults: "{{ now() }}"
    """
    found = errors(flow(log("a"), head=head))
    assert "not a valid regular expression" in found["inputs[0].validator"].message
    assert found["inputs[1].defaults"].message == "default 'many' is not an integer (input type INT)"
    assert found["inputs[2].defaults"].message == "default 'blue' is not one of the values ['red', 'green']"
    assert "not an ISO-8601 date" in found["inputs[3].defaults"].message
    assert not {"inputs[4].defaults", "inputs[5].defaults"} & set(found)


def test_system_labels_are_refused() -> None:
    found = errors(flow(log("a"), head="labels:\n  system.username: me\n  team: data\n"))
    d = found["labels.system.username"]
    assert "reserved 'system.' prefix" in d.message and (d.line, d.column) == (4, 3)


def test_duplicate_input_and_trigger_ids() -> None:
    head = "inputs:\n  - id: x\n  - id: x\n"
    tail = f"triggers:\n  - id: t\n{WEBHOOK}    key: k1\n  - id: t\n{WEBHOOK}    key: k2\n"
    found = errors(flow(log("a"), head=head, tail=tail))
    assert "duplicate input id 'x'" in found["inputs[1].id"].message
    assert "duplicate trigger id 't'" in found["triggers[1].id"].message


def test_bad_expression(expressions: None) -> None:
    d = errors(flow(log("a", message="{{ inputs.x | }}")))["tasks[0].message"]
    assert d.message.startswith("invalid expression:") and d.line == 6


def test_undeclared_input_and_unknown_output_task(expressions: None) -> None:
    head = "inputs:\n  - id: user\n    type: STRING\n"
    text = flow(
        log("a", message="{{ inputs.usr }}")
        + log("b", message="{{ outputs.aa.value }} {{ outputs.a.value }}"),
        head=head,
    )
    assert not errors(text) and validate_text(text).flow is not None  # flowd's own check: a warning
    found = warnings(text)
    assert found["tasks[0].message"].message == "'inputs.usr' is not a declared input"
    assert found["tasks[0].message"].hint == "did you mean 'user'?"
    assert found["tasks[1].message"].message == "'outputs.aa' names no task of this flow"
    strict = errors(text, strict=True)
    assert strict["tasks[0].message"].message == "'inputs.usr' is not a declared input"
    assert "tasks[1].message" in strict


def test_expressions_checked_in_nested_and_block_tags(expressions: None) -> None:
    text = flow(
        '- id: i\n  type: io.kestra.plugin.core.flow.If\n  condition: "{% if %}"\n  then:\n'
        + "    "
        + log("x", message="{{ inputs.nope }}").replace("\n  ", "\n      ")
    )
    found = errors(text, strict=True)
    assert "invalid expression" in found["tasks[0].condition"].message
    assert "inputs.nope" in found["tasks[0].then[0].message"].message
    assert "tasks[0].condition" in warnings(text) and not errors(text)


def test_descriptions_are_not_expressions(expressions: None) -> None:
    assert validate_text(flow(log("a"), head="description: 'uses {{ whatever( }}'\n")).ok


@pytest.mark.parametrize(
    "template",
    [
        "{{ inputs.who }}",
        "a {{ outputs.t.value }} b {{- vars.x -}}",
        "{{inputs.a}}{{ outputs.b }}",
        "no braces",
    ],
)
def test_fast_path_agrees_with_the_expression_engine(expressions: None, template: str) -> None:
    from daemon.expressions import check_syntax, references
    from daemon.language.semantics import analyse_template

    assert check_syntax(template) is None
    assert analyse_template(template) == (None, frozenset(references(template)))
