"""``GET /ui/cluster``: the nodes sharing the store, their roles, the leader and their running executions."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from daemon.server.services import Services
from daemon.server.ui.render import page


def routes(services: Services) -> APIRouter:
    """The cluster page."""
    router = APIRouter()

    @router.get("/cluster", response_class=HTMLResponse, include_in_schema=False)
    def cluster(request: Request) -> HTMLResponse:
        from daemon.cluster.view import cluster_view

        view = cluster_view(services.store, services.clock.now())
        return page(request, "cluster.html", {"cluster": view}, services=services)

    return router
