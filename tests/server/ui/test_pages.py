"""Each UI page's HTML through TestClient, over a real store and executor (SQLite; PostgreSQL too when
marked integration by the ``db_url`` fixture)."""

from __future__ import annotations

import re
from datetime import timedelta

from daemon.clock import SystemClock
from daemon.store import Execution, TriggerState, new_id
from tests.server.ui.conftest import Ui
from tests.server.ui.flows_yaml import DAG, HELLO, SLOW, simple


def _execution(ui: Ui, namespace: str, flow_id: str, state: str, *, ago: timedelta) -> str:
    start = SystemClock().now() - ago
    execution_id = new_id()
    ui.store.executions.create(
        Execution(
            id=execution_id, namespace=namespace, flow_id=flow_id, flow_revision=1, state=state,
            start_date=start, histories=[{"state": state, "date": start.isoformat()}],
        )
    )  # fmt: skip
    return execution_id


# --- overview -----------------------------------------------------------------------------------------
def test_overview_empty(ui: Ui) -> None:
    page = ui.client.get("/ui/")
    assert page.status_code == 200
    assert "No execution started in the last 24 hours." in page.text
    assert "No sync yet." in page.text


def test_overview_chart_running_sync_and_next_runs(ui: Ui) -> None:
    ui.deploy(HELLO)
    _execution(ui, "company.team", "hello", "SUCCESS", ago=timedelta(hours=3))
    _execution(ui, "company.team", "hello", "FAILED", ago=timedelta(hours=3, minutes=5))
    _execution(ui, "company.team", "hello", "SUCCESS", ago=timedelta(hours=30))  # older than a day
    running = _execution(ui, "company.team", "hello", "RUNNING", ago=timedelta(minutes=1))
    now = SystemClock().now()
    ui.store.triggers.put(
        TriggerState("company.team", "hello", "nightly", 1, "h", now + timedelta(hours=2), None, False, now)
    )
    sync_id = ui.store.syncs.start(source="file:///repo", ref="main", commit_attempted="c0ffee" * 6,
                                   started_at=now)  # fmt: skip
    ui.store.syncs.finish(
        sync_id, result="PARTIAL", finished_at=now, commit_applied="c0ffee" * 6,
        plan={"changes": [], "invalid": [{"path": "bad.yml", "uid": None, "diagnostics": [
            {"file": "bad.yml", "line": 4, "column": 3, "severity": "error", "path": "t", "message": "boom"}
        ]}]},
    )  # fmt: skip
    page = ui.client.get("/ui/").text
    chart = page[page.index('id="chart"') : page.index('id="running"')]
    assert chart.count("<rect") == 3  # SUCCESS and FAILED three hours ago, RUNNING a minute ago
    assert re.search(r"<title>\d\d:\d\d–\d\d:\d\d UTC: 1 FAILED</title>", chart)
    assert running[:12] in page[page.index('id="running"') :]
    assert "PARTIAL" in page and "bad.yml:4:3: boom" in page and "c0ffeec0ff" in page
    assert "nightly" in page[page.index('id="next-runs"') :]


# --- flows list ---------------------------------------------------------------------------------------
def test_flows_list_columns(ui: Ui) -> None:
    ui.deploy(HELLO)
    ui.deploy(DAG)
    ui.deploy(simple("company.team", "invalid_now"))
    ui.deploy(simple("other", "gone"))
    now = SystemClock().now()
    ui.store.flows.set_sync_state("company.team", "invalid_now", "OUT_OF_DATE", now=now)
    ui.store.flows.delete("other", "gone", commit=None, now=now)
    ui.store.triggers.put(
        TriggerState("company.team", "hello", "nightly", 1, "h", now + timedelta(hours=2), None, False, now)
    )
    ui.finish(ui.execute("company.team", "hello"))
    page = ui.client.get("/ui/flows").text
    row = re.compile(r'<tr class="[^"]*">\s*<td><a href="/ui/flows/([^"]+)".*?</tr>', re.S)
    rows = {m.group(1): m.group(0) for m in row.finditer(page)}
    assert set(rows) == {
        "company.team/hello",
        "company.etl/pipeline",
        "company.team/invalid_now",
        "other/gone",
    }
    assert "synced" in rows["company.team/hello"] and "nightly" in rows["company.team/hello"]
    assert "SUCCESS" in rows["company.team/hello"]
    assert "file invalid" in rows["company.team/invalid_now"]
    assert "deleted" in rows["other/gone"]
    tree = page[page.index('id="namespaces"') : page.index("</aside>")]
    assert '>company</a> <span class="muted">3</span>' in tree  # company.team (2) + company.etl (1)
    hidden = ui.client.get("/ui/flows", params={"hide": "true"}).text
    assert "other/gone" not in hidden


