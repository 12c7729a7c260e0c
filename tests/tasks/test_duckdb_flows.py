"""DuckDB Query / Queries end to end through the engine: files in and out, fetch types, database files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daemon.store import Store
from tests.engine.conftest import Harness

pytest.importorskip("duckdb")
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

GEN = """
  - id: gen
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner: {type: io.kestra.plugin.core.runner.Process}
    outputFiles: [orders.csv]
    commands:
      - printf 'order_id,customer,amount\\n1,ann,10.5\\n2,bob,20\\n3,ann,4.5\\n' > orders.csv
"""


@pytest.fixture
def harness(store: Store, tmp_path: Path) -> Harness:
    return Harness(store, tmp_path / "home")


def run(harness: Harness, tasks: str) -> tuple[str, dict[str, dict[str, object]]]:
    ex = harness.run(f"id: duck\nnamespace: test.duckdb\ntasks:{GEN}{tasks}")
    outputs = {r.task_id: r.outputs or {} for r in harness.runs(ex.id)}
    assert ex.state == "SUCCESS", harness.logs(ex.id)
    return ex.id, outputs


@SQLITE_ONLY
def test_query_reads_a_previous_tasks_file_by_its_uri(harness: Harness) -> None:
    _, outputs = run(
        harness,
        """
  - id: q
    type: io.kestra.plugin.jdbc.duckdb.Query
    sql: >-
      SELECT sum(amount) AS total, count(*) AS n
      FROM read_csv_auto('{{ outputs.gen.outputFiles['orders.csv'] }}')
    fetchType: FETCH_ONE
""",
    )
    assert outputs["q"]["row"] == {"total": 35.0, "n": 3}


@SQLITE_ONLY
def test_input_files_relative_names_and_output_files(harness: Harness, tmp_path: Path) -> None:
    _, outputs = run(
        harness,
        """
  - id: q
    type: io.kestra.plugin.jdbc.duckdb.Query
    inputFiles:
      in.csv: "{{ outputs.gen.outputFiles['orders.csv'] }}"
    sql: |-
      CREATE TABLE t AS SELECT * FROM read_csv_auto('in.csv', header=True);
      COPY (SELECT customer, sum(amount) AS total FROM t GROUP BY customer ORDER BY customer)
        TO '{{ outputFiles.out }}' (HEADER, DELIMITER ',');
    outputFiles: [out]
  - id: check
    type: io.kestra.plugin.core.debug.Return
    format: "{{ read(outputs.q.outputFiles.out) }}"
""",
    )
    assert outputs["check"]["value"].splitlines() == ["customer,total", "ann,15.0", "bob,20.0"]


@SQLITE_ONLY
def test_queries_fetch_each_result_and_store(harness: Harness) -> None:
    _, outputs = run(
        harness,
        """
  - id: many
    type: io.kestra.plugin.jdbc.duckdb.Queries
    inputFiles:
      in.csv: "{{ outputs.gen.outputFiles['orders.csv'] }}"
    sql: |-
      CREATE TABLE t AS SELECT * FROM read_csv_auto('{{ workingDir }}/in.csv', header=True);
      SELECT count(customer) AS n FROM t;
      SELECT customer FROM t ORDER BY order_id;
    fetchType: FETCH
  - id: stored
    type: io.kestra.plugin.jdbc.duckdb.Query
    sql: SELECT * FROM range(3) AS r(i)
    fetchType: STORE
  - id: back
    type: io.kestra.plugin.core.debug.Return
    format: "{{ read(outputs.stored.uri) }}"
""",
    )
    results = outputs["many"]["outputs"]
    assert isinstance(results, list)
    assert results[0] == {"rows": [{"n": 3}], "size": 1}
    assert [r["customer"] for r in results[1]["rows"]] == ["ann", "bob", "ann"]
    assert outputs["stored"]["size"] == 3
    lines = str(outputs["back"]["value"]).splitlines()
    assert [json.loads(line) for line in lines] == [{"i": 0}, {"i": 1}, {"i": 2}]


@SQLITE_ONLY
def test_database_file_out_and_back_in(harness: Harness) -> None:
    _, outputs = run(
        harness,
        """
  - id: create
    type: io.kestra.plugin.jdbc.duckdb.Query
    sql: "CREATE TABLE orders AS SELECT * FROM read_csv_auto('{{ outputs.gen.outputFiles['orders.csv'] }}')"
    outputDbFile: true
  - id: reuse
    type: io.kestra.plugin.jdbc.duckdb.Query
    databaseUri: "{{ outputs.create.databaseUri }}"
    sql: SELECT max(amount) AS top FROM orders
    fetchType: FETCH_ONE
""",
    )
    assert str(outputs["create"]["databaseUri"]).startswith("kestra:///")
    assert outputs["reuse"]["row"] == {"top": 20.0}


@SQLITE_ONLY
def test_sql_error_fails_the_task_with_duckdbs_message(harness: Harness) -> None:
    ex = harness.run(
        "id: bad\nnamespace: test.duckdb\ntasks:\n"
        "  - {id: q, type: io.kestra.plugin.jdbc.duckdb.Query, sql: SELECT * FROM no_such_table}\n"
    )
    assert ex.state == "FAILED"
    assert any("duckdb:" in line and "no_such_table" in line for line in harness.logs(ex.id))
