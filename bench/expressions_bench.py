"""Renders per second for typical templates (run: python bench/expressions_bench.py)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from daemon.expressions import render, render_value

CONTEXT = {
    "inputs": {"name": "world", "taxi": "yellow", "month": "2024-01", "count": 3},
    "outputs": {
        "extract": {"outputFiles": {"yellow.csv": "kestra:///f/yellow.csv"}},
        "my-task": {"value": "x"},
    },
    "vars": {"bucket": "data"},
    "execution": {"id": "4f2a", "startDate": "2024-01-15T10:30:00.123Z"},
    "__now__": datetime(2024, 1, 15, 10, 30, tzinfo=UTC),
}

TEMPLATES = {
    "plain string (fast path)": "just some text without expressions",
    "simple variable": "{{ inputs.name }}",
    "text + two variables": "s3://{{ vars.bucket }}/{{ inputs.taxi }}_tripdata_{{ inputs.month }}.csv",
    "subscript with ~": "{{ outputs.extract.outputFiles[inputs.taxi ~ '.csv'] }}",
    "?? chain": "{{ inputs.missing ?? inputs.other ?? 'fallback' }}",
    "date filter": "{{ execution.startDate | date('yyyy-MM-dd') }}",
    "if/for block": (
        "{% for i in range(1, inputs.count) %}{% if loop.first %}[{% endif %}{{ i }}{% endfor %}]"
    ),
}


def bench(template: str, seconds: float = 0.5) -> float:
    """Renders per second of one template over about ``seconds``."""
    render(template, CONTEXT)  # compile once (the cache is what the executor sees)
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(200):
            render(template, CONTEXT)
        count += 200
    return count / (time.perf_counter() - start)


def main() -> None:
    """Print renders/s for each template and for a task-sized render_value call."""
    for label, template in TEMPLATES.items():
        print(f"{label:28s} {bench(template):>12,.0f} renders/s")
    task = {"type": "x", "message": "Hello {{ inputs.name }}", "env": {"A": "{{ vars.bucket }}", "B": "raw"}}
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < 0.5:
        render_value(task, CONTEXT)
        count += 1
    print(f"{'render_value(task dict)':28s} {count / (time.perf_counter() - start):>12,.0f} calls/s")


if __name__ == "__main__":
    main()