def test_flows_filter_namespace_and_pages(ui: Ui) -> None:
    for i in range(105):
        ui.deploy(simple("bulk.space", f"flow_{i:03d}"))
    ui.deploy(simple("else.where", "needle_flow"))
    found = ui.client.get("/ui/flows", params={"q": "NEEDLE"}).text
    assert "needle_flow" in found and "flow_000" not in found
    spaced = ui.client.get("/ui/flows", params={"namespace": "bulk"}).text
    assert "needle_flow" not in spaced and "page 1 of 2" in spaced
    second = ui.client.get("/ui/flows", params={"namespace": "bulk", "page": 2}).text
    assert "flow_104" in second and "flow_000" not in second


# --- one flow -----------------------------------------------------------------------------------------
def test_flow_page_source_form_topology(ui: Ui) -> None:
    ui.deploy(HELLO, path="flows/hello.yml", commit="abcdef1234567890")
    page = ui.client.get("/ui/flows/company.team/hello").text
    assert "abcdef1234" in page and "flows/hello.yml" in page
    assert "Greets &lt;b&gt;people&lt;/b&gt;" in page  # escaped
    assert 'id="in-name" name="name" type="text" value="world"' in page
    assert 'id="in-count" name="count" type="number" value="2"' in page and 'step="1"' in page
    assert 'step="any"' in page  # FLOAT
    assert '<option value="red" selected>' in page
    assert re.search(r'<select id="in-tags" name="tags" multiple[^>]*>\s*<option value="a" selected>', page)
    assert '<option value="false" selected>' in page
    assert 'type="date"' in page
    assert "&#34;k&#34;: 1" in page  # the JSON default, pretty printed and escaped
    topology = page[page.index('class="topology"') : page.index("</svg>", page.index('class="topology"'))]
    for task_id in ("greet", "each", "item", "check", "shout", "whisper", "both", "left", "right"):
        assert f">{task_id}<" in topology
    assert ">then<" in topology and ">else<" in topology and "ForEach" in topology
    assert topology.count('class="edge"') >= 5


def test_flow_page_dag_and_unknown(ui: Ui) -> None:
    ui.deploy(DAG)
    page = ui.client.get("/ui/flows/company.etl/pipeline").text
    assert page.count('class="edge"') == 2 + 2  # two dependencies, plus start and end
    missing = ui.client.get("/ui/flows/nope/nothing")
    assert missing.status_code == 404 and "does not exist" in missing.text


def test_flow_revisions_and_diff(ui: Ui) -> None:
    ui.deploy(simple("company.team", "evolving", "first"), commit="1111111111")
    ui.deploy(simple("company.team", "evolving", "second"), commit="2222222222")
    page = ui.client.get("/ui/flows/company.team/evolving").text
    assert "second" in page and '<option value="2" selected>' in page
    old = ui.client.get("/ui/flows/company.team/evolving", params={"revision": 1}).text
    source = re.sub(r"<[^>]+>", "", old).replace("&#34;", '"')  # the source, highlighting spans removed
    assert 'message: "first"' in source and "executions run the deployed revision 2" in old
    diff = ui.client.get("/ui/flows/company.team/evolving", params={"from": 1, "to": 2}).text
    assert '<span class="d-del">-    message: &#34;first&#34;</span>' in diff
    assert '<span class="d-add">+    message: &#34;second&#34;</span>' in diff


