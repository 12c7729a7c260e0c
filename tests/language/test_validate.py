from __future__ import annotations

from pathlib import Path

import pytest

from daemon.errors import Diagnostic, FlowFileError
from daemon.language import load_flow, validate_paths, validate_text
from tests.language.flows import GOOD, PUBLISHER, SEED_DIALECT, flow


def diags(text: str) -> list[Diagnostic]:
    return validate_text(text, "f.yml").diagnostics


def only(text: str, severity: str = "error") -> Diagnostic:
    found = [d for d in diags(text) if d.severity == severity]
    assert len(found) == 1, [d.render() for d in found]
    return found[0]


def test_good_flow_is_valid() -> None:
    result = validate_text(GOOD, "good.yml")
    assert result.ok and result.diagnostics == []
    assert result.flow is not None and result.flow.uid == "acme.tests/greet"


def test_seed_dialect_is_valid_with_legacy_warnings_only() -> None:
    result = validate_paths_of({"report.yml": SEED_DIALECT, "publisher.yml": PUBLISHER})
    report = result["report.yml"]
    assert report.ok, [d.render() for d in report.diagnostics]
    assert report.flow is not None and report.flow.is_dag
    warned = {d.path for d in report.diagnostics}
    assert "tasks[0].type" in warned and "triggers[0].type" in warned
    assert all(d.severity == "warning" for d in report.diagnostics)


def validate_paths_of(files: dict[str, str], tmp: Path | None = None) -> dict[str, object]:
    import tempfile

    folder = Path(tmp or tempfile.mkdtemp())
    for name, text in files.items():
        (folder / name).write_text(text)
    return {Path(r.file).name: r for r in validate_paths([folder])}


def test_unknown_property_with_did_you_mean_points_at_the_key() -> None:
    text = flow(
        """\
        - id: t
          type: io.kestra.plugin.core.log.Log
          message: hi
          retyr:
            maxAttempt: 2
        """
    )
    d = only(text)
    assert (d.line, d.column, d.path) == (7, 5, "tasks[0].retyr")
    assert d.message == "unknown property 'retyr' for io.kestra.plugin.core.log.Log"
    assert d.hint == "did you mean 'retry'?"


def test_unknown_property_in_nested_model_and_flow() -> None:
    text = flow(
        """\
        - id: t
          type: io.kestra.plugin.core.log.Log
          message: hi
          retry:
            type: constant
            maxAttempts: 2
            intervall: PT1S
        """,
        head="descripton: x\n",
    )
    found = {d.path: d for d in diags(text)}
    assert found["descripton"].hint == "did you mean 'description'?"
    assert found["descripton"].message.endswith("for the flow")
    assert found["tasks[0].retry.intervall"].hint == "did you mean 'interval'?"


def test_ignored_kestra_property_is_a_warning() -> None:
    d = only(
        flow("- id: t\n  type: io.kestra.plugin.core.log.Log\n  message: hi\n  logToFile: true\n"), "warning"
    )
    assert d.message == "'logToFile' is accepted but ignored by flowd"
    assert (d.line, d.path) == (7, "tasks[0].logToFile")
    assert validate_text(
        flow("- id: t\n  type: io.kestra.plugin.core.log.Log\n  message: hi\n  logToFile: true\n")
    ).ok


def test_legacy_type_is_a_warning_naming_the_current_type() -> None:
    result = validate_text(flow("- id: t\n  type: io.kestra.core.tasks.log.Log\n  message: hi\n"), "f.yml")
    assert result.ok and result.flow is not None
    (d,) = result.diagnostics
    assert d.severity == "warning" and "io.kestra.plugin.core.log.Log" in d.message
    assert result.flow.tasks[0].type == "io.kestra.plugin.core.log.Log"


def test_unsupported_task_type_suggests_and_points_to_docs() -> None:
    d = only(flow("- id: t\n  type: io.kestra.plugin.core.log.Logg\n  message: hi\n"))
    assert d.path == "tasks[0].type" and (d.line, d.column) == (5, 11)
    assert d.message == "unsupported task type 'io.kestra.plugin.core.log.Logg'"
    assert d.hint is not None
    assert "did you mean 'io.kestra.plugin.core.log.Log'?" in d.hint and "flowd plugins" in d.hint


def test_unsupported_task_type_without_close_match() -> None:
    d = only(flow("- id: t\n  type: com.example.Nothing\n"))
    assert d.hint is not None and "did you mean" not in d.hint


def test_missing_property_and_wrong_type_point_at_the_value() -> None:
    text = flow(
        """\
        - id: t
          type: io.kestra.plugin.core.log.Log
        - id: u
          type: io.kestra.plugin.core.log.Log
          message: hi
          allowFailure: [1]
        """
    )
    found = {d.path: d for d in diags(text)}
    missing = found["tasks[0].message"]
    assert missing.message == "missing required property 'message' for io.kestra.plugin.core.log.Log"
    assert missing.line == 4
    wrong = found["tasks[1].allowFailure"]
    assert (wrong.line, wrong.column) == (9, 19)
    assert wrong.message == "expected a boolean, got a list"


def test_union_type_errors_are_merged() -> None:
    d = only(flow("- id: t\n  type: io.kestra.plugin.core.log.Log\n  message: hi\n  runIf: {a: 1}\n"))
    assert d.message == "expected a string or a boolean, got a mapping"


