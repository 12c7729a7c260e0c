"""Read-only endpoint for ``flowd plan --against URL``: the deployed flows with their sources and hashes, so
a pull request's CI can plan against production with the API token and no database credentials."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from daemon.server.api_auth import require_token
from daemon.server.api_executions import services_of

router = APIRouter(prefix="/api/v1/plan", tags=["flows"], dependencies=[Depends(require_token)])


@router.get("/deployed", summary="The deployed flows, as planning needs them")
async def deployed(request: Request) -> dict[str, Any]:
    """Every live deployed flow: namespace, id, revision, content hash, file path, sync state and source."""
    store = services_of(request).store

    def read() -> list[dict[str, Any]]:
        return [
            {
                "namespace": f.namespace,
                "id": f.flow_id,
                "revision": f.revision,
                "hash": f.hash,
                "path": f.path,
                "syncState": f.sync_state,
                "source": f.source,
            }
            for f in store.flows.list()
        ]

    return {"flows": await run_in_threadpool(read)}
