"""Pebble forms real Kestra flows use, proven end to end through the engine (and ``render_value``)."""

from __future__ import annotations

import pytest

from daemon.expressions import render_value
from tests.engine.conftest import Harness

HEAD = "id: exprs\nnamespace: company.team\n"

FLOW = (
    HEAD
    + """
inputs:
  - {id: taxi, type: SELECT, values: [yellow, green], defaults: green}
  - {id: year, type: SELECT, values: ["2019", "2020"], defaults: "2020"}
  - {id: note, type: STRING, required: false}
variables:
  file: "{{ inputs.taxi }}_tripdata_{{ inputs.year }}-{{ outputs.month.value }}.csv"
  table: "public.{{ inputs.taxi ~ '_tripdata' }}"
tasks:
  - {id: month, type: io.kestra.plugin.core.debug.Return, format: "03"}
  - id: extract
    type: io.kestra.plugin.scripts.shell.Commands
    outputFiles: ["*.csv"]
    commands:
      - printf 'id\\n1\\n' > {{ render(vars.file) }}
  - id: data
    type: io.kestra.plugin.core.output.OutputValues
    values:
      doc: '{"rows": [{"n": 1}, {"n": 2}], "name": "Green Cab"}'
  - id: each
    type: io.kestra.plugin.core.flow.ForEach
    values: ["a", "b"]
    tasks:
      - {id: inner, type: io.kestra.plugin.core.debug.Return, format: "got {{ taskrun.value }}"}
      - id: peek
        type: io.kestra.plugin.core.log.Log
        message: "each {{ currentEachOutput(outputs.inner).value }}"
  - id: show
    type: io.kestra.plugin.core.log.Log
    message:
      - "file {{ render(vars.file) }}"
      - "table {{ render(vars.table) }}"
      - "computed {{ outputs.extract.outputFiles[render(vars.file)] is defined }}
        {{- outputs.extract.outputFiles[inputs.taxi ~ '_tripdata_2020-03.csv'] is defined }}"
      - "coalesce {{ inputs.note ?? 'fallback' }} {{ trigger.date ?? 'manual' }}"
      - "state {{ tasks.month.state }}"
      - "json {{ (outputs.data.values.doc | fromJson).rows | length }}"
      - "jq {{ outputs.data.values.doc | jq('.rows[].n') | first }}"
      - "slug {{ (outputs.data.values.doc | fromJson).name | slugify }}"
      - "number {{ '41' | number + 1 }}"
      - "keys {{ (outputs.data.values.doc | fromJson) | keys | join(',') }}"
      - "values {{ {'a': 1, 'b': 2} | values | join(',') }}"
      - "month {{ '2020-03-01T09:00:00Z' | date('yyyy-MM') }}"
  - {id: boom, type: io.kestra.plugin.core.execution.Fail, errorMessage: "row 7 is broken"}
errors:
  - id: report
    type: io.kestra.plugin.core.log.Log
    message: "errors {{ errorLogs()[0].message }}"
"""
)


@pytest.fixture
def logs(harness: Harness) -> list[str]:
    ex = harness.run(FLOW)
    assert ex.state == "FAILED"  # the Fail task, on purpose: errorLogs() is read in ``errors``
    return harness.logs(ex.id)


@pytest.mark.parametrize(
    "expected",
    [
        "file green_tripdata_2020-03.csv",  # render(vars.x) of a variable reading inputs and outputs
        "table public.green_tripdata",  # ~ concatenation
        "computed truetrue",  # a computed key: outputFiles[inputs.taxi ~ '.csv']
        "coalesce fallback manual",  # ??
        "state SUCCESS",  # tasks.<id>.state
        "json 2",  # fromJson
        "jq 1",  # jq
        "slug green-cab",  # slugify
        "number 42",  # number
        "keys rows,name",  # keys
        "values 1,2",  # values
        "month 2020-03",  # date('yyyy-MM')
        "each got a",  # currentEachOutput()
        "each got b",
        "errors row 7 is broken",  # errorLogs()
    ],
)
def test_expression_form_through_the_engine(logs: list[str], expected: str) -> None:
    assert expected in logs, logs


def test_trigger_date_month_through_render_value() -> None:
    """The scheduled twin's month: ``trigger.date | date('yyyy-MM')`` on a zoned ISO date."""
    context = {"trigger": {"date": "2021-04-01T09:00:00Z"}, "inputs": {"taxi": "yellow"}}
    value = render_value("{{ inputs.taxi }}_tripdata_{{ trigger.date | date('yyyy-MM') }}.csv", context)
    assert value == "yellow_tripdata_2021-04.csv"
