"""Kestra task types and flow properties that real flows use, run through the engine."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.language import load_flow
from tests.engine.conftest import Harness
from tests.portability.files_server import serve_files

HEAD = "id: runtime\nnamespace: company.team\n"


def test_exit_ends_the_execution_in_its_state(harness: Harness) -> None:
    """``core.execution.Exit``: the execution ends in ``state``; later tasks never start."""
    ex = harness.run(
        HEAD
        + """
tasks:
  - {id: first, type: io.kestra.plugin.core.log.Log, message: one}
  - {id: leave, type: io.kestra.plugin.core.execution.Exit, state: KILLED, condition: "{{ 1 == 1 }}"}
  - {id: never, type: io.kestra.plugin.core.log.Log, message: two}
"""
    )
    assert ex.state == "KILLED"
    assert "never" not in harness.states(ex.id)


def test_exit_with_a_false_condition_does_nothing(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """
tasks:
  - {id: leave, type: io.kestra.plugin.core.execution.Exit, state: FAILED, condition: "{{ false }}"}
  - {id: after, type: io.kestra.plugin.core.log.Log, message: two}
"""
    )
    assert ex.state == "SUCCESS" and harness.states(ex.id)["after"] == "SUCCESS"


def test_allow_failure_with_its_own_errors_and_finally(harness: Harness) -> None:
    """``core.flow.AllowFailure``: a failing child leaves the execution in WARNING; the flowable's own
    ``errors`` and ``finally`` blocks run."""
    ex = harness.run(
        HEAD
        + """
tasks:
  - id: guarded
    type: io.kestra.plugin.core.flow.AllowFailure
    tasks:
      - {id: boom, type: io.kestra.plugin.core.execution.Fail, errorMessage: bad row}
    errors:
      - {id: handled, type: io.kestra.plugin.core.log.Log, message: "handled"}
    finally:
      - {id: cleanup, type: io.kestra.plugin.core.log.Log, message: "cleanup"}
  - {id: next, type: io.kestra.plugin.core.debug.Echo, format: "still running"}
"""
    )
    states = harness.states(ex.id)
    assert ex.state == "WARNING"
    assert states["boom"] == "FAILED"
    assert states["handled"] == "SUCCESS" and states["cleanup"] == "SUCCESS" and states["next"] == "SUCCESS"
    assert "still running" in harness.logs(ex.id)


def test_sequential_errors_block_and_flow_after_execution(harness: Harness) -> None:
    """A flowable's ``errors`` handle its failure; ``afterExecution`` runs once the state is final and
    sees it."""
    ex = harness.run(
        HEAD
        + """
tasks:
  - id: group
    type: io.kestra.plugin.core.flow.Sequential
    tasks:
      - {id: boom, type: io.kestra.plugin.core.execution.Fail}
    errors:
      - {id: group_error, type: io.kestra.plugin.core.log.Log, message: "group failed"}
afterExecution:
  - {id: report, type: io.kestra.plugin.core.log.Log, message: "after {{ execution.id }}"}
"""
    )
    assert ex.state == "FAILED"
    states = harness.states(ex.id)
    assert states["group_error"] == "SUCCESS" and states["report"] == "SUCCESS"
    assert f"after {ex.id}" in harness.logs(ex.id)


def test_after_execution_sees_the_final_state(harness: Harness) -> None:
    """Kestra's afterExecution examples branch on ``execution.state`` (runIf: state == 'SUCCESS')."""
    ex = harness.run(
        HEAD
        + """
tasks:
  - {id: boom, type: io.kestra.plugin.core.execution.Fail}
afterExecution:
  - id: on_failure
    type: io.kestra.plugin.core.log.Log
    message: alert
    runIf: "{{ execution.state == 'FAILED' }}"
"""
    )
    assert harness.states(ex.id)["on_failure"] == "SUCCESS"


def test_duckdb_query_fails_naming_the_package(harness: Harness) -> None:
    """duckdb is not a flowd dependency: the task validates, then fails with a message naming it."""
    try:
        import duckdb  # noqa: F401
    except ImportError:
        pass
    else:  # pragma: no cover - only where duckdb happens to be installed
        pytest.skip("duckdb is installed here")
    ex = harness.run(HEAD + "tasks:\n  - {id: q, type: io.kestra.plugin.jdbc.duckdb.Query, sql: SELECT 1}\n")
    assert ex.state == "FAILED"
    run = harness.runs(ex.id, "q")[0]
    text = " ".join(harness.logs(ex.id)) + str(run.attempts)
    assert "pip install duckdb" in text


