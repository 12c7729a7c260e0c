"""``flowd test`` end to end: real executor, real shell tasks, fixtures replacing tasks, reports."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from daemon.cli.main import cli

FLOW = """\
id: orders
namespace: shop
inputs:
  - id: customer
    type: STRING
    defaults: nobody
  - id: data
    type: FILE
    required: false
tasks:
  - id: greet
    type: io.kestra.plugin.core.debug.Return
    format: "Hello {{ inputs.customer }}"
  - id: fetch
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - echo fetched >> {marker}
      - echo '::{"outputs":{"rows":3}}::'
  - id: count
    type: io.kestra.plugin.scripts.shell.Commands
    commands:
      - echo '::{"outputs":{"double":{{ outputs.fetch.vars.rows * 2 }}}}::'
  - id: child
    type: io.kestra.plugin.core.flow.Subflow
    namespace: shop
    flowId: helper
    inputs:
      who: "{{ inputs.customer }}"
"""

HELPER = """\
id: helper
namespace: shop
inputs:
  - id: who
    type: STRING
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "child for {{ inputs.who }}"
outputs:
  - id: seen
    type: STRING
    value: "{{ inputs.who }}"
"""

TESTS = """\
id: orders_tests
namespace: shop
flowId: orders
testCases:
  - id: real_run
    fixtures:
      inputs: {customer: Ada}
    assertions:
      - value: "{{ outputs.greet.value }}"
        equalTo: Hello Ada
      - value: "{{ outputs.count.vars.double }}"
        equalTo: 6
      - value: "{{ outputs.child.outputs.seen }}"
        equalTo: Ada
      - value: "{{ execution.state }}"
        equalTo: SUCCESS
  - id: mocked_fetch
    fixtures:
      tasks:
        - id: fetch
          outputs: {vars: {rows: 21}}
    assertions:
      - value: "{{ outputs.count.vars.double }}"
        greaterThan: 40
      - taskId: fetch
        equalTo: SUCCESS
  - id: failing_on_purpose
    description: shows expected and actual
    fixtures:
      tasks:
        - id: fetch
          state: FAILED
    assertions:
      - value: "{{ execution.state }}"
        equalTo: SUCCESS
      - value: "{{ outputs.greet.value }}"
        startsWith: Hello nobody
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "repo"
    (root / "flows" / "shop").mkdir(parents=True)
    marker = tmp_path / "fetched.txt"
    (root / "flows" / "shop" / "orders.yml").write_text(FLOW.replace("{marker}", str(marker)))
    (root / "flows" / "shop" / "helper.yml").write_text(HELPER)
    (root / "flows" / "shop" / "orders.test.yml").write_text(TESTS)
    monkeypatch.chdir(root)
    monkeypatch.setenv("FLOWD_HOME", str(tmp_path / "home"))
    return root


def flowd(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.output


def test_passing_and_failing_cases_with_expected_and_actual(repo: Path, tmp_path: Path) -> None:
    code, out = flowd("test", "flows", "--junit-xml", "report/junit.xml")
    assert code == 1, out
    assert "flows/shop/orders.test.yml::orders_tests::real_run PASSED" in out
    assert "::mocked_fetch PASSED" in out
    assert "::failing_on_purpose FAILED" in out
    assert 'equalTo: expected "SUCCESS"' in out and 'actual:  "FAILED"' in out
    assert out.rstrip().splitlines()[-1].startswith("2 passed, 1 failed in ")
    # the real run and the failing case ran fetch; the mocked case did not
    assert (tmp_path / "fetched.txt").read_text().count("fetched") == 1
    suite = ET.parse(repo / "report" / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "3" and suite.get("failures") == "1"
    failed = [c for c in suite.iter("testcase") if c.find("failure") is not None]
    assert [c.get("name") for c in failed] == ["failing_on_purpose"]


def test_mock_all_runs_nothing_without_a_fixture(repo: Path, tmp_path: Path) -> None:
    (repo / "flows" / "shop" / "orders.test.yml").write_text(
        TESTS.split("  - id: mocked_fetch")[0]
        .replace("equalTo: 6", "isNull: true")
        .replace("equalTo: Ada", "isNull: true")
    )
    code, out = flowd("test", "--mock-all")
    assert code == 1, out  # greet is mocked too: its value is missing
    assert not (tmp_path / "fetched.txt").exists()


def test_a_changed_flow_file_selects_its_tests(repo: Path) -> None:
    code, out = flowd("test", "flows/shop/helper.yml")
    assert (code, out.strip()) == (0, "no flow tests found (test files are named *.test.yml)")
    code, out = flowd("test", "-q", "flows/shop/orders.yml")
    assert code == 1 and "collected 3 test cases" in out and "real_run" not in out


def test_a_bad_test_file_is_reported_with_file_and_line(repo: Path) -> None:
    (repo / "flows" / "shop" / "bad.test.yml").write_text(
        "id: t\nnamespace: shop\nflowId: orders\ntestCases: []\n"
    )
    code, out = flowd("test", "flows")
    assert code == 2
    assert "flows/shop/bad.test.yml:4:1: error: testCases: needs at least one entry" in out


def test_missing_flow_is_an_error_of_the_case(repo: Path) -> None:
    (repo / "flows" / "shop" / "orders.test.yml").write_text(TESTS.replace("flowId: orders", "flowId: nope"))
    code, out = flowd("test", "flows/shop/orders.test.yml")
    assert code == 1
    assert "error: flow shop/nope is not among the valid flow files given" in out


def test_fixture_files_are_uploaded_and_readable(repo: Path) -> None:
    (repo / "flows" / "shop" / "orders.test.yml").write_text(
        """\
id: files_tests
namespace: shop
flowId: reader
testCases:
  - id: reads_fixture_file
    fixtures:
      files: {data.csv: "a,b\\n1,2\\n"}
      inputs: {data: "{{ fileURI('data.csv') }}"}
    assertions:
      - value: "{{ outputs.lines.vars.n }}"
        equalTo: 2
"""
    )
    (repo / "flows" / "shop" / "reader.yml").write_text(
        """\
id: reader
namespace: shop
inputs:
  - id: data
    type: FILE
tasks:
  - id: lines
    type: io.kestra.plugin.scripts.shell.Commands
    inputFiles:
      data.csv: "{{ read(inputs.data) }}"
    commands:
      - echo "::{\\"outputs\\":{\\"n\\":$(wc -l < data.csv)}}::"
"""
    )
    code, out = flowd("test", "flows")
    assert code == 0, out


@pytest.fixture
def pg_database(pg_admin_url: str) -> Iterator[str]:
    name = f"flowd_flowtest_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield f"jdbc:postgresql://127.0.0.1:5432/{name}?user={urlsplit(pg_admin_url).username}"
    finally:
        with psycopg.connect(pg_admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.mark.integration
def test_unmocked_tasks_run_for_real_against_postgresql(repo: Path, pg_database: str) -> None:
    (repo / "flows" / "shop" / "orders.test.yml").unlink()
    (repo / "flows" / "shop" / "sql.yml").write_text(
        f"""\
id: sql
namespace: shop
tasks:
  - id: q
    type: io.kestra.plugin.jdbc.postgresql.Query
    url: "{pg_database}"
    sql: select 40 + 2 as answer
    fetchType: FETCH_ONE
"""
    )
    (repo / "flows" / "shop" / "sql.test.yml").write_text(
        """\
id: sql_tests
namespace: shop
flowId: sql
testCases:
  - id: answers
    assertions:
      - value: "{{ outputs.q.row.answer }}"
        equalTo: 42
"""
    )
    code, out = flowd("test", "flows")
    assert code == 0, out
