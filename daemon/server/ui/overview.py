"""``GET /ui/``: executions per hour over the last day, running executions, the last sync, next runs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from daemon.server.services import Services
from daemon.server.ui import queries
from daemon.server.ui.charts import hourly_chart
from daemon.server.ui.render import page
from daemon.server.ui.syncs import invalid_files

RUNNING_LIMIT = 50
NEXT_RUNS_LIMIT = 15


def routes(services: Services) -> APIRouter:
    """The overview page."""
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    def overview(request: Request) -> HTMLResponse:
        store, now = services.store, services.clock.now()
        chart = hourly_chart(queries.executions_by_hour(store, now=now), now=now)
        latest = store.syncs.latest(limit=1)
        context = {
            "chart": chart,
            "running": queries.running_executions(store, limit=RUNNING_LIMIT),
            "sync": latest[0] if latest else None,
            "invalid": invalid_files(latest[0]) if latest else [],
            "next_runs": queries.next_runs(store, limit=NEXT_RUNS_LIMIT),
            "now": now,
        }
        return page(request, "overview.html", context, services=services)

    return router