@pytest.fixture
def files(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "served"
    root.mkdir()
    (root / "data.csv.gz").write_bytes(gzip.compress(b"a,b\n1,2\n"))
    with serve_files(root) as url:
        yield url


def test_download_outputs_and_purge_current_execution_files(harness: Harness, files: str) -> None:
    """``core.http.Download`` outputs ``uri``, ``code`` and ``length``; ``PurgeCurrentExecutionFiles``
    deletes the execution's files."""
    ex = harness.run(
        HEAD
        + f"""
tasks:
  - {{id: dl, type: io.kestra.plugin.core.http.Download, uri: "{files}/data.csv.gz"}}
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: "{{{{ outputs.dl.code }}}} {{{{ outputs.dl.length }}}} {{{{ outputs.dl.uri }}}}"
  - {{id: purge, type: io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles}}
"""
    )
    assert ex.state == "SUCCESS", harness.logs(ex.id)
    dl = harness.runs(ex.id, "dl")[0]
    uri = dl.outputs["uri"]
    assert dl.outputs["code"] == 200 and dl.outputs["length"] == len(gzip.compress(b"a,b\n1,2\n"))
    assert uri.startswith("kestra://") and uri.endswith("data.csv.gz")
    assert any(line.startswith("200 ") for line in harness.logs(ex.id))
    assert not harness.executor.storage.path_of(uri).exists()


def test_legacy_bash_task_keeps_working(harness: Harness) -> None:
    """``io.kestra.core.tasks.scripts.Bash`` (no alias in Kestra): commands, exitOnFailed, interpreter,
    inputFiles."""
    ex = harness.run(
        HEAD
        + """
tasks:
  - id: legacy
    type: io.kestra.core.tasks.scripts.Bash
    exitOnFailed: true
    interpreter: /bin/sh
    inputFiles:
      greeting.txt: |
        hello from a file
    commands:
      - cat greeting.txt
      - echo '::{"outputs":{"n":3}}::'
  - {id: after, type: io.kestra.plugin.core.log.Log, message: "n={{ outputs.legacy.vars.n }}"}
"""
    )
    assert ex.state == "SUCCESS", harness.logs(ex.id)
    logs = harness.logs(ex.id)
    assert "hello from a file" in logs and "n=3" in logs


def test_legacy_bash_exit_on_failed_stops_at_the_first_failing_command(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """
tasks:
  - id: legacy
    type: io.kestra.core.tasks.scripts.Bash
    exitOnFailed: true
    commands: ["false", "echo unreachable"]
"""
    )
    assert ex.state == "FAILED" and "unreachable" not in harness.logs(ex.id)


def test_legacy_python_task_runs_main_py(harness: Harness) -> None:
    ex = harness.run(
        HEAD
        + """
tasks:
  - id: legacy_py
    type: io.kestra.core.tasks.scripts.Python
    inputFiles:
      main.py: |
        print("python says " + str(6 * 7))
"""
    )
    assert ex.state == "SUCCESS" and "python says 42" in harness.logs(ex.id)


def test_input_types_and_properties(harness: Harness) -> None:
    """BOOL (as BOOLEAN), ENUM (as SELECT), YAML, EMAIL; displayName, dependsOn, prefill, allowCustomValue."""
    text = (
        HEAD
        + """
inputs:
  - {id: flag, type: BOOL, displayName: Flag, defaults: false}
  - {id: colour, type: ENUM, values: [yellow, green], allowCustomValue: true, defaults: yellow}
  - {id: settings, type: YAML, defaults: "rows: 3"}
  - {id: mail, type: EMAIL, prefill: someone@example.com, required: false}
  - id: region
    type: STRING
    defaults: eu
    dependsOn: {inputs: [colour], condition: "{{ inputs.colour == 'yellow' }}"}
tasks:
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: "{{ inputs.flag }} {{ inputs.colour }} {{ inputs.settings.rows }} {{ inputs.region }}"
"""
    )
    flow = load_flow(text)
    assert [i.type for i in flow.inputs] == ["BOOLEAN", "SELECT", "YAML", "EMAIL", "STRING"]
    ex = harness.run(text, {"flag": "true", "colour": "blue"})
    assert ex.state == "SUCCESS", harness.logs(ex.id)
    assert "True blue 3 eu" in harness.logs(ex.id) or "true blue 3 eu" in harness.logs(ex.id)
