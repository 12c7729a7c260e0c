"""``/metrics`` (Prometheus text) and the OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from daemon.server.api import ROUTERS
from daemon.server.api_metrics import render_metrics
from daemon.store import Store
from tests.server.api_harness import Api, api

FLOW = """\
id: counted
namespace: demo
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: hi
"""

_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(rf"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{{{_LABEL}(?:,{_LABEL})*\}})? (\S+)$")


def parse(text: str) -> dict[str, float]:
    """Samples by ``name{labels}``; asserts every line is a comment or one well-formed sample."""
    samples: dict[str, float] = {}
    typed: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        key = match.group(1) + (match.group(2) or "")
        assert key not in samples, f"duplicate sample {key}"
        assert any(match.group(1).startswith(name) for name in typed), f"sample without TYPE: {line}"
        samples[key] = float(match.group(3))
    return samples


@pytest.fixture
def app(store: Store, tmp_path: Path) -> Iterator[Api]:
    with api(store, tmp_path) as running:
        running.deploy(FLOW)
        yield running


def test_counters_increase_after_an_execution(app: Api) -> None:
    before = app.client.get("/metrics")
    assert before.status_code == 200
    assert before.headers["content-type"].startswith("text/plain; version=0.0.4")
    first = parse(before.text)
    assert first.get('flowd_executions_created_total{trigger="api"}', 0) == 0
    execution = app.client.post("/api/v1/executions/demo/counted?wait=true").json()
    assert execution["state"]["current"] == "SUCCESS"
    app.client.post("/api/v1/sync")
    after = parse(app.client.get("/metrics").text)
    assert after['flowd_executions_created_total{trigger="api"}'] == 1
    assert after['flowd_executions{state="SUCCESS"}'] == 1
    assert sum(v for k, v in after.items() if k.startswith("flowd_syncs_total")) == 1
    assert after["flowd_sync_duration_seconds_count"] == 1
    assert after["flowd_sync_duration_seconds_sum"] >= 0
    assert after['flowd_executions_ended_total{state="SUCCESS"}'] == 1
    assert after["flowd_task_duration_seconds_count"] == 1
    assert after["flowd_task_duration_seconds_max"] >= 0
    assert "flowd_schedule_lateness_seconds_count" in after


def test_render_is_one_sample_per_line_with_escaped_labels() -> None:
    text = render_metrics(
        {
            "executions": {"created": {'we"ird\\kind\n': 2}, "ended": {"FAILED": 1}, "by_state": {}},
            "tasks": {"duration_seconds": {"count": 2, "sum": 1.5, "max": 1.0, "median": 0.75}},
            "syncs": {
                "results": {"SUCCESS": 3},
                "duration_seconds": {"count": 0, "sum": 0, "max": 0, "median": 0},
            },
            "scheduler": {"ticks_fired": 4, "ticks_skipped": 1, "lateness_seconds": {}},
        }
    )
    samples = parse(text)
    assert samples['flowd_executions_created_total{trigger="we\\"ird\\\\kind\\n"}'] == 2
    assert samples['flowd_task_duration_seconds{quantile="0.5"}'] == 0.75
    assert samples["flowd_task_duration_seconds_sum"] == 1.5
    assert samples["flowd_task_duration_seconds_max"] == 1.0
    assert samples['flowd_syncs_total{result="SUCCESS"}'] == 3
    assert samples["flowd_schedule_ticks_fired_total"] == 4
    assert 'flowd_sync_duration_seconds{quantile="0.5"}' not in samples  # no samples yet: no median


def test_openapi_matches_the_routes(app: Api) -> None:
    response = app.client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    routes = {("/api/health", "get")} | {
        (route.path, method.lower())
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    documented = {
        (path, method)
        for path, item in document["paths"].items()
        if path.startswith(("/api/", "/metrics"))  # the web UI's pages are not part of the API
        for method in item
    }
    assert documented == routes
    expected = {
        ("/api/health", "get"),
        ("/api/v1/executions/{namespace}/{flowId}", "post"),
        ("/api/v1/executions/{executionId}", "get"),
        ("/api/v1/executions/search", "get"),
        ("/api/v1/executions/{executionId}/kill", "delete"),
        ("/api/v1/logs/{executionId}", "get"),
        ("/api/v1/logs/{executionId}/follow", "get"),
        ("/api/v1/flows/{namespace}/{id}", "get"),
        ("/api/v1/flows/validate", "post"),
        ("/api/v1/executions/webhook/{namespace}/{flowId}/{key}", "post"),
        ("/api/v1/sync/webhook", "post"),
        ("/metrics", "get"),
    }
    assert expected <= documented
    create = document["paths"]["/api/v1/executions/{namespace}/{flowId}"]["post"]
    assert create["tags"] == ["executions"] and create["summary"] == "Create an execution"
    assert set(create["requestBody"]["content"]) >= {"multipart/form-data", "application/json"}
    assert create["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Execution")
    assert "422" in create["responses"] and "404" in create["responses"]
    search = document["paths"]["/api/v1/executions/search"]["get"]
    assert search["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/ExecutionPage"
    )
    assert {"results", "total"} <= set(document["components"]["schemas"]["ExecutionPage"]["properties"])
    assert app.client.get("/docs").status_code == 200
