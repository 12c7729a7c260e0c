"""``flowd execute``, ``logs`` and ``kill`` through click's runner, against a store with a deployed flow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from daemon.cli.main import cli
from daemon.store import Store
from tests.engine.conftest import deploy

FLOW = """
id: hello
namespace: test
inputs:
  - {id: n, type: INT, defaults: 1}
tasks:
  - {id: say, type: io.kestra.plugin.core.log.Log, message: "n={{ inputs.n }}"}
  - {id: r, type: io.kestra.plugin.core.debug.Return, format: "{{ inputs.n + 1 }}"}
outputs:
  - {id: next, type: STRING, value: "{{ outputs.r.value }}"}
"""
FAILING = "id: bad\nnamespace: test\ntasks:\n  - {id: f, type: io.kestra.plugin.core.execution.Fail}\n"


@pytest.fixture
def db(store: Store, db_url: str, flowd_home: Path) -> str:
    deploy(store, FLOW)
    deploy(store, FAILING)
    return db_url


def test_execute_json_in_kestra_shape(db: str) -> None:
    result = CliRunner().invoke(cli, ["execute", "test/hello", "-i", "n=41", "--json", "--db", db])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["namespace"] == "test" and data["flowId"] == "hello" and data["flowRevision"] == 1
    assert data["state"]["current"] == "SUCCESS"
    assert [h["state"] for h in data["state"]["histories"]] == ["CREATED", "RUNNING", "SUCCESS"]
    assert data["inputs"] == {"n": 41} and data["outputs"] == {"next": "42"}
    runs = {r["taskId"]: r for r in data["taskRunList"]}
    assert runs["r"]["outputs"] == {"value": "42"}
    assert runs["say"]["attempts"][0]["state"]["current"] == "SUCCESS"

    logs = CliRunner().invoke(cli, ["logs", data["id"], "--db", db])
    assert logs.exit_code == 0 and "n=41" in logs.output


def test_execute_summary_and_exit_codes(db: str) -> None:
    ok = CliRunner().invoke(cli, ["execute", "test/hello", "--db", db])
    assert ok.exit_code == 0 and "SUCCESS" in ok.output and "say" in ok.output
    bad = CliRunner().invoke(cli, ["execute", "test/bad", "--db", db])
    assert bad.exit_code == 1 and "FAILED" in bad.output


def test_execute_bad_input_or_unknown_flow_exit_2(db: str, store: Store) -> None:
    result = CliRunner().invoke(cli, ["execute", "test/hello", "-i", "n=abc", "--db", db])
    assert result.exit_code == 2 and "'n'" in result.output
    assert store.executions.list() == []
    assert CliRunner().invoke(cli, ["execute", "test/nope", "--db", db]).exit_code == 2
    assert CliRunner().invoke(cli, ["execute", "no-slash", "--db", db]).exit_code == 2


def test_submit_without_wait_leaves_it_for_a_daemon(db: str, store: Store) -> None:
    result = CliRunner().invoke(cli, ["execute", "test/hello", "--submit", "--no-wait", "--db", db])
    assert result.exit_code == 0
    row = store.executions.get(result.output.strip())
    assert row is not None and row.state == "CREATED" and row.owner_id is None
    killed = CliRunner().invoke(cli, ["kill", row.id, "--db", db])
    assert killed.exit_code == 0 and "KILLED" in killed.output
