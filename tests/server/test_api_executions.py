"""Executions over HTTP: create (multipart, JSON, files), wait, get, search, kill, resume; errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.server import api_executions_search
from daemon.store import Store
from daemon.store.storage import InternalStorage
from tests.server.api_harness import Api, api

GREET = """\
id: greet
namespace: company.team
labels:
  team: data
inputs:
  - id: name
    type: STRING
  - id: count
    type: INT
    defaults: 1
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "hello {{ inputs.name }} x{{ inputs.count }}"
  - id: quiet
    type: io.kestra.plugin.core.log.Log
    level: DEBUG
    message: "debug line"
"""

UPLOAD = """\
id: upload
namespace: company.team
inputs:
  - id: data
    type: FILE
tasks:
  - id: show
    type: io.kestra.plugin.core.log.Log
    message: "got {{ inputs.data }}"
"""

PAUSE = """\
id: waiter
namespace: company.team
tasks:
  - id: wait_here
    type: io.kestra.plugin.core.flow.Pause
  - id: after
    type: io.kestra.plugin.core.log.Log
    message: resumed
"""


@pytest.fixture
def app(store: Store, tmp_path: Path) -> Iterator[Api]:
    with api(store, tmp_path) as running:
        for text in (GREET, UPLOAD, PAUSE):
            running.deploy(text)
        yield running


def test_multipart_inputs_wait_until_the_execution_ends(app: Api) -> None:
    response = app.client.post(
        "/api/v1/executions/company.team/greet?wait=true&labels=env:prod&labels=owner:me",
        files={"name": (None, "Ada"), "count": (None, "3")},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"]["current"] == "SUCCESS"
    assert body["namespace"] == "company.team" and body["flowId"] == "greet"
    assert body["inputs"] == {"name": "Ada", "count": 3}
    labels = {label["key"]: label["value"] for label in body["labels"]}
    # every execution carries the system label system.correlationId (its root execution's id), as in Kestra
    assert labels == {"team": "data", "env": "prod", "owner": "me", "system.correlationId": body["id"]}
    assert [run["taskId"] for run in body["taskRunList"]] == ["hello", "quiet"]
    logs = app.client.get(f"/api/v1/logs/{body['id']}").json()
    assert any(line["message"] == "hello Ada x3" for line in logs)


def test_json_inputs_then_poll(app: Api) -> None:
    response = app.client.post("/api/v1/executions/company.team/greet", json={"inputs": {"name": "Bo"}})
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["inputs"]["name"] == "Bo"
    done = app.wait(created["id"])
    assert done["state"]["current"] == "SUCCESS"
    assert done["inputs"] == {"name": "Bo", "count": 1}


def test_url_encoded_form(app: Api) -> None:
    response = app.client.post(
        "/api/v1/executions/company.team/greet?wait=true", data={"name": "Cy", "count": "2"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["inputs"] == {"name": "Cy", "count": 2}


def test_file_input_uploaded_to_internal_storage(app: Api) -> None:
    response = app.client.post(
        "/api/v1/executions/company.team/upload?wait=true",
        files={"data": ("report.csv", b"a,b\n1,2\n", "text/csv")},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["state"]["current"] == "SUCCESS"
    uri = body["inputs"]["data"]
    assert uri.startswith("kestra:///company/team/upload/executions/") and uri.endswith("/report.csv")
    storage = InternalStorage(app.services.settings.storage_dir)
    assert storage.path_of(uri).read_bytes() == b"a,b\n1,2\n"


def test_file_input_as_a_server_path_is_refused(app: Api, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    response = app.client.post(
        "/api/v1/executions/company.team/upload", json={"inputs": {"data": str(secret)}}
    )
    assert response.status_code == 422
    assert response.json()["input"] == "data"
    assert app.client.get("/api/v1/executions/search").json()["total"] == 0


@pytest.mark.parametrize(
    ("inputs", "bad"),
    [({"name": "x", "count": "many"}, "count"), ({"count": "2"}, "name")],
)
def test_bad_input_is_422_naming_it(app: Api, inputs: dict[str, str], bad: str) -> None:
    response = app.client.post("/api/v1/executions/company.team/greet", json={"inputs": inputs})
    assert response.status_code == 422
    body = response.json()
    assert body["input"] == bad and bad in body["message"]
    assert "Traceback" not in response.text


def test_malformed_requests_are_400(app: Api) -> None:
    url = "/api/v1/executions/company.team/greet"
    assert app.client.post(url + "?labels=nocolon", json={"inputs": {"name": "x"}}).status_code == 400
    bad_json = app.client.post(url, content=b"{nope", headers={"content-type": "application/json"})
    assert bad_json.status_code == 400
    assert "message" in bad_json.json()


def test_unknown_flow_and_execution_are_404(app: Api) -> None:
    response = app.client.post("/api/v1/executions/company.team/nope", json={"inputs": {}})
    assert response.status_code == 404
    assert "company.team/nope" in response.json()["message"]
    assert app.client.get("/api/v1/executions/doesnotexist").status_code == 404
    assert app.client.get("/api/v1/logs/doesnotexist").status_code == 404
    assert app.client.delete("/api/v1/executions/doesnotexist/kill").status_code == 404


def test_search_filters_and_pages(app: Api) -> None:
    ids = [
        app.client.post(
            "/api/v1/executions/company.team/greet?wait=true", json={"inputs": {"name": str(n)}}
        ).json()["id"]
        for n in range(3)
    ]
    paused = app.client.post("/api/v1/executions/company.team/waiter").json()["id"]
    app.wait(paused, until=lambda state: state == "PAUSED")

    everything = app.client.get("/api/v1/executions/search", params={"namespace": "company"}).json()
    assert everything["total"] == 4
    greet = app.client.get("/api/v1/executions/search", params={"flowId": "greet", "size": 2}).json()
    assert greet["total"] == 3 and len(greet["results"]) == 2
    page2 = app.client.get(
        "/api/v1/executions/search", params={"flowId": "greet", "size": 2, "page": 2}
    ).json()
    assert {e["id"] for e in greet["results"] + page2["results"]} == set(ids)
    by_state = app.client.get("/api/v1/executions/search", params={"state": "PAUSED"}).json()
    assert [e["id"] for e in by_state["results"]] == [paused]
    assert app.client.get("/api/v1/executions/search", params={"state": "NOPE"}).status_code == 400
    other = app.client.get("/api/v1/executions/search", params={"namespace": "other"}).json()
    assert other["results"] == [] and other["total"] == 0 and other["nextCursor"] is None


def test_logs_filters(app: Api) -> None:
    execution = app.client.post(
        "/api/v1/executions/company.team/greet?wait=true", json={"inputs": {"name": "Di"}}
    ).json()
    logs = app.client.get(f"/api/v1/logs/{execution['id']}").json()
    mine = [line for line in logs if line["taskId"] in ("hello", "quiet")]
    assert {line["message"] for line in mine} >= {"hello Di x1", "debug line"}
    line = next(line for line in mine if line["taskId"] == "hello")
    assert line["executionId"] == execution["id"] and line["level"] == "INFO"
    assert line["taskRunId"] == execution["taskRunList"][0]["id"]
    assert line["timestamp"].endswith("Z") and "attemptNumber" in line
    info = app.client.get(f"/api/v1/logs/{execution['id']}", params={"minLevel": "INFO"}).json()
    assert "debug line" not in {line["message"] for line in info}
    hello = app.client.get(f"/api/v1/logs/{execution['id']}", params={"taskId": "hello"}).json()
    assert {line["taskId"] for line in hello} == {"hello"}
    assert app.client.get(f"/api/v1/logs/{execution['id']}", params={"minLevel": "LOUD"}).status_code == 400


def test_follow_streams_lines_then_ends(app: Api) -> None:
    execution = app.client.post("/api/v1/executions/company.team/waiter").json()
    app.wait(execution["id"], until=lambda state: state == "PAUSED")
    assert app.client.post(f"/api/v1/executions/{execution['id']}/resume").status_code == 200
    with app.client.stream("GET", f"/api/v1/logs/{execution['id']}/follow") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        text = "".join(stream.iter_text())
    events = [block for block in text.split("\n\n") if block.strip() and not block.startswith(":")]
    assert '"message":"resumed"' in text.replace(" ", "")
    assert events[-1].startswith("event: end") and "SUCCESS" in events[-1]
    last_id = max(int(line[4:]) for line in text.splitlines() if line.startswith("id: "))
    with app.client.stream(
        "GET", f"/api/v1/logs/{execution['id']}/follow", headers={"Last-Event-ID": str(last_id)}
    ) as again:
        rest = "".join(again.iter_text())
    assert "data: {" not in rest.split("event: end")[0]  # nothing re-sent after the last id


def test_kill_then_409_when_terminal(app: Api) -> None:
    execution = app.client.post("/api/v1/executions/company.team/waiter").json()
    app.wait(execution["id"], until=lambda state: state == "PAUSED")
    response = app.client.delete(f"/api/v1/executions/{execution['id']}/kill")
    assert response.status_code == 202, response.text
    assert app.wait(execution["id"])["state"]["current"] == "KILLED"
    again = app.client.delete(f"/api/v1/executions/{execution['id']}/kill")
    assert again.status_code == 409
    assert "ended" in again.json()["message"]


def test_resume_a_paused_execution(app: Api) -> None:
    execution = app.client.post("/api/v1/executions/company.team/waiter").json()
    app.wait(execution["id"], until=lambda state: state == "PAUSED")
    assert app.client.post(f"/api/v1/executions/{execution['id']}/resume").status_code == 200
    done = app.wait(execution["id"])
    assert done["state"]["current"] == "SUCCESS"
    assert app.client.post(f"/api/v1/executions/{execution['id']}/resume").status_code == 409


def test_kestra_tenant_paths_work_too(app: Api) -> None:
    response = app.client.post("/api/v1/main/executions/company.team/greet?wait=true", data={"name": "Tea"})
    assert response.status_code == 200, response.text
    execution_id = response.json()["id"]
    assert app.client.get(f"/api/v1/main/executions/{execution_id}").json()["state"]["current"] == "SUCCESS"
    assert app.client.get(f"/api/v1/main/logs/{execution_id}").status_code == 200
    assert app.client.get("/api/v1/main/flows/company.team/greet").status_code == 200


def test_an_unexpected_error_is_a_json_500_without_details(app: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("password=hunter2 in a stack")

    monkeypatch.setattr(api_executions_search, "search", boom)
    response = app.client.get("/api/v1/executions/search")
    assert response.status_code == 500
    assert response.json() == {"message": "internal error", "error": "RuntimeError"}
