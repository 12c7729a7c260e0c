"""A course-style taxi ETL, end to end: SELECT inputs pick a file that ``core.http.Download`` fetches from a
local HTTP server, a shell step gunzips it, PostgreSQL stages, keys and merges it; a scheduled twin of the
flow is backfilled month by month with the scheduler's trigger variables. Re-running a month adds no row."""

from __future__ import annotations

import asyncio
import gzip
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from daemon.clock import SystemClock
from daemon.engine.executor import Executor
from daemon.language import load_flow
from daemon.language.model import ScheduleTrigger
from daemon.schedule.cursor import schedule_of, trigger_variables
from daemon.schedule.firing import trigger_record
from daemon.settings import Settings
from daemon.store import Execution, Store
from daemon.store.flows import DeployedFlow
from tests.engine.conftest import deploy
from tests.portability.files_server import serve_files

pytestmark = pytest.mark.integration

COLUMNS = ["vendor_id", "pickup_datetime", "dropoff_datetime", "passenger_count", "total_amount"]
MONTHS = {
    "2019-01": [("1", "2019-01-01 00:10:00", "2019-01-01 00:20:00", "1", "7.5")] * 2  # a true duplicate
    + [("2", "2019-01-02 08:00:00", "2019-01-02 08:30:00", "2", "21.0")],
    "2019-02": [("1", "2019-02-03 10:00:00", "2019-02-03 10:05:00", "1", "5.0")],
    "2019-03": [("2", "2019-03-04 11:00:00", "2019-03-04 11:45:00", "3", "33.3")] * 1
    + [("1", "2019-03-05 12:00:00", "2019-03-05 12:10:00", "1", "9.9")],
}

TASKS = """
pluginDefaults:
  - type: io.kestra.plugin.jdbc.postgresql
    values:
      url: "jdbc:postgresql://127.0.0.1:5432/{database}"
      username: postgres
tasks:
  - id: set_label
    type: io.kestra.plugin.core.execution.Labels
    labels:
      file: "{{{{ render(vars.file) }}}}"
      taxi: "{{{{ inputs.taxi }}}}"
  - id: download
    type: io.kestra.plugin.core.http.Download
    uri: "{base}/{{{{ render(vars.file) }}}}.gz"
  - id: extract
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles: ["*.csv"]
    inputFiles:
      data.csv.gz: "{{{{ outputs.download.uri }}}}"
    commands:
      - gunzip -c data.csv.gz > {{{{ render(vars.file) }}}}
  - id: create_tables
    type: io.kestra.plugin.jdbc.postgresql.Queries
    sql: |
      CREATE TABLE IF NOT EXISTS {{{{ render(vars.table) }}}} (
        unique_row_id text PRIMARY KEY, filename text,
        vendor_id text, pickup_datetime timestamp, dropoff_datetime timestamp,
        passenger_count integer, total_amount numeric);
      CREATE TABLE IF NOT EXISTS {{{{ render(vars.staging_table) }}}} (
        unique_row_id text, filename text,
        vendor_id text, pickup_datetime timestamp, dropoff_datetime timestamp,
        passenger_count integer, total_amount numeric);
  - id: truncate_staging
    type: io.kestra.plugin.jdbc.postgresql.Query
    sql: TRUNCATE TABLE {{{{ render(vars.staging_table) }}}};
  - id: copy_in
    type: io.kestra.plugin.jdbc.postgresql.CopyIn
    format: CSV
    header: true
    from: "{{{{ render(vars.data) }}}}"
    table: "{{{{ render(vars.staging_table) }}}}"
    columns: [{columns}]
  - id: add_keys
    type: io.kestra.plugin.jdbc.postgresql.Query
    sql: |
      UPDATE {{{{ render(vars.staging_table) }}}}
      SET unique_row_id = md5(coalesce(vendor_id, '') || coalesce(pickup_datetime::text, '') ||
                              coalesce(dropoff_datetime::text, '') || coalesce(total_amount::text, '')),
          filename = '{{{{ render(vars.file) }}}}';
  - id: merge
    type: io.kestra.plugin.jdbc.postgresql.Query
    sql: |
      MERGE INTO {{{{ render(vars.table) }}}} AS t
      USING (SELECT DISTINCT ON (unique_row_id) * FROM {{{{ render(vars.staging_table) }}}}) AS s
      ON t.unique_row_id = s.unique_row_id
      WHEN NOT MATCHED THEN INSERT (unique_row_id, filename, {columns})
      VALUES (s.unique_row_id, s.filename, s.vendor_id, s.pickup_datetime, s.dropoff_datetime,
              s.passenger_count, s.total_amount);
  - id: purge_files
    type: io.kestra.plugin.core.storage.PurgeCurrentExecutionFiles
"""

MANUAL = """
id: taxi_etl
namespace: company.team
inputs:
  - {{id: taxi, type: SELECT, displayName: Taxi colour, values: [yellow, green], defaults: yellow}}
  - {{id: year, type: SELECT, values: ["2019", "2020"], defaults: "2019"}}
  - {{id: month, type: SELECT, values: ["01", "02", "03"], defaults: "01"}}
variables:
  file: "{{{{ inputs.taxi }}}}_tripdata_{{{{ inputs.year }}}}-{{{{ inputs.month }}}}.csv"
  staging_table: "public.{{{{ inputs.taxi }}}}_tripdata_staging"
  table: "public.{{{{ inputs.taxi }}}}_tripdata"
  data: >-
    {{{{ outputs.extract.outputFiles[inputs.taxi ~ '_tripdata_' ~ inputs.year
    ~ '-' ~ inputs.month ~ '.csv'] }}}}
"""

