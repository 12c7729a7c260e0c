"""The operator's console pages through TestClient: executions list and bulk actions, logs search,
triggers actions, CSRF refusals, folded syncs (SQLite; PostgreSQL too under the integration marker)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from daemon.clock import SystemClock
from daemon.store import Execution, LogEntry, TaskRun, TriggerState, new_id
from tests.server.ui.conftest import Ui
from tests.server.ui.flows_yaml import HELLO, simple


def _execution(ui: Ui, namespace: str, flow_id: str, state: str, *, ago: timedelta, **extra: object) -> str:
    start = SystemClock().now() - ago
    execution_id = new_id()
    ui.store.executions.create(
        Execution(
            id=execution_id, namespace=namespace, flow_id=flow_id, flow_revision=1, state=state,
            start_date=start, end_date=start + timedelta(seconds=3) if state != "RUNNING" else None,
            histories=[{"state": state, "date": start.isoformat()}], **extra,  # type: ignore[arg-type]
        )
    )  # fmt: skip
    return execution_id


def _ids(html: str) -> list[str]:
    return re.findall(r'name="ids" value="([^"]+)"', html)


def test_executions_filters_sort_and_keyset_pages(ui: Ui) -> None:
    ids = [_execution(ui, "company.team", "a", "SUCCESS", ago=timedelta(minutes=i)) for i in range(30)]
    schedule = {"id": "nightly", "type": "io.kestra.plugin.core.trigger.Schedule"}
    failed = _execution(
        ui,
        "company.team.sub",
        "b",
        "FAILED",
        ago=timedelta(minutes=90),
        labels={"env": "prod"},
        trigger=schedule,
    )
    _execution(ui, "other", "c", "FAILED", ago=timedelta(days=3))
    first = ui.client.get("/ui/executions?size=25&range=24h").text
    assert _ids(first) == ids[:25]  # newest first
    assert "31 executions" in first
    older = re.search(r'href="([^"]+)" id="next-page"', first)
    assert older
    second = ui.client.get(older.group(1).replace("&amp;", "&")).text
    assert _ids(second) == [*ids[25:], failed]
    newer = re.search(r'href="([^"]+)" id="prev-page"', second)
    assert newer and _ids(ui.client.get(newer.group(1).replace("&amp;", "&")).text) == ids[:25]
    # filters: namespace prefix, several states, label, trigger type; time range
    page = ui.client.get("/ui/executions?namespace=company&state=FAILED&state=KILLED&range=24h").text
    assert _ids(page) == [failed]
    assert _ids(ui.client.get("/ui/executions?labels=env:prod&range=all").text) == [failed]
    assert _ids(ui.client.get("/ui/executions?trigger=SCHEDULE&range=all").text) == [failed]
    assert len(_ids(ui.client.get("/ui/executions?state=FAILED&range=all").text)) == 2
    assert _ids(ui.client.get("/ui/executions?range=1h&state=FAILED").text) == []
    ascending = _ids(ui.client.get("/ui/executions?range=24h&sort=start:asc&size=25").text)
    assert ascending[0] == failed
    assert "No execution matches." in ui.client.get("/ui/executions?flow=nope").text
    assert "expected key:value" in ui.client.get("/ui/executions?labels=broken").text


def test_api_search_has_kestras_parameters(ui: Ui) -> None:
    a = _execution(ui, "company.team", "a", "SUCCESS", ago=timedelta(hours=2), labels={"team": "data"})
    _execution(ui, "company.team", "a", "FAILED", ago=timedelta(days=2))
    now = datetime.now(UTC)
    body = ui.client.get(
        "/api/v1/executions/search",
        params={"namespace": "company", "labels": "team:data", "state": ["SUCCESS", "FAILED"],
                "startDate": (now - timedelta(days=1)).isoformat(), "endDate": now.isoformat(),
                "sort": "state.startDate:desc", "page": 1, "size": 10},
    ).json()  # fmt: skip
    assert body["total"] == 1 and [e["id"] for e in body["results"]] == [a]
    assert ui.client.get("/api/v1/executions/search", params={"timeRange": "PT24H"}).json()["total"] == 1
    assert ui.client.get("/api/v1/executions/search", params={"sort": "bogus"}).status_code == 400
    first = ui.client.get("/api/v1/executions/search", params={"size": 1}).json()
    second = ui.client.get(
        "/api/v1/executions/search", params={"size": 1, "after": first["nextCursor"]}
    ).json()
    assert first["results"][0]["id"] != second["results"][0]["id"] and second["nextCursor"] is None


def test_bulk_actions_confirm_then_act(ui: Ui) -> None:
    ui.deploy(HELLO)
    done = _execution(ui, "company.team", "hello", "SUCCESS", ago=timedelta(minutes=5))
    running = _execution(ui, "company.team", "hello", "RUNNING", ago=timedelta(minutes=1))
    ui.store.logs.insert([LogEntry(done, "INFO", SystemClock().now(), "bye")])
    confirm = ui.post(
        "/ui/executions/bulk", data={"action": "delete", "ids": [done, running], "back": "range=all"}
    )
    assert confirm.status_code == 200 and "Delete 2 executions?" in confirm.text
    assert ui.store.executions.get(done) is not None  # nothing happens before the confirmation
    acted = ui.post(
        "/ui/executions/bulk",
        data={"action": "delete", "ids": [done, running], "back": "range=all", "confirmed": "yes"},
        follow_redirects=False,
    )
    assert (
        acted.status_code == 303
        and acted.headers["location"] == "/ui/executions?range=all&done=delete%3A1%3A1"
    )
    assert ui.store.executions.get(done) is None and ui.store.executions.get(running) is not None
    assert "1 done, 1 skipped" in ui.client.get(acted.headers["location"]).text
    restarted = ui.post(
        "/ui/executions/bulk", data={"action": "restart", "ids": [running], "confirmed": "yes"}
    )
    assert restarted.status_code == 200
    assert len(ui.store.executions.list(flow_id="hello")) == 2


def test_state_changing_posts_need_the_csrf_token_and_get_does_nothing(ui: Ui) -> None:
    ui.deploy(HELLO)
    target = _execution(ui, "company.team", "hello", "SUCCESS", ago=timedelta(minutes=5))
    ui.csrf_token()
    urls = [
        f"/ui/executions/{target}/kill",
        f"/ui/executions/{target}/restart",
        "/ui/flows/company.team/hello/execute",
        "/ui/executions/bulk", "/ui/triggers/company.team/hello/nightly/disable",
        "/ui/triggers/company.team/hello/nightly/backfill", "/ui/triggers/company.team/hello/nightly/unlock",
    ]  # fmt: skip
    for url in urls:
        refused = ui.client.post(url, data={"action": "delete", "ids": target, "confirmed": "yes"})
        assert refused.status_code == 403, url
        wrong = ui.client.post(url, data={"csrf_token": "x" * 43, "action": "delete", "ids": target})
        assert wrong.status_code == 403, url
        assert ui.client.get(url).status_code in (404, 405), url
    assert ui.store.executions.get(target) is not None
    assert len(ui.store.executions.list(flow_id="hello")) == 1


def test_logs_search_by_text_level_flow_and_time(ui: Ui) -> None:
    a = _execution(ui, "company.team", "a", "SUCCESS", ago=timedelta(minutes=5))
    b = _execution(ui, "other", "b", "SUCCESS", ago=timedelta(minutes=5))
    now = SystemClock().now()
    ui.store.logs.insert([
        LogEntry(a, "INFO", now - timedelta(minutes=4), "loaded 10 rows", task_id="load"),
        LogEntry(a, "ERROR", now - timedelta(minutes=3), "disk full", task_id="save"),
        LogEntry(b, "INFO", now - timedelta(minutes=3), "Loaded elsewhere"),
        LogEntry(b, "INFO", now - timedelta(hours=3), "loaded long ago"),
    ])  # fmt: skip
    page = ui.client.get("/ui/logs?q=LOADED").text
    assert "loaded 10 rows" in page and "Loaded elsewhere" in page and "long ago" not in page
    assert f'href="/ui/executions/{a}"' in page
    assert "data-tail-url" in page  # a range ending now follows
    assert "loaded long ago" in ui.client.get("/ui/logs?q=loaded&range=24h").text
    only = ui.client.get("/ui/logs?level=WARN&namespace=company").text
    assert "disk full" in only and "loaded 10" not in only
    custom = ui.client.get(
        "/ui/logs", params={"range": "custom", "from": (now - timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M"),
                            "to": (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")},
    ).text  # fmt: skip
    assert "loaded long ago" in custom and "disk full" not in custom and "data-tail-url" not in custom
    newest = max(line.id for line in ui.store.logs.for_execution(a))
    ui.store.logs.insert([LogEntry(a, "INFO", SystemClock().now(), "a new line")])
    tail = ui.client.get(f"/ui/logs/tail?range=1h&after={newest}").json()["lines"]
    assert [line["message"] for line in tail] == ["Loaded elsewhere", "a new line"] or "a new line" in [
        line["message"] for line in tail
    ]


SCHEDULED = """
id: nightly_job
namespace: company.ops
triggers:
  - id: nightly
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 2 * * *"
tasks:
  - id: hi
    type: io.kestra.plugin.core.log.Log
    message: hi
