"""``/ui/logs``: log lines across executions by time range, namespace, flow, level and text, each linking
to its execution; a range ending "now" follows new lines (the page's script polls ``/ui/logs/tail``).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.datastructures import QueryParams

from daemon.engine.states import iso
from daemon.server.services import Services
from daemon.server.ui.log_search import LogFilter, LogHit, search_logs
from daemon.server.ui.render import PREFIX, page
from daemon.store.logs import LEVELS

PAGE = 200
TAIL = 500
RANGES = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "24h": timedelta(days=1),
          "7d": timedelta(days=7)}  # fmt: skip


def _moment(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None
    return moment if moment is None or moment.tzinfo else moment.replace(tzinfo=UTC)


def read_filter(params: QueryParams, now: datetime) -> tuple[LogFilter, dict[str, str], bool]:
    """The filter, what the form shows, and whether the range ends now (then the page follows)."""
    form = {
        key: params.get(key, "").strip() for key in ("namespace", "flow", "level", "q", "range", "from", "to")
    }
    form["range"] = form["range"] if form["range"] in (*RANGES, "custom") else "1h"
    if form["range"] == "custom":
        start_from, start_to = _moment(form["from"]), _moment(form["to"])
    else:
        start_from, start_to = now - RANGES[form["range"]], None
    criteria = LogFilter(
        start_from=start_from, start_to=start_to, namespace=form["namespace"] or None,
        flow_id=form["flow"] or None, min_level=form["level"] if form["level"] in LEVELS else None,
        text=form["q"] or None,
    )  # fmt: skip
    return criteria, form, start_to is None


def hit_json(hit: LogHit) -> dict[str, Any]:
    """A line as the live script's JSON."""
    return {
        "id": hit.id, "execution": hit.execution_id, "namespace": hit.namespace, "flow": hit.flow_id,
        "task": hit.task_id, "level": hit.level, "time": iso(hit.timestamp), "message": hit.message,
    }  # fmt: skip


def routes(services: Services) -> APIRouter:
    """The logs page and its live tail."""
    router = APIRouter()

    @router.get("/logs", response_class=HTMLResponse, include_in_schema=False)
    def logs(request: Request, before: str | None = Query(None, max_length=80)) -> HTMLResponse:
        criteria, form, live = read_filter(request.query_params, services.clock.now())
        cursor = None
        if before and "~" in before:
            moment, _, line_id = before.partition("~")
            parsed = _moment(moment)
            cursor = (parsed, int(line_id)) if parsed and line_id.isdigit() else None
        hits = search_logs(services.store, criteria, limit=PAGE + 1, before=cursor)
        more = len(hits) > PAGE
        hits = hits[:PAGE]
        older = None
        if more:
            kept = [(k, v) for k, v in request.query_params.multi_items() if k != "before"]
            kept.append(("before", f"{hits[-1].timestamp.isoformat()}~{hits[-1].id}"))
            older = f"{PREFIX}/logs?{urlencode(kept)}"
        tail = [(k, v) for k, v in request.query_params.multi_items() if k not in ("before",)]
        context = {
            "section": "logs", "form": form, "hits": hits, "levels": LEVELS, "older": older,
            "live": live and cursor is None, "last_id": max((h.id for h in hits), default=0),
            "tail_url": f"{PREFIX}/logs/tail?{urlencode(tail)}", "ranges": RANGES,
        }  # fmt: skip
        return page(request, "logs.html", context, services=services)

    @router.get("/logs/tail", include_in_schema=False)
    def tail(request: Request, after: int = Query(0, ge=0)) -> JSONResponse:
        """New matching lines after the line id ``after``, oldest first (the live part of the page)."""
        criteria, _, _ = read_filter(request.query_params, services.clock.now())
        hits = search_logs(services.store, criteria, limit=TAIL, after_id=after)
        return JSONResponse({"lines": [hit_json(h) for h in hits]})

    return router