# --- execute ------------------------------------------------------------------------------------------
def test_execute_form_creates_typed_execution(ui: Ui) -> None:
    ui.deploy(HELLO)
    response = ui.post(
        "/ui/flows/company.team/hello/execute",
        data={"name": "Ada", "count": "5", "ratio": "", "color": "green", "tags": ["b", "c"], "loud": "true",
              "day": "2025-03-01", "at": "", "payload": '{"x": [1, 2]}'},
        follow_redirects=False,
    )  # fmt: skip
    assert response.status_code == 303
    execution_id = response.headers["location"].rsplit("/", 1)[1]
    row = ui.store.executions.get(execution_id)
    assert row is not None and row.inputs is not None
    assert row.inputs["name"] == "Ada" and row.inputs["count"] == 5 and row.inputs["loud"] is True
    assert row.inputs["tags"] == ["b", "c"] and row.inputs["payload"] == {"x": [1, 2]}
    assert row.inputs["day"] == "2025-03-01" and row.inputs["ratio"] is None


def test_execute_form_shows_input_error_inline(ui: Ui) -> None:
    ui.deploy(HELLO)
    response = ui.post("/ui/flows/company.team/hello/execute", data={"name": "Ada", "count": "many"})
    assert response.status_code == 422
    assert re.search(r'<div class="field invalid">\s*<label for="in-count">', response.text)
    assert 'data-input="count"' in response.text
    assert 'value="Ada"' in response.text  # what was typed is kept
    assert ui.store.executions.list() == []


def test_execute_unknown_flow_is_404(ui: Ui) -> None:
    assert ui.post("/ui/flows/no/such/execute", data={}).status_code == 404


# --- execution ----------------------------------------------------------------------------------------
def test_execution_page_gantt_logs_inputs(ui: Ui) -> None:
    ui.deploy(HELLO)
    execution_id = ui.execute("company.team", "hello", {"name": "Bob"})
    assert ui.finish(execution_id).state == "SUCCESS"
    page = ui.client.get(f"/ui/executions/{execution_id}").text
    gantt = page[page.index('class="gantt"') : page.index("</section>", page.index('class="gantt"'))]
    runs = ui.store.executions.list_task_runs(execution_id)
    assert len(re.findall(r'<div class="row[ "]', gantt)) == len(runs)
    assert "item [v1]" in gantt and "item [v2]" in gantt and "whisper" in gantt
    assert re.search(r'title="greet: SUCCESS in \d', gantt)
    assert "hello Bob x2" in gantt  # each task's lines under its bar
    assert "hello Bob x2" in page and "item v2" in page
    assert "&#34;name&#34;: &#34;Bob&#34;" in page
    assert 'data-terminal="true"' in page and "kill-button" not in page


# A flow of Log tasks only ends within create_execution (inline tasks run in the creating transaction):
# this one sleeps first, so the page shows it running.
NAP = """
id: nap
namespace: company.team
tasks:
  - {id: nap, type: io.kestra.plugin.core.flow.Sleep, duration: PT0.1S}
  - {id: one, type: io.kestra.plugin.core.log.Log, message: one}
  - {id: two, type: io.kestra.plugin.core.log.Log, message: two}
"""


def test_execution_live_fragment_and_stream(ui: Ui) -> None:
    ui.deploy(NAP)
    execution_id = ui.execute("company.team", "nap")
    live = ui.client.get(f"/ui/executions/{execution_id}/live").text
    assert 'data-terminal="false"' in live and "kill-button" in live and "<html" not in live
    ui.finish(execution_id)
    stream = ui.client.get(f"/ui/executions/{execution_id}/logs/stream").text
    events = re.findall(r"^event: (\w+)$", stream, re.M)
    assert events[-1] == "end" and events.count("log") == len(ui.store.logs.for_execution(execution_id))
    first = ui.store.logs.for_execution(execution_id)[0].id
    resumed = ui.client.get(
        f"/ui/executions/{execution_id}/logs/stream", headers={"Last-Event-ID": str(first)}
    )
    assert resumed.text.count("event: log") == events.count("log") - 1
    assert ui.client.get("/ui/executions/nope/logs/stream").status_code == 404
    assert ui.client.get("/ui/executions/nope").status_code == 404


