"""Deployed flows, revisions and validation over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.store import Store
from tests.server.api_harness import Api, api

NIGHTLY = """\
id: nightly
namespace: company.team
labels:
  owner: ops
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: hi
triggers:
  - id: every_night
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 2 * * *"
"""

SUB = """\
id: sub
namespace: company.team.sub
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: sub
"""

BROKEN = """\
id: broken
namespace: company.team
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Lgo
    message: hi
"""


@pytest.fixture
def app(store: Store, tmp_path: Path) -> Iterator[Api]:
    with api(store, tmp_path) as running:
        running.deploy(NIGHTLY)
        running.deploy(SUB)
        yield running


def test_get_flow_with_and_without_source(app: Api) -> None:
    body = app.client.get("/api/v1/flows/company.team/nightly").json()
    assert body["id"] == "nightly" and body["namespace"] == "company.team"
    assert body["revision"] == 1 and body["syncState"] == "SYNCED"
    assert body["source"] is None
    assert body["labels"] == [{"key": "owner", "value": "ops"}]
    assert [t["id"] for t in body["triggers"]] == ["every_night"]
    assert body["triggers"][0]["cron"] == "0 2 * * *"
    assert body["tasks"][0]["type"] == "io.kestra.plugin.core.log.Log"
    with_source = app.client.get("/api/v1/flows/company.team/nightly", params={"source": "true"}).json()
    assert with_source["source"] == NIGHTLY


def test_list_includes_sub_namespaces(app: Api) -> None:
    listed = app.client.get("/api/v1/flows/company.team").json()
    assert [(f["namespace"], f["id"]) for f in listed] == [
        ("company.team", "nightly"),
        ("company.team.sub", "sub"),
    ]
    assert app.client.get("/api/v1/flows/elsewhere").json() == []


def test_revisions_grow_with_each_change(app: Api) -> None:
    app.deploy(NIGHTLY.replace("message: hi", "message: hello"))
    revisions = app.client.get("/api/v1/flows/company.team/nightly/revisions").json()
    assert [r["revision"] for r in revisions] == [1, 2]
    assert "message: hello" in revisions[1]["source"]
    assert app.client.get("/api/v1/flows/company.team/nightly").json()["revision"] == 2


def test_unknown_flow_is_404(app: Api) -> None:
    assert app.client.get("/api/v1/flows/company.team/nope").status_code == 404
    assert app.client.get("/api/v1/flows/company.team/nope/revisions").status_code == 404


@pytest.mark.parametrize("content_type", ["application/x-yaml", "text/plain"])
def test_validate_reports_diagnostics_with_lines(app: Api, content_type: str) -> None:
    response = app.client.post(
        "/api/v1/flows/validate", content=BROKEN.encode(), headers={"content-type": content_type}
    )
    assert response.status_code == 200
    [diagnostic] = response.json()
    assert diagnostic["line"] == 5 and diagnostic["column"] > 0
    assert diagnostic["severity"] == "error" and diagnostic["path"] == "tasks[0].type"
    assert "Lgo" in diagnostic["message"]
    assert set(diagnostic) >= {"file", "line", "column", "severity", "path", "message"}


def test_validate_valid_flow_and_bad_yaml(app: Api) -> None:
    ok = app.client.post(
        "/api/v1/flows/validate", content=NIGHTLY, headers={"content-type": "application/x-yaml"}
    )
    assert ok.status_code == 200 and ok.json() == []
    bad = app.client.post(
        "/api/v1/flows/validate?file=x.yml", content="id: [\n", headers={"content-type": "application/x-yaml"}
    )
    assert bad.status_code == 200
    assert bad.json()[0]["file"] == "x.yml" and bad.json()[0]["severity"] == "error"