def test_bad_duration_message_is_readable() -> None:
    d = only(flow("- id: t\n  type: io.kestra.plugin.core.log.Log\n  message: hi\n  timeout: 5 minutes\n"))
    assert d.path == "tasks[0].timeout" and d.line == 7
    assert "ISO-8601 duration" in d.message and "'5 minutes'" in d.message


def test_bad_id_and_empty_tasks() -> None:
    found = {d.path: d for d in diags("id: my flow\nnamespace: Acme\ntasks: []\n")}
    assert "not a valid id" in found["id"].message
    assert "not a valid namespace" in found["namespace"].message
    assert found["tasks"].message == "must have at least 1 item"


def test_unsupported_trigger_type() -> None:
    d = only(
        flow(
            "- id: t\n  type: io.kestra.plugin.core.log.Log\n  message: hi\n",
            tail="triggers:\n  - id: x\n    type: cron\n",
        )
    )
    assert d.path == "triggers[0].type" and "unsupported trigger type 'cron'" in d.message


def test_every_problem_is_reported_structure_and_semantics_together() -> None:
    text = flow(
        """\
        - id: t
          type: io.kestra.plugin.core.log.Log
          message: hi
          retyr: 1
        - id: t
          type: io.kestra.plugin.core.log.Log
          message: again
        """,
        tail="triggers:\n  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '* *'\n",
    )
    paths = {d.path for d in diags(text)}
    assert {"tasks[0].retyr", "tasks[1].id", "triggers[0].cron"} <= paths


def test_yaml_problems_and_structure_problems_together() -> None:
    text = (
        "id: a\nnamespace: acme\nid: b\ntasks:\n  - id: t\n    type: io.kestra.plugin.core.log.Log\n"
        "    message: {{ x }}\n    retyr: 1\n"
    )
    paths = {d.path for d in diags(text)}
    assert {"id", "tasks[0].message", "tasks[0].retyr"} <= paths


def test_diagnostics_are_in_line_order() -> None:
    lines = [d.line for d in diags(SEED_DIALECT.replace("maxAttempts: 3", "maxAttempts: x") + "foo: 1\n")]
    assert lines == sorted(lines)


def test_flow_is_none_when_any_error() -> None:
    result = validate_text("id: a\nnamespace: acme\ntasks: []\n")
    assert not result.ok and result.flow is None


def test_load_flow_raises_flow_file_error() -> None:
    assert load_flow(GOOD).id == "greet"
    with pytest.raises(FlowFileError) as info:
        load_flow("id: a\n", "x.yml")
    assert info.value.diagnostics and info.value.message.startswith("x.yml:")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\x00\x01",
        "a: [",
        "- 1",
        "{{ x }}",
        "id: 1\nnamespace: 2\ntasks: 3\n",
        "tasks: [[[]]]",
        "!!python/object:os.system {}",
    ],
)
def test_garbage_never_raises(text: str) -> None:
    result = validate_text(text, "g.yml")
    assert not result.ok
    assert all("internal error" not in d.message for d in result.diagnostics)


def test_internal_error_becomes_a_diagnostic(monkeypatch: pytest.MonkeyPatch) -> None:
    from daemon.language import validate

    def boom(*args: object, **kwargs: object) -> object:
        raise RuntimeError("kaput")

    monkeypatch.setattr(validate, "check_flow", boom)
    (d,) = validate_text(GOOD, "g.yml").diagnostics
    assert d.message == "internal error while validating: RuntimeError: kaput"


def test_validate_paths_recurses_and_skips_hidden(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / ".git").mkdir()
    (tmp_path / "sub" / "deeper" / "a.yaml").write_text(GOOD)
    (tmp_path / ".git" / "x.yml").write_text("garbage: [")
    (tmp_path / "notes.txt").write_text("not yaml")
    results = validate_paths([tmp_path])
    assert [Path(r.file).name for r in results] == ["a.yaml"]


def test_unreadable_and_non_utf8_files(tmp_path: Path) -> None:
    bad = tmp_path / "latin.yml"
    bad.write_bytes(b"id: caf\xe9\n")
    (result,) = validate_paths([bad])
    assert result.diagnostics[0].message == "file is not valid UTF-8"


def test_duplicate_flow_across_files_is_an_error_on_both(tmp_path: Path) -> None:
    (tmp_path / "one.yml").write_text(GOOD)
    (tmp_path / "two.yml").write_text(GOOD)
    results = validate_paths([tmp_path])
    for result in results:
        (d,) = result.errors
        assert d.path == "id" and "acme.tests/greet is also defined in" in d.message
        assert result.flow is None


def test_subflow_to_unknown_flow_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "report.yml").write_text(SEED_DIALECT)
    (result,) = validate_paths([tmp_path])
    assert result.ok
    missing = [d for d in result.warnings if d.path == "tasks[4].flowId"]
    assert missing and "acme.reports/publisher is not among the validated files" in missing[0].message
    (tmp_path / "publisher.yml").write_text(PUBLISHER)
    results = validate_paths([tmp_path])
    assert not [d for r in results for d in r.diagnostics if "not among" in d.message]


def test_recursive_subflow_is_an_error() -> None:
    text = flow(
        "- id: again\n  type: io.kestra.plugin.core.flow.Subflow\n  namespace: acme.tests\n  flowId: sample\n"
    )
    d = only(text)
    assert d.path == "tasks[0].flowId" and "calls itself" in d.message