def test_kill_and_restart(ui: Ui) -> None:
    ui.deploy(SLOW)
    execution_id = ui.execute("company.ops", "slow")
    killed = ui.post(f"/ui/executions/{execution_id}/kill", follow_redirects=False)
    assert killed.status_code == 303 and killed.headers["location"] == f"/ui/executions/{execution_id}"
    assert ui.finish(execution_id).state == "KILLED"
    restarted = ui.post(f"/ui/executions/{execution_id}/restart", follow_redirects=False)
    assert restarted.status_code == 303
    new_id_ = restarted.headers["location"].rsplit("/", 1)[1]
    row = ui.store.executions.get(new_id_)
    assert row is not None and new_id_ != execution_id and row.flow_id == "slow"
    assert row.labels is not None and row.labels["restarted-from"] == execution_id


def test_restart_keeps_inputs(ui: Ui) -> None:
    ui.deploy(HELLO)
    first = ui.execute("company.team", "hello", {"name": "Zed", "count": 7})
    response = ui.post(f"/ui/executions/{first}/restart", follow_redirects=False)
    second = ui.store.executions.get(response.headers["location"].rsplit("/", 1)[1])
    assert second is not None and second.inputs is not None
    assert second.inputs["name"] == "Zed" and second.inputs["count"] == 7


# --- syncs --------------------------------------------------------------------------------------------
def test_syncs_page(ui: Ui) -> None:
    now = SystemClock().now()
    first = ui.store.syncs.start(source="file:///repo", ref="main", commit_attempted="a" * 40, started_at=now)
    ui.store.syncs.finish(
        first, result="SUCCESS", finished_at=now + timedelta(seconds=2), commit_applied="a" * 40,
        counts={"create": 1}, plan={"changes": [{"action": "create", "uid": "company.team/hello",
        "path": "hello.yml", "revision": 1, "diff": ["+id: hello"], "refresh": False}], "invalid": []},
    )  # fmt: skip
    second = ui.store.syncs.start(
        source="file:///repo", ref="main", commit_attempted="b" * 40, started_at=now
    )
    ui.store.syncs.finish(
        second, result="PARTIAL", finished_at=now, commit_applied="a" * 40,
        plan={"changes": [], "invalid": [{"path": "x.yml", "uid": "company.team/x", "diagnostics": [
            {"file": "x.yml", "line": 7, "column": 5, "severity": "error", "path": "tasks[0].type",
             "message": "unknown type", "hint": None}]}]},
        errors=[{"file": "x.yml", "line": 7, "message": "unknown type"}],
    )  # fmt: skip
    third = ui.store.syncs.start(source="file:///repo", ref=None, commit_attempted=None, started_at=now)
    ui.store.syncs.finish(third, result="SOURCE_ERROR", finished_at=now, errors=[{"message": "cannot fetch"}])
    page = ui.client.get("/ui/syncs").text
    assert (
        page.index(f'id="sync-{third}"')
        < page.index(f'id="sync-{second}"')
        < page.index(f'id="sync-{first}"')
    )
    assert "x.yml:7:5: error: tasks[0].type: unknown type" in page
    assert 'href="/ui/flows/company.team/hello"' in page and '<span class="d-add">+id: hello</span>' in page
    assert "cannot fetch" in page and "bbbbbbbbbb" in page
    older = ui.client.get("/ui/syncs", params={"before": second}).text
    assert f'id="sync-{first}"' in older and f'id="sync-{second}"' not in older


# --- static files -------------------------------------------------------------------------------------
def test_static_files(ui: Ui) -> None:
    css = ui.client.get("/ui/static/ui.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert ui.client.get("/ui/static/ui.js").headers["content-type"].startswith("text/javascript")
    assert ui.client.get("/ui/static/..%2Fflows.py").status_code == 404
    assert ui.client.get("/ui/static/nothing.css").status_code == 404
