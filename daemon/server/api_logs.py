"""Execution logs: ``GET /api/v1/logs/{executionId}`` (one page: Kestra's ``page``/``size``), its
server-sent-events stream ``/follow``, and ``/download``: every line as text, streamed in chunks so no
log is ever held whole in memory."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from starlette.concurrency import run_in_threadpool

from daemon.engine.states import is_terminal, iso
from daemon.server import api_models as m
from daemon.server.api_auth import require_token
from daemon.server.api_executions import services_of
from daemon.store import Execution, LogLine, Store
from daemon.store.logs import LEVELS

FOLLOW_POLL = 0.25  # seconds between looks for new lines while following
DEFAULT_PAGE_SIZE = 1000
MAX_PAGE_SIZE = 10_000
DOWNLOAD_CHUNK = 1000  # lines read from the store at a time while downloading

router = APIRouter(prefix="/api/v1/logs", tags=["logs"], dependencies=[Depends(require_token)])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": m.ErrorBody, "description": "unknown execution"}}


def log_entry(execution: Execution, line: LogLine) -> dict[str, Any]:
    """One stored line in the API's shape."""
    return {
        "id": line.id,
        "namespace": execution.namespace,
        "flowId": execution.flow_id,
        "executionId": line.execution_id,
        "taskId": line.task_id,
        "taskRunId": line.task_run_id,
        "attemptNumber": line.attempt,
        "timestamp": iso(line.timestamp),
        "level": line.level,
        "message": line.message,
    }


def _level(minLevel: str | None) -> str | None:
    if minLevel is None:
        return None
    level = minLevel.upper()
    if level == "WARNING":
        level = "WARN"
    if level not in LEVELS:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=f"minLevel must be one of {list(LEVELS)}")
    return level


def _execution(request: Request, executionId: str) -> Execution:
    row = services_of(request).store.executions.get(executionId)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"execution {executionId} does not exist")
    return row


def _lines(
    store: Store, execution: Execution, *, after: int, task_id: str | None, task_run_id: str | None,
    level: str | None,
) -> list[dict[str, Any]]:  # fmt: skip
    lines = store.logs.for_execution(execution.id, task_id=task_id, after_id=after, min_level=level)
    return [log_entry(execution, line) for line in lines if task_run_id in (None, line.task_run_id)]


@router.get(
    "/{executionId}", summary="Logs of an execution", response_model=list[m.LogEntry], responses=NOT_FOUND
)
def get_logs(
    request: Request,
    response: Response,
    execution: Execution = Depends(_execution),
    minLevel: str | None = Query(None, description="TRACE, DEBUG, INFO, WARN or ERROR"),
    taskId: str | None = Query(None),
    taskRunId: str | None = Query(None),
    page: int = Query(1, ge=1, description="page number, from 1"),
    size: int = Query(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE, description="lines per page"),
) -> list[dict[str, Any]]:
    """One page of the execution's log lines in order, at least ``minLevel``, optionally of one task (run).
    ``X-Total-Count`` gives the number of lines; ``Link: <...>; rel="next"`` the next page when there is
    one. Every line at once: ``/download``."""
    store = services_of(request).store
    level = _level(minLevel)
    lines = store.logs.for_execution(
        execution.id, task_id=taskId, task_run_id=taskRunId, min_level=level,
        limit=size, offset=(page - 1) * size,
    )  # fmt: skip
    total = store.logs.count_for_execution(
        execution.id, task_id=taskId, task_run_id=taskRunId, min_level=level
    )
    response.headers["X-Total-Count"] = str(total)
    if page * size < total:
        following = request.url.include_query_params(page=page + 1, size=size)
        response.headers["Link"] = f'<{following}>; rel="next"'
    return [log_entry(execution, line) for line in lines]


def _text_lines(
    store: Store, execution: Execution, *, task_id: str | None, level: str | None
) -> Iterator[bytes]:
    after = 0
    while True:
        chunk = store.logs.for_execution(
            execution.id, task_id=task_id, after_id=after, min_level=level, limit=DOWNLOAD_CHUNK
        )
        if not chunk:
            return
        after = chunk[-1].id
        yield "".join(
            f"{iso(line.timestamp)} {line.level} {line.task_id or '-'} {line.message}\n" for line in chunk
        ).encode()


@router.get(
    "/{executionId}/download",
    summary="Download the logs of an execution (text, streamed)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/plain": {}}}, **NOT_FOUND},
)
def download_logs(
    request: Request,
    execution: Execution = Depends(_execution),
    minLevel: str | None = Query(None),
    taskId: str | None = Query(None),
) -> StreamingResponse:
    """Every line as ``<timestamp> <level> <taskId> <message>``, read and sent a chunk at a time."""
    store = services_of(request).store
    lines = _text_lines(store, execution, task_id=taskId, level=_level(minLevel))
    return StreamingResponse(
        lines, media_type="text/plain; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{execution.id}.log"'},
    )  # fmt: skip


@router.get(
    "/{executionId}/follow",
    summary="Follow the logs of an execution (server-sent events)",
    response_class=EventSourceResponse,
    responses=NOT_FOUND,
)
async def follow_logs(
    request: Request,
    execution: Execution = Depends(_execution),
    minLevel: str | None = Query(None),
    taskId: str | None = Query(None),
    last_event_id: int = Header(0, alias="Last-Event-ID", description="resume after this line id"),
) -> AsyncIterator[ServerSentEvent]:
    """Each log line as an event (``data``: a log entry, ``id``: the line id); once the execution has
    ended and every line was sent, one ``end`` event with its final state closes the stream."""
    store = services_of(request).store
    level = _level(minLevel)
    after = last_event_id
    while not await request.is_disconnected():
        # read the state before the lines: lines written before it turned terminal are then never missed
        row = await run_in_threadpool(store.executions.get, execution.id)
        entries = await run_in_threadpool(
            _lines, store, execution, after=after, task_id=taskId, task_run_id=None, level=level
        )
        for entry in entries:
            after = entry["id"]
            yield ServerSentEvent(data=entry, id=str(entry["id"]))
        if row is None or is_terminal(row.state):
            yield ServerSentEvent(event="end", data={"state": row.state if row else None})
            return
        await asyncio.sleep(FOLLOW_POLL)
