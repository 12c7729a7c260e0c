"""``flowd status``: overview, one flow, one execution (text and JSON), from the store alone."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from daemon.cli.main import cli
from daemon.store import Store
from tests.engine.conftest import deploy

FLOW = "id: s\nnamespace: test\ntasks:\n  - {id: l, type: io.kestra.plugin.core.log.Log, message: hi}\n"


def test_status_views(store: Store, db_url: str, flowd_home: Path) -> None:
    deploy(store, FLOW)
    run = CliRunner().invoke(cli, ["execute", "test/s", "--json", "--db", db_url])
    execution_id = json.loads(run.output)["id"]

    overview = CliRunner().invoke(cli, ["status", "--json", "--db", db_url])
    assert overview.exit_code == 0, overview.output
    data = json.loads(overview.output)
    assert [(f["namespace"], f["id"], f["revision"]) for f in data["flows"]] == [("test", "s", 1)]
    assert data["flows"][0]["lastExecution"]["id"] == execution_id
    assert data["daemon"]["alive"] is False and data["errors"] == []

    flow = CliRunner().invoke(cli, ["status", "test/s", "--json", "--revisions", "--db", db_url])
    data = json.loads(flow.output)
    assert data["flow"]["revision"] == 1 and [e["id"] for e in data["executions"]] == [execution_id]
    assert [r["revision"] for r in data["revisions"]] == [1]
    failed_only = CliRunner().invoke(cli, ["status", "test/s", "--state", "FAILED", "--json", "--db", db_url])
    assert json.loads(failed_only.output)["executions"] == []

    one = CliRunner().invoke(cli, ["status", execution_id, "--json", "--db", db_url])
    assert one.exit_code == 0 and json.loads(one.output)["state"]["current"] == "SUCCESS"

    text = CliRunner().invoke(cli, ["status", "--db", db_url])
    assert text.exit_code == 0 and "test/s" in text.output
    assert CliRunner().invoke(cli, ["status", "nope", "--db", db_url]).exit_code == 2
