"""The logs API pages (``page``/``size``) and streams a full download."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.store import Store
from daemon.store.logs import LogEntry
from tests.server.api_harness import Api, api

FLOW = """\
id: hello
namespace: demo
tasks:
  - id: log
    type: io.kestra.plugin.core.log.Log
    message: hi
"""
T0 = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def app(store: Store, tmp_path: Path) -> Iterator[Api]:
    with api(store, tmp_path) as running:
        running.deploy(FLOW)
        yield running


def _execution_with_lines(app: Api, count: int) -> str:
    created = app.client.post("/api/v1/executions/demo/hello").json()
    app.wait(created["id"])
    entries = [
        LogEntry(created["id"], "INFO", T0, f"line {i}", task_id="extra", task_run_id="r1")
        for i in range(count)
    ]
    app.store.logs.insert(entries)
    return str(created["id"])


def test_logs_are_paged(app: Api) -> None:
    execution_id = _execution_with_lines(app, 2500)
    first = app.client.get(f"/api/v1/logs/{execution_id}", params={"taskId": "extra"})
    assert first.status_code == 200
    assert len(first.json()) == 1000 and first.json()[0]["message"] == "line 0"
    assert first.headers["x-total-count"] == "2500" and 'rel="next"' in first.headers["link"]
    third = app.client.get(
        f"/api/v1/logs/{execution_id}", params={"taskId": "extra", "page": 3, "size": 1000}
    )
    assert [e["message"] for e in third.json()] == [f"line {i}" for i in range(2000, 2500)]
    assert "link" not in third.headers
    small = app.client.get(f"/api/v1/logs/{execution_id}", params={"taskRunId": "r1", "page": 2, "size": 7})
    assert [e["message"] for e in small.json()] == [f"line {i}" for i in range(7, 14)]
    assert app.client.get(f"/api/v1/logs/{execution_id}", params={"size": 10**6}).status_code == 422
    assert app.client.get(f"/api/v1/logs/{execution_id}", params={"page": 0}).status_code == 422


def test_download_streams_every_line(app: Api) -> None:
    execution_id = _execution_with_lines(app, 2500)
    with app.client.stream("GET", f"/api/v1/logs/{execution_id}/download") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        chunks = list(response.iter_bytes())
    text = b"".join(chunks).decode()
    lines = text.splitlines()
    assert len(lines) == 2501  # the flow's own line and the 2,500 added
    assert lines[-1].endswith("INFO extra line 2499")
    assert app.client.get("/api/v1/logs/nope/download").status_code == 404