"""


def _trigger(ui: Ui, *, disabled: bool = False, next_date: datetime | None = None) -> None:
    now = SystemClock().now()
    ui.store.triggers.put(
        TriggerState(
            "company.ops",
            "nightly_job",
            "nightly",
            1,
            "h",
            next_date or now + timedelta(hours=2),
            None,
            disabled,
            now,
        )
    )


def test_trigger_disable_is_kept_across_a_sync_and_says_the_source_disagrees(ui: Ui) -> None:
    ui.deploy(SCHEDULED)
    _trigger(ui)
    out = ui.post("/ui/triggers/company.ops/nightly_job/nightly/disable")
    assert "kept across syncs" in out.text
    state = ui.store.triggers.get("company.ops", "nightly_job", "nightly")
    assert state is not None and state.disabled and state.disabled_override is True
    _trigger(ui, disabled=False)  # a sync writes the source's value (enabled) again
    state = ui.store.triggers.get("company.ops", "nightly_job", "nightly")
    assert state is not None and state.disabled
    page = ui.client.get("/ui/triggers").text
    assert "the Git source enables it" in page and "Enable" in page
    ui.post("/ui/triggers/company.ops/nightly_job/nightly/enable")
    state = ui.store.triggers.get("company.ops", "nightly_job", "nightly")
    assert state is not None and not state.disabled and state.disabled_override is None
    # the cursor restarts from now (the next 02:00): no catch-up of the ticks it was disabled for
    assert state.next_date is not None and SystemClock().now() < state.next_date
    assert state.next_date - SystemClock().now() <= timedelta(days=1)


def test_trigger_override_is_dropped_once_the_source_agrees(ui: Ui) -> None:
    ui.deploy(SCHEDULED)
    _trigger(ui)
    ui.post("/ui/triggers/company.ops/nightly_job/nightly/disable")
    _trigger(ui, disabled=True)  # the source now disables it too
    state = ui.store.triggers.get("company.ops", "nightly_job", "nightly")
    assert state is not None and state.disabled and state.disabled_override is None


def test_trigger_backfill_is_idempotent_and_unlock_resets_the_cursor(ui: Ui) -> None:
    ui.deploy(SCHEDULED)
    _trigger(ui, next_date=SystemClock().now() - timedelta(days=2))
    assert "stuck" in ui.client.get("/ui/triggers").text
    form = {"start": "2025-01-01T00:00", "end": "2025-01-04T00:00"}
    first = ui.post("/ui/triggers/company.ops/nightly_job/nightly/backfill", data=form)
    assert "3 tick(s), 3 created, 0 done before" in first.text
    again = ui.post("/ui/triggers/company.ops/nightly_job/nightly/backfill", data=form)
    assert "3 tick(s), 0 created, 3 done before" in again.text
    assert len(ui.store.executions.list(flow_id="nightly_job")) == 3
    bad = ui.post("/ui/triggers/company.ops/nightly_job/nightly/backfill", data={"start": "x", "end": "y"})
    assert "is not a date and time" in bad.text
    ui.post("/ui/triggers/company.ops/nightly_job/nightly/unlock")
    state = ui.store.triggers.get("company.ops", "nightly_job", "nightly")
    assert state is not None and state.next_date is not None and state.next_date > SystemClock().now()
    assert "stuck" not in ui.client.get("/ui/triggers").text


def test_unchanged_polls_fold_into_the_row_before(ui: Ui) -> None:
    syncs = ui.store.syncs
    now = datetime(2026, 1, 1, 14, 2, tzinfo=UTC)
    counts = {"create": 0, "update": 0, "delete": 0, "unchanged": 3, "invalid": 0}

    def poll(minute: int, **changes: object) -> int:
        at = now + timedelta(minutes=minute)
        sync_id = syncs.start(source="git", ref="main", commit_attempted="c1", started_at=at)
        args = {"result": "SUCCESS", "commit_applied": "c1", "counts": counts, "errors": [], **changes}
        return syncs.finish(sync_id, finished_at=at, collapse=True, **args).id  # type: ignore[arg-type]

    first = poll(0, counts={**counts, "create": 3})
    assert poll(1) == first and poll(2) == first
    errored = poll(3, result="PARTIAL", errors=[{"message": "bad.yml"}])
    assert errored != first and poll(4, result="PARTIAL", errors=[{"message": "bad.yml"}]) == errored
    latest = syncs.latest()
    assert [s.id for s in latest] == [errored, first]
    assert latest[1].unchanged_polls == 2 and latest[0].unchanged_polls == 1
    page = ui.client.get("/ui/syncs").text
    assert "unchanged since" in page and "2 polls" in page
    assert simple  # the helpers module stays importable for other tests


def test_execution_page_links_parent_and_children_and_hides_an_empty_log(ui: Ui) -> None:
    parent = _execution(ui, "company.team", "parent", "SUCCESS", ago=timedelta(minutes=5))
    start = SystemClock().now() - timedelta(minutes=5)
    histories = [{"state": "RUNNING", "date": start.isoformat()},
                 {"state": "SUCCESS", "date": (start + timedelta(seconds=2)).isoformat()}]  # fmt: skip
    run = TaskRun(
        id=new_id(), execution_id=parent, task_id="call", state="SUCCESS", ready_at=start, histories=histories
    )
    ui.store.executions.insert_task_runs([run])
    child = _execution(
        ui, "company.team", "child", "SUCCESS", ago=timedelta(minutes=4), parent_execution_id=parent,
        parent_task_run_id=run.id,
    )  # fmt: skip
    parent_page = ui.client.get(f"/ui/executions/{parent}").text
    assert f'href="/ui/executions/{child}"' in parent_page[parent_page.index('id="children"') :]
    gantt = parent_page[parent_page.index('class="gantt"') : parent_page.index('id="logs"')]
    assert f'class="child-link" href="/ui/executions/{child}"' in gantt  # beside the task that started it
    child_page = ui.client.get(f"/ui/executions/{child}").text
    assert f'href="/ui/executions/{parent}"' in child_page[child_page.index('id="parent-link"') :]
    assert re.search(r'id="log-lines"\s+hidden', child_page)  # finished without logs: no empty log box
    assert "No log line." in child_page


def test_overview_failure_rates_slowest_failing_and_periods(ui: Ui) -> None:
    for minutes, state in ((5, "FAILED"), (6, "SUCCESS"), (7, "KILLED")):
        _execution(ui, "company.ops", "flaky", state, ago=timedelta(minutes=minutes))
    _execution(ui, "company.team", "steady", "SUCCESS", ago=timedelta(minutes=8))
    _execution(ui, "company.team", "old", "FAILED", ago=timedelta(days=3))
    day = ui.client.get("/ui/").text
    rates = day[day.index('id="failure-rates"') : day.index('id="failing-flows"')]
    assert rates.index("company.ops") < rates.index("company.team") and "67 %" in rates
    failing = day[day.index('id="failing-flows"') : day.index('id="slowest-flows"')]
    assert "flaky" in failing and "old" not in failing and "steady" not in failing
    assert "steady" in day[day.index('id="slowest-flows"') : day.index('id="running"')]
    week = ui.client.get("/ui/?period=7d").text
    assert "old" in week[week.index('id="failing-flows"') : week.index('id="slowest-flows"')]
    assert 'aria-current="page">Last 7 days' in week
    assert ui.client.get("/ui/?period=1y").status_code == 422


def test_logs_pages_older_lines_with_and_without_a_flow(ui: Ui) -> None:
    a = _execution(ui, "company.team", "a", "SUCCESS", ago=timedelta(minutes=30))
    now = SystemClock().now()
    ui.store.logs.insert(
        [LogEntry(a, "INFO", now - timedelta(seconds=i), f"line {i:03d}") for i in range(250)]
    )
    for query in ("range=1h", "range=1h&flow=a", "range=1h&namespace=company"):
        first = ui.client.get(f"/ui/logs?{query}").text
        older = re.search(r'href="([^"]+)" id="older-logs"', first)
        assert older, query
        second = ui.client.get(older.group(1).replace("&amp;", "&")).text
        shown = re.findall(r"line (\d{3})", first) + re.findall(r"line (\d{3})", second)
        assert shown == [f"{i:03d}" for i in range(250)], query
