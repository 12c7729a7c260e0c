"""``GET /ui/syncs``: the history of syncs with their commits, per-flow plan and diagnostics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from daemon.server.services import Services
from daemon.server.ui import queries
from daemon.server.ui.render import page
from daemon.store import SyncRun

PAGE_SIZE = 25


def invalid_files(sync: SyncRun) -> list[dict[str, Any]]:
    """The invalid files of a sync (``path``, ``uid``, ``diagnostics``), from its plan."""
    plan = sync.plan if isinstance(sync.plan, dict) else {}
    return [f for f in plan.get("invalid") or [] if isinstance(f, dict)]


def changes(sync: SyncRun) -> list[dict[str, Any]]:
    """The per-flow changes a sync applied (or would have, when refused)."""
    plan = sync.plan if isinstance(sync.plan, dict) else {}
    return [c for c in plan.get("changes") or [] if isinstance(c, dict)]


def general_errors(sync: SyncRun) -> list[str]:
    """Messages of a sync's errors that belong to no file (source unreachable, refused plan)."""
    return [str(e.get("message")) for e in sync.errors or [] if isinstance(e, dict) and not e.get("file")]


def routes(services: Services) -> APIRouter:
    """The syncs page (keyset-paged by sync id)."""
    router = APIRouter()

    @router.get("/syncs", response_class=HTMLResponse, include_in_schema=False)
    def syncs(request: Request, before: int | None = Query(None, ge=1)) -> HTMLResponse:
        rows = queries.sync_page(services.store, before_id=before, limit=PAGE_SIZE + 1)
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        items = [
            {"sync": s, "changes": changes(s), "invalid": invalid_files(s), "errors": general_errors(s),
             "plan": s.plan if isinstance(s.plan, dict) else {}}
            for s in rows
        ]  # fmt: skip
        context = {"items": items, "older": rows[-1].id if more and rows else None}
        return page(request, "syncs.html", context, services=services)

    return router
