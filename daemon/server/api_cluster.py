"""``GET /api/v1/cluster``: the nodes of the cluster (roles, leader, last beat, running executions)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from daemon.server.api_auth import require_token
from daemon.server.api_executions import services_of

router = APIRouter(prefix="/api/v1/cluster", tags=["cluster"], dependencies=[Depends(require_token)])


@router.get("", summary="Cluster nodes and leader")
async def cluster(request: Request) -> dict[str, Any]:
    """Every node that beat into the store (``alive`` when within 20 s), the leader, and the source the
    store follows."""
    from daemon.cluster.view import cluster_view

    services = services_of(request)
    return await run_in_threadpool(cluster_view, services.store, services.clock.now())