SCHEDULED = """
id: taxi_etl_scheduled
namespace: company.team
inputs:
  - {{id: taxi, type: SELECT, values: [yellow, green], defaults: green}}
variables:
  file: "{{{{ inputs.taxi }}}}_tripdata_{{{{ trigger.date | date('yyyy-MM') }}}}.csv"
  staging_table: "public.{{{{ inputs.taxi }}}}_tripdata_staging"
  table: "public.{{{{ inputs.taxi }}}}_tripdata"
  data: >-
    {{{{ outputs.extract.outputFiles[inputs.taxi ~ '_tripdata_'
    ~ (trigger.date | date('yyyy-MM')) ~ '.csv'] }}}}
triggers:
  - id: monthly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 9 1 * *"
    inputs:
      taxi: green
"""


def _gzip_csv(rows: list[tuple[str, ...]]) -> bytes:
    lines = [",".join(COLUMNS), *(",".join(row) for row in rows)]
    return gzip.compress(("\n".join(lines) + "\n").encode())


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "served"
    root.mkdir()
    for month, rows in MONTHS.items():
        for taxi in ("yellow", "green"):
            (root / f"{taxi}_tripdata_{month}.csv.gz").write_bytes(_gzip_csv(rows))
    with serve_files(root) as url:
        yield url


@pytest.fixture
def warehouse(pg_admin_url: str) -> Iterator[str]:
    """A database of its own for the ETL's tables, dropped afterwards."""
    name = f"flowd_taxi_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield name
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


class Etl:
    def __init__(self, tmp_path: Path, pg_admin_url: str, database: str) -> None:
        self.store = Store.open(f"sqlite:///{tmp_path / 'flowd.db'}")
        self.executor = Executor(
            self.store, Settings(home=tmp_path / "home"), SystemClock(), _plugins(), workers=4
        )
        self.db_url = pg_admin_url.rsplit("/", 1)[0] + f"/{database}"

    def run(self, record: DeployedFlow, inputs: dict[str, Any], **kw: Any) -> Execution:
        execution_id = self.executor.create_execution(record, inputs, **kw)
        ex = asyncio.run(asyncio.wait_for(self.executor.run_until_done(execution_id), 120))
        assert ex.state == "SUCCESS", [line.message for line in self.store.logs.for_execution(ex.id)]
        return ex

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.db_url) as conn:
            return conn.execute(
                f"SELECT filename, vendor_id, total_amount FROM {table} ORDER BY 1, 2, 3"
            ).fetchall()


def _plugins() -> Any:
    from daemon.tasks.registry import PLUGINS

    return PLUGINS


@pytest.fixture
def etl(tmp_path: Path, pg_admin_url: str, warehouse: str) -> Iterator[Etl]:
    made = Etl(tmp_path, pg_admin_url, warehouse)
    try:
        yield made
    finally:
        made.store.close()


def _text(head: str, base: str, database: str) -> str:
    return head.format() + TASKS.format(base=base, database=database, columns=", ".join(COLUMNS))


def test_manual_etl_loads_a_month_and_a_rerun_adds_nothing(etl: Etl, served: str, warehouse: str) -> None:
    text = _text(MANUAL, served, warehouse)
    assert load_flow(text).id == "taxi_etl"
    record = deploy(etl.store, text)
    first = etl.run(record, {"taxi": "yellow", "year": "2019", "month": "01"})
    rows = [(f, v, float(a)) for f, v, a in etl.rows("public.yellow_tripdata")]
    assert rows == [("yellow_tripdata_2019-01.csv", "1", 7.5), ("yellow_tripdata_2019-01.csv", "2", 21.0)]
    assert first.labels.get("file") == "yellow_tripdata_2019-01.csv"
    etl.run(record, {"taxi": "yellow", "year": "2019", "month": "01"})
    assert len(etl.rows("public.yellow_tripdata")) == 2  # MERGE on the md5 key: nothing added
    etl.run(record, {"taxi": "yellow", "year": "2019", "month": "02"})
    assert len(etl.rows("public.yellow_tripdata")) == 3
    purge = etl.store.executions.list_task_runs(first.id)
    download = next(r for r in purge if r.task_id == "download")
    assert not etl.executor.storage.path_of(download.outputs["uri"]).exists()  # purged


def test_scheduled_twin_backfills_months_from_trigger_dates(etl: Etl, served: str, warehouse: str) -> None:
    text = _text(SCHEDULED, served, warehouse)
    flow = load_flow(text)
    record = deploy(etl.store, text)
    trigger = flow.triggers[0]
    assert isinstance(trigger, ScheduleTrigger)
    schedule = schedule_of(flow.namespace, flow.id, trigger)
    ticks, moment = [], datetime(2019, 1, 1, tzinfo=UTC)
    while (tick := schedule.after(moment)) is not None and tick < datetime(2019, 4, 1, tzinfo=UTC):
        ticks.append(tick)
        moment = tick
    assert [t.strftime("%Y-%m-%d %H:%M") for t in ticks] == [f"2019-0{m}-01 09:00" for m in (1, 2, 3)]
    for tick in ticks:
        variables = trigger_variables(schedule, tick)
        etl.run(
            record, dict(trigger.inputs), trigger=trigger_record(trigger, variables), labels=trigger.labels
        )
    files = {row[0] for row in etl.rows("public.green_tripdata")}
    assert files == {f"green_tripdata_2019-0{m}.csv" for m in (1, 2, 3)}
    count = len(etl.rows("public.green_tripdata"))
    assert count == 5  # 2 + 1 + 2 distinct rows
    variables = trigger_variables(schedule, ticks[-1])  # the last month again
    etl.run(record, dict(trigger.inputs), trigger=trigger_record(trigger, variables))
    assert len(etl.rows("public.green_tripdata")) == count
