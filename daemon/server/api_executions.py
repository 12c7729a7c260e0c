"""Execution endpoints: create (form, multipart or JSON inputs; ``wait=true``), get, search, kill, resume.

Shapes are Kestra's (``daemon.engine.api_shape``). Store calls run in the thread pool; calls reaching the
executor go through ``Services``, which hands them to the daemon loop.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from starlette.concurrency import run_in_threadpool

from daemon.engine.api_shape import execution_to_api
from daemon.engine.states import PAUSED, is_terminal
from daemon.errors import FlowNotFound
from daemon.server import api_models as m
from daemon.server.api_auth import require_token
from daemon.server.api_inputs import (
    check_file_inputs,
    merged_labels,
    parse_labels,
    read_inputs,
    staged_uploads,
)
from daemon.server.services import Services
from daemon.store import Store

WAIT_POLL = 0.1  # seconds between looks at an execution a ``wait=true`` call waits for
MAX_PAGE_SIZE = 1000

router = APIRouter(prefix="/api/v1/executions", tags=["executions"], dependencies=[Depends(require_token)])

NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": m.ErrorBody, "description": "unknown execution"}}

_INPUTS_BODY: dict[str, Any] = {
    "requestBody": {
        "description": "Inputs as form fields (FILE inputs as uploaded files), or a JSON object.",
        "required": False,
        "content": {
            "multipart/form-data": {"schema": {"type": "object", "additionalProperties": True}},
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "additionalProperties": True}},
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "inputs": {"type": "object", "additionalProperties": True},
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                }
            },
        },
    }
}


def services_of(request: Request) -> Services:
    """The ``Services`` the app was built with."""
    services: Services = request.app.state.services
    return services


def execution_or_404(store: Store, execution_id: str) -> dict[str, Any]:
    """The execution in Kestra's shape; 404 when it does not exist."""
    with store.read() as conn:  # both reads in one transaction: one checkout, one BEGIN/COMMIT
        row = store.executions.get(execution_id, conn=conn)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, detail=f"execution {execution_id} does not exist")
        runs = store.executions.list_task_runs(execution_id, conn=conn)
    return execution_to_api(row, runs)


async def wait_until_terminal(request: Request, store: Store, execution_id: str) -> None:
    """Return once the execution is terminal (or the client went away)."""
    while not await request.is_disconnected():
        row = await run_in_threadpool(store.executions.get, execution_id)
        if row is None or is_terminal(row.state):
            return
        await asyncio.sleep(WAIT_POLL)


@router.get("/{executionId}", summary="Get an execution", response_model=m.Execution, responses=NOT_FOUND)
def get_execution(request: Request, executionId: str) -> dict[str, Any]:
    """An execution with its task runs."""
    return execution_or_404(services_of(request).store, executionId)


@router.delete(
    "/{executionId}/kill",
    summary="Kill an execution",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=m.Execution,
    responses={**NOT_FOUND, 409: {"model": m.ErrorBody, "description": "the execution already ended"}},
)
def kill_execution(request: Request, executionId: str) -> dict[str, Any]:
    """Ask for the execution to be killed: KILLING now, KILLED once its running tasks have stopped."""
    services = services_of(request)
    shape = execution_or_404(services.store, executionId)
    if is_terminal(shape["state"]["current"]) or not services.kill_execution(executionId):
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"execution {executionId} has already ended")
    return execution_or_404(services.store, executionId)


@router.post(
    "/{executionId}/resume",
    summary="Resume a paused execution",
    response_model=m.Execution,
    responses={**NOT_FOUND, 409: {"model": m.ErrorBody, "description": "the execution is not paused"}},
)
def resume_execution(request: Request, executionId: str) -> dict[str, Any]:
    """Its paused tasks succeed and the flow goes on."""
    services = services_of(request)
    shape = execution_or_404(services.store, executionId)
    if shape["state"]["current"] != PAUSED or not services.resume_execution(executionId):
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"execution {executionId} is not paused")
    return execution_or_404(services.store, executionId)


@router.post(
    "/{namespace}/{flowId}",
    summary="Create an execution",
    response_model=m.Execution,
    openapi_extra=_INPUTS_BODY,
    responses={
        400: {"model": m.ErrorBody, "description": "malformed request"},
        404: {"model": m.ErrorBody, "description": "unknown flow"},
        422: {"model": m.ErrorBody, "description": "an input is missing or invalid (named in `input`)"},
    },
)
async def create_execution(
    request: Request,
    namespace: str,
    flowId: str,
    labels: Annotated[list[str] | None, Query(description="labels as key:value (repeatable)")] = None,
    wait: bool = Query(False, description="answer once the execution has ended"),
) -> dict[str, Any]:
    """Start the deployed flow with the given inputs; returns the new execution (or the ended one with
    ``wait=true``)."""
    services = services_of(request)
    query_labels = parse_labels(labels or [])
    given = await read_inputs(request)
    record = await run_in_threadpool(services.store.flows.get, namespace, flowId)
    if record is None:
        raise FlowNotFound(namespace, flowId)
    index = await run_in_threadpool(services.executor.flows.revision, namespace, flowId, record.revision)
    check_file_inputs(index.flow, given)

    def submit() -> str:
        with staged_uploads(given) as values:
            return services.submit_execution(
                namespace, flowId, values, labels=merged_labels(query_labels, given.labels) or None,
                record=record,
            )  # fmt: skip

    execution_id = await run_in_threadpool(submit)
    if wait:
        await wait_until_terminal(request, services.store, execution_id)
    return await run_in_threadpool(execution_or_404, services.store, execution_id)
