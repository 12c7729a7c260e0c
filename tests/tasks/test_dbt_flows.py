"""dbt end to end: the project in tests/tasks/dbt_project, given as namespace files, built into a fresh
PostgreSQL database by DbtCLI and by the older one-command tasks; a failing data test fails the task."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from daemon.store import Store
from tests.engine.conftest import Harness

PROJECT = Path(__file__).parent / "dbt_project"
NAMESPACE = "test.dbt"
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
pytestmark = pytest.mark.integration


def dbt_bin() -> Path | None:
    """dbt from FLOWD_TEST_DBT, the venv .ci/dbt-setup.sh builds, or PATH."""
    for candidate in (os.environ.get("FLOWD_TEST_DBT"), "/tmp/flowd-dbt-venv/bin/dbt", shutil.which("dbt")):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


@pytest.fixture
def warehouse(pg_admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for dbt to build into; dropped afterwards."""
    name = f"flowd_dbt_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield name
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def harness(store: Store, tmp_path: Path) -> Harness:
    if dbt_bin() is None:
        pytest.skip("dbt is not installed (pip install 'flowd[dbt]' or run .ci/dbt-setup.sh)")
    # the project as the namespace's files, as a sync of ``test/dbt/_files/dbt/...`` stores them
    files = {
        (NAMESPACE, "dbt/" + path.relative_to(PROJECT).as_posix()): path.read_bytes()
        for path in PROJECT.rglob("*")
        if path.is_file()
    }
    store.namespace_files.replace_all(files, commit=None, now=datetime.now(UTC))
    return Harness(store, tmp_path / "home")


def task(kind: str, body: str, warehouse: str, pg_admin_url: str) -> str:
    user = psycopg.conninfo.conninfo_to_dict(pg_admin_url).get("user", "postgres")
    bin_dir = dbt_bin().parent  # type: ignore[union-attr]
    return f"""
  - id: dbt
    type: {kind}
    containerImage: ghcr.io/kestra-io/dbt-postgres:latest
    taskRunner: {{type: io.kestra.plugin.core.runner.Process}}
    namespaceFiles: {{enabled: true, include: ["dbt/**"]}}
    projectDir: dbt
    env: {{PATH: "{bin_dir}:/usr/local/bin:/usr/bin:/bin"}}
    profiles: |
      flowd_shop:
        target: dev
        outputs:
          dev:
            type: postgres
            host: 127.0.0.1
            port: 5432
            user: {user}
            password: ""
            dbname: {warehouse}
            schema: analytics
            threads: 2
{body}"""


def totals(pg_admin_url: str, warehouse: str) -> list[tuple[str, int, float]]:
    url = pg_admin_url.rsplit("/", 1)[0] + f"/{warehouse}"
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT customer, orders, total FROM analytics.customer_totals ORDER BY 1"
        ).fetchall()
    return [(c, int(n), float(t)) for c, n, t in rows]


@SQLITE_ONLY
def test_dbt_cli_builds_seeds_models_and_tests(harness: Harness, warehouse: str, pg_admin_url: str) -> None:
    flow = f"id: shop\nnamespace: {NAMESPACE}\ntasks:" + task(
        "io.kestra.plugin.dbt.cli.DbtCLI", "    commands: [dbt deps, dbt build]", warehouse, pg_admin_url
    )
    ex = harness.run(flow)
    assert ex.state == "SUCCESS", harness.logs(ex.id)
    assert totals(pg_admin_url, warehouse) == [("ann", 2, 15.0), ("bob", 1, 20.0), ("cid", 1, 7.25)]
    outputs = harness.runs(ex.id, "dbt")[0].outputs or {}
    statuses = {r["uniqueId"]: r["status"] for r in outputs["runResults"]}
    assert statuses["model.flowd_shop.customer_totals"] == "success"
    assert statuses["seed.flowd_shop.raw_orders"] == "success"
    assert sum(1 for key, status in statuses.items() if key.startswith("test.") and status == "pass") == 3
    assert str(outputs["outputFiles"]["run_results.json"]).startswith("kestra:///")


@SQLITE_ONLY
def test_older_one_command_tasks(harness: Harness, warehouse: str, pg_admin_url: str) -> None:
    flow = (
        f"id: shop_old\nnamespace: {NAMESPACE}\ntasks:"
        + task("io.kestra.plugin.dbt.cli.Build", "    thread: 2", warehouse, pg_admin_url)
        + task(
            "io.kestra.plugin.dbt.cli.Test", "    select: [customer_totals]", warehouse, pg_admin_url
        ).replace("id: dbt", "id: only_totals")
    )
    ex = harness.run(flow)
    assert ex.state == "SUCCESS", harness.logs(ex.id)
    assert totals(pg_admin_url, warehouse)[0] == ("ann", 2, 15.0)
    tested = harness.runs(ex.id, "only_totals")[0].outputs or {}
    assert [r["uniqueId"].split(".")[2] for r in tested["runResults"]] == ["unique_customer_totals_customer"]


@SQLITE_ONLY
def test_failing_data_test_fails_the_task_naming_it(
    harness: Harness, warehouse: str, pg_admin_url: str
) -> None:
    duplicate = "    inputFiles:\n      dbt/seeds/raw_orders.csv: |\n        order_id,customer,amount\n"
    duplicate += "        1,ann,1\n        1,bob,2\n    commands: [dbt build]"
    flow = f"id: shop_bad\nnamespace: {NAMESPACE}\ntasks:" + task(
        "io.kestra.plugin.dbt.cli.DbtCLI", duplicate, warehouse, pg_admin_url
    )
    ex = harness.run(flow)
    assert ex.state == "FAILED"
    assert any("unique_stg_orders_order_id" in line and "fail" in line for line in harness.logs(ex.id))
