"""``GET /ui/``: executions per hour over the last day, running executions, the last sync, next runs."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from daemon.server.services import Services
from daemon.server.ui import overview_queries as oq
from daemon.server.ui import queries
from daemon.server.ui.charts import hourly_chart
from daemon.server.ui.render import page
from daemon.server.ui.syncs import invalid_files

RUNNING_LIMIT = 50
NEXT_RUNS_LIMIT = 15
TOP = 8
# period -> (buckets, bucket width, label every n buckets)
PERIODS = {"24h": (24, timedelta(hours=1), 3), "7d": (42, timedelta(hours=4), 6)}


def routes(services: Services) -> APIRouter:
    """The overview page."""
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse, include_in_schema=False)
    def overview(request: Request, period: str = Query("24h", pattern="^(24h|7d)$")) -> HTMLResponse:
        store, now = services.store, services.clock.now()
        buckets, width, every = PERIODS[period]
        counts = oq.executions_by_bucket(store, now=now, buckets=buckets, width=width)
        chart = hourly_chart(counts, now=now, width=100, step=width, label_every=every)
        since = now - width * buckets
        latest = store.syncs.latest(limit=5)
        context = {
            "section": "overview",
            "period": period,
            "syncs": latest,
            "namespaces": oq.failure_by_namespace(store, since=since, limit=TOP),
            "slowest": oq.slowest_flows(store, since=since, limit=TOP),
            "failing": oq.most_failing_flows(store, since=since, limit=TOP),
            "chart": chart,
            "running": queries.running_executions(store, limit=RUNNING_LIMIT),
            "sync": latest[0] if latest else None,
            "invalid": invalid_files(latest[0]) if latest else [],
            "next_runs": queries.next_runs(store, limit=NEXT_RUNS_LIMIT),
            "now": now,
        }
        return page(request, "overview.html", context, services=services)

    return router
