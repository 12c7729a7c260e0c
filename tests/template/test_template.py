"""``flowd init`` copies the template; every example validates, syncs and runs as it promises."""

from __future__ import annotations

import base64
import json
import uuid
from pathlib import Path
from typing import Any

import psycopg
import pytest
from click.testing import CliRunner

from daemon.cli.main import cli


def invoke(*args: str) -> Any:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A flows repository made by ``flowd init``, synced into a fresh SQLite store."""
    monkeypatch.setenv("FLOWD_HOME", str(tmp_path / "home"))
    target = tmp_path / "my-flows"
    result = invoke("init", str(target))
    assert result.exit_code == 0, result.output
    db = f"sqlite:///{tmp_path / 'flowd.db'}"
    synced = invoke("sync", "--source", str(target / "flows"), "--db", db)
    assert synced.exit_code == 0, synced.output
    return target, db


def execute(db: str, flow: str, *inputs: str) -> tuple[int, dict[str, Any]]:
    args = ["execute", flow, "--json", "--local", "--db", db]
    for item in inputs:
        args += ["-i", item]
    result = invoke(*args)
    if result.exit_code == 2:
        return 2, {"error": result.output}
    return result.exit_code, json.loads(result.output)


def tasks_by_id(execution: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {}
    for run in execution["taskRunList"]:
        runs.setdefault(run["taskId"], []).append(run)
    return runs


def test_init_refuses_a_non_empty_folder(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    result = invoke("init", str(tmp_path))
    assert result.exit_code == 2
    assert "not empty" in result.output
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_template_has_the_promised_examples(repo: tuple[Path, str]) -> None:
    target, _ = repo
    flows = sorted(p for p in target.glob("flows/*/*.yml") if not p.name.endswith(".test.yml"))
    assert len(flows) >= 8
    assert len(list(target.glob("flows/*/*.test.yml"))) >= 3  # flow unit tests, never deployed
    for path in flows:
        assert path.read_text().startswith("# yaml-language-server: $schema=../../flow.schema.json")
    assert (target / "flow.schema.json").is_file()
    assert (target / ".pre-commit-config.yaml").read_text().count("flowd-validate") == 1
    assert (target / ".github" / "workflows" / "flows.yml").is_file()
    assert (target / ".gitlab-ci.yml").is_file()
    validated = invoke("validate", str(target / "flows"))
    assert validated.exit_code == 0, validated.output


def test_template_schema_matches_the_published_one(repo: tuple[Path, str]) -> None:
    target, _ = repo
    published = Path(__file__).resolve().parents[2] / "schema" / "flow.schema.json"
    assert json.loads((target / "flow.schema.json").read_text()) == json.loads(published.read_text())


def test_hello_world(repo: tuple[Path, str]) -> None:
    code, ex = execute(repo[1], "tutorial/hello_world")
    assert code == 0 and ex["state"]["current"] == "SUCCESS"
    assert ex["outputs"] == {"greeting": "hello world"}


def test_inputs_defaults_and_overrides(repo: tuple[Path, str]) -> None:
    code, ex = execute(repo[1], "tutorial/inputs_demo")
    assert code == 0
    values = tasks_by_id(ex)["summary"][0]["outputs"]["values"]
    assert values == {"greeting": "flowd x2", "color": "green", "mode": "fast"}
    code, ex = execute(repo[1], "tutorial/inputs_demo", "name=Ada", "repeat=3", "color=blue")
    assert code == 0
    assert tasks_by_id(ex)["summary"][0]["outputs"]["values"]["greeting"] == "Ada x3"
    code, ex = execute(repo[1], "tutorial/inputs_demo", "repeat=11")
    assert code == 2  # out of range: no execution is created
    assert "input 'repeat'" in ex["error"]


def test_branching_takes_the_right_branches(repo: tuple[Path, str]) -> None:
    code, ex = execute(repo[1], "tutorial/branching", "amount=20", "region=apac")
    assert code == 0
    ran = set(tasks_by_id(ex))
    assert {"small_order", "fallback_warehouse"} <= ran
    assert not ran & {"big_order", "eu_warehouse", "us_warehouse"}
    code, ex = execute(repo[1], "tutorial/branching")
    ran = set(tasks_by_id(ex))
    assert {"big_order", "eu_warehouse"} <= ran and "small_order" not in ran


def test_foreach_runs_each_value(repo: tuple[Path, str]) -> None:
    code, ex = execute(repo[1], "tutorial/foreach_demo")
    assert code == 0
    shouts = tasks_by_id(ex)["shout"]
    assert sorted(run["value"] for run in shouts) == ["hanoi", "lima", "paris", "taipei"]
    assert {run["outputs"]["value"] for run in shouts} == {"PARIS", "HANOI", "TAIPEI", "LIMA"}


def test_dag_fans_out_and_in(repo: tuple[Path, str]) -> None:
    code, ex = execute(repo[1], "tutorial/dag_pipeline")
    assert code == 0
    runs = {k: v[0] for k, v in tasks_by_id(ex).items()}
    join_start = runs["join"]["state"]["startDate"]
    assert runs["clean_orders"]["state"]["endDate"] <= join_start
    assert runs["clean_customers"]["state"]["endDate"] <= join_start
    assert runs["extract"]["state"]["endDate"] <= runs["clean_orders"]["state"]["startDate"]


def test_retry_then_errors_handler(repo: tuple[Path, str]) -> None:
    code, ex = execute(repo[1], "tutorial/retry_errors")
    assert code == 1 and ex["state"]["current"] == "FAILED"
    runs = tasks_by_id(ex)
    flaky = runs["flaky"][0]
    assert flaky["state"]["current"] == "SUCCESS"
    assert [a["state"]["current"] for a in flaky["attempts"]] == ["FAILED", "SUCCESS"]
    assert runs["give_up"][0]["state"]["current"] == "FAILED"
    assert runs["alert"][0]["state"]["current"] == "SUCCESS"


def test_subflow_returns_its_output(repo: tuple[Path, str]) -> None:
    code, ex = execute(repo[1], "tutorial/subflow_parent")
    assert code == 0
    assert ex["outputs"] == {"result": 49}


def test_python_script_passes_outputs(repo: tuple[Path, str]) -> None:
    code, ex = execute(repo[1], "tutorial/python_outputs")
    assert code == 0
    assert ex["outputs"] == {"summary": "total=23 count=6"}


def test_scheduled_flow_runs_by_hand(repo: tuple[Path, str]) -> None:
    code, ex = execute(repo[1], "tutorial/scheduled_report")
    assert code == 0
    day = tasks_by_id(ex)["report_day"][0]["outputs"]["value"]
    assert day == ex["state"]["startDate"][:10]


@pytest.mark.integration
def test_taxi_etl_loads_each_month_once(
    repo: tuple[Path, str], pg_admin_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = f"flowd_taxi_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = psycopg.conninfo.conninfo_to_dict(pg_admin_url)
        monkeypatch.setenv("ENV_PG_URL", f"jdbc:postgresql://127.0.0.1:5432/{name}")
        monkeypatch.setenv("ENV_PG_USER", str(base.get("user") or "postgres"))
        monkeypatch.setenv("SECRET_PG_PASSWORD", base64.b64encode(b"unused-with-trust-auth").decode())
        code, ex = execute(repo[1], "etl/taxi_postgres", "taxi=green", "month=2024-01")
        assert code == 0, ex
        assert ex["outputs"] == {"total_rows": 8}
        labels = {label["key"]: label["value"] for label in ex["labels"]}  # Kestra's API shape: a list
        assert labels["file"] == "green_tripdata_2024-01.csv"
        code, ex = execute(repo[1], "etl/taxi_postgres", "taxi=green", "month=2024-01")
        assert ex["outputs"] == {"total_rows": 8}  # re-running a month loads nothing twice
        code, ex = execute(repo[1], "etl/taxi_postgres", "taxi=green", "month=2024-02")
        assert ex["outputs"] == {"total_rows": 16}
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_status_lists_the_synced_flows_with_their_next_schedule(repo: tuple[Path, str]) -> None:
    result = invoke("status", "--json", "--db", repo[1])
    assert result.exit_code == 0, result.output
    flows = {f"{f['namespace']}/{f['id']}": f for f in json.loads(result.output)["flows"]}
    assert flows["tutorial/scheduled_report"]["nextSchedule"] is not None
    assert flows["tutorial/hello_world"]["nextSchedule"] is None
    assert {f["syncState"] for f in flows.values()} == {"SYNCED"}
