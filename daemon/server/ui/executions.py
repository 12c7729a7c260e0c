"""``/ui/executions/{id}``: the Gantt chart, live logs (server-sent events), inputs, outputs, trigger, and
the Kill and Restart buttons.

While an execution runs, the page's script re-reads ``/live`` (the header and the chart) every second and
follows ``/logs/stream``, which sends new log lines by id and an ``end`` event once the execution is over.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from daemon.engine.api_shape import public_outputs
from daemon.engine.states import is_terminal, iso
from daemon.errors import FlowNotFound, InputError
from daemon.server.services import Services
from daemon.server.ui.gantt import layout_gantt
from daemon.server.ui.render import PREFIX, not_found, page
from daemon.store import Execution, LogLine, TaskRun

LOG_PAGE = 1000  # lines rendered with the page; the stream sends the rest
OUTPUTS_SHOWN = 100  # task runs whose outputs the page lists (the API has them all)
STREAM_BATCH = 500
STREAM_POLL = 0.3  # seconds between looks for new lines while the execution runs


def log_event(line: LogLine) -> dict[str, Any]:
    """A log line as the stream's JSON."""
    return {
        "id": line.id, "time": iso(line.timestamp), "level": line.level, "task": line.task_id,
        "attempt": line.attempt, "message": line.message,
    }  # fmt: skip


def lines_by_attempt(
    lines: list[LogLine], runs: list[TaskRun]
) -> dict[tuple[str, int | None], list[LogLine]]:
    """Log lines keyed by (task run id, attempt number) for runs tried more than once, by (task run id,
    None) for the others: the Gantt rows they belong under."""
    retried = {run.id for run in runs if len(run.attempts) > 1}
    out: dict[tuple[str, int | None], list[LogLine]] = {}
    for line in lines:
        if line.task_run_id is None:
            continue
        attempt = line.attempt if line.task_run_id in retried else None
        out.setdefault((line.task_run_id, attempt), []).append(line)
    return out


def routes(services: Services) -> APIRouter:
    """The execution page and its actions."""
    router = APIRouter()
    store = services.store

    def live_context(
        execution: Execution, zoom: str | None, lines: list[LogLine] | None = None
    ) -> dict[str, Any]:
        runs = store.executions.list_task_runs(execution.id)
        now = services.clock.now()
        if lines is None:
            lines = store.logs.for_execution(execution.id, limit=LOG_PAGE)
        gantt = layout_gantt(
            runs, start=execution.start_date, end=execution.end_date, now=now, chart_width=100, zoom=zoom
        )
        children = store.executions.list(parent_execution_id=execution.id, limit=200)
        return {
            "execution": execution,
            "gantt": gantt,
            "child_of_run": {c.parent_task_run_id: c for c in children if c.parent_task_run_id},
            "runs": runs,
            "terminal": is_terminal(execution.state),
            "row_lines": lines_by_attempt(lines, runs),
            "zoom_label": next((r.label for r in gantt.rows if r.run_id == gantt.zoom), None),
            "live_url": f"{PREFIX}/executions/{execution.id}/live"
            + (f"?zoom={gantt.zoom}" if gantt.zoom else ""),
        }

    def outputs_of(runs: list[TaskRun]) -> dict[str, dict[str, Any]]:
        shown: dict[str, dict[str, Any]] = {}
        for run in runs:
            outputs = public_outputs(run.outputs)
            if outputs:
                shown[run.id] = outputs
                if len(shown) == OUTPUTS_SHOWN:
                    break
        return shown

    @router.get("/executions/{execution_id}", response_class=HTMLResponse, include_in_schema=False)
    def execution_page(
        request: Request, execution_id: str, zoom: str | None = Query(None, max_length=64)
    ) -> HTMLResponse:
        execution = store.executions.get(execution_id)
        if execution is None:
            return not_found(request, services, f"execution {execution_id}")
        lines = store.logs.for_execution(execution_id, limit=LOG_PAGE)
        live = live_context(execution, zoom, lines)
        children = store.executions.list(parent_execution_id=execution_id, limit=50)
        context = {
            **live,
            "outputs_by_run": outputs_of(live["runs"]),
            "outputs_capped": OUTPUTS_SHOWN,
            "lines": lines,
            "after": lines[-1].id if lines else 0,
            "truncated": len(lines) == LOG_PAGE,
            "children": children,
            "parent": store.executions.get(execution.parent_execution_id)
            if execution.parent_execution_id
            else None,
        }
        return page(request, "execution.html", context, services=services)

    @router.get("/executions/{execution_id}/live", response_class=HTMLResponse, include_in_schema=False)
    def live(
        request: Request, execution_id: str, zoom: str | None = Query(None, max_length=64)
    ) -> HTMLResponse:
        execution = store.executions.get(execution_id)
        if execution is None:
            return not_found(request, services, f"execution {execution_id}")
        return page(request, "execution_live.html", live_context(execution, zoom), services=services)

    def existing(execution_id: str) -> Execution:
        row = store.executions.get(execution_id)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"execution {execution_id} does not exist")
        return row

    @router.get(
        "/executions/{execution_id}/logs/stream", response_class=EventSourceResponse, include_in_schema=False
    )
    async def stream(
        request: Request,
        execution: Execution = Depends(existing),
        after: int = Query(0, ge=0),
        last_event_id: int | None = Header(None, alias="Last-Event-ID"),
    ) -> AsyncIterator[ServerSentEvent]:
        """``log`` events (a line as JSON, ``id``: its id), then one ``end`` event once the execution is over
        and every line was sent. A reconnecting browser resumes after ``Last-Event-ID``."""
        cursor = last_event_id if last_event_id is not None else after
        while not await request.is_disconnected():
            # the state first, then the lines: a line written before the end is never missed
            current = await run_in_threadpool(store.executions.get, execution.id)
            while True:
                lines = await run_in_threadpool(
                    store.logs.for_execution, execution.id, after_id=cursor, limit=STREAM_BATCH
                )
                for line in lines:
                    cursor = line.id
                    yield ServerSentEvent(data=log_event(line), event="log", id=str(line.id))
                if len(lines) < STREAM_BATCH:
                    break
            if current is None or is_terminal(current.state):
                yield ServerSentEvent(event="end", data={"state": current.state if current else None})
                return
            await asyncio.sleep(STREAM_POLL)

    @router.post("/executions/{execution_id}/kill", include_in_schema=False)
    def kill(execution_id: str) -> Response:
        services.kill_execution(execution_id)  # False when already over: the page shows its state anyway
        return RedirectResponse(f"{PREFIX}/executions/{execution_id}", status_code=status.HTTP_303_SEE_OTHER)

    @router.post("/executions/{execution_id}/restart", include_in_schema=False)
    def restart(request: Request, execution_id: str) -> Response:
        """A new execution of the flow's deployed revision with the same inputs and labels."""
        execution = store.executions.get(execution_id)
        if execution is None:
            return not_found(request, services, f"execution {execution_id}")
        try:
            new_id = services.submit_execution(
                execution.namespace, execution.flow_id, dict(execution.inputs or {}),
                labels={**(execution.labels or {}), "restarted-from": execution.id},
            )  # fmt: skip
        except (FlowNotFound, InputError) as exc:
            context = {"message": f"cannot restart: {exc.message}"}
            return page(request, "error.html", context, services=services, status_code=409)
        return RedirectResponse(f"{PREFIX}/executions/{new_id}", status_code=status.HTTP_303_SEE_OTHER)

    return router
