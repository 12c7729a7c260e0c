"""DuckDB Query: without the optional package it fails with an install hint."""

from __future__ import annotations

import importlib.util

import pytest

from daemon.errors import TaskError
from tests.tasks.conftest import Harness, make_task

DUCKDB = "io.kestra.plugin.jdbc.duckdb.Query"


@pytest.mark.skipif(importlib.util.find_spec("duckdb") is not None, reason="duckdb is installed")
def test_missing_duckdb_names_the_package(harness: Harness) -> None:
    with pytest.raises(TaskError, match=r"pip install .flowd\[duckdb\]."):
        harness.run(make_task({"type": DUCKDB, "sql": "SELECT 1"}))


@pytest.mark.skipif(importlib.util.find_spec("duckdb") is None, reason="duckdb is not installed")
def test_query_over_an_input_file(harness: Harness) -> None:
    task = make_task(
        {
            "type": DUCKDB,
            "inputFiles": {"data.csv": "a,b\n1,x\n2,y\n"},
            "sql": "SELECT sum(a) AS total FROM read_csv_auto('{{ workingDir }}/data.csv')",
            "fetchType": "FETCH_ONE",
        }
    )
    assert harness.run(task).outputs["row"] == {"total": 3}
