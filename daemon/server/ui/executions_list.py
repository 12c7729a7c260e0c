"""``/ui/executions``: every execution, filtered (namespace prefix, flow, states, labels, trigger type, time
range), sorted, keyset-paged, the filter kept in the URL; and ``POST /ui/executions/bulk``: kill, restart or
delete the selected executions after a confirmation page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams

from daemon.engine.states import ALL_STATES, is_terminal
from daemon.errors import FlowdError, UsageError
from daemon.server.executions_query import TRIGGER_CHOICES, ExecutionFilter, Sort, parse_labels, search
from daemon.server.services import Services
from daemon.server.ui.render import PREFIX, page

PAGE_SIZES = (25, 50, 100)
COUNT_LIMIT = 1_000  # the page says "1,000+" rather than counting a million rows
RANGES = {
    "1h": timedelta(hours=1),
    "24h": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
ACTIONS = {"kill": "Kill", "restart": "Restart", "delete": "Delete"}
MAX_SELECTION = 500


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The page's query string, read once: the filter, the sort, the page size and the cursor."""

    criteria: ExecutionFilter
    form: dict[str, Any]  # what the filter form shows
    sort: Sort
    size: int
    after: str | None
    before: str | None
    error: str | None = None


def _moment(text: str) -> datetime | None:
    """A ``datetime-local`` value (or ISO-8601), read as UTC when it has no zone."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"'{text}' is not a date and time (YYYY-MM-DDTHH:MM)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def read_query(params: QueryParams, now: datetime) -> ListQuery:
    """The page's parameters; a bad one is reported on the page (and ignored), never a 500."""
    form: dict[str, Any] = {
        "namespace": params.get("namespace", "").strip(), "flow": params.get("flow", "").strip(),
        "states": [s for s in params.getlist("state") if s in ALL_STATES],
        "labels": params.get("labels", "").strip(), "trigger": params.get("trigger", ""),
        "range": params.get("range", "7d"), "from": params.get("from", ""), "to": params.get("to", ""),
        "sort": params.get("sort", "start:desc"),
    }  # fmt: skip
    size = (
        int(params["size"]) if params.get("size", "").isdigit() and int(params["size"]) in PAGE_SIZES else 50
    )
    error = None
    try:
        labels = parse_labels(form["labels"].replace(",", " ").split())
        start_from = start_to = None
        if form["range"] in RANGES:
            start_from = now - RANGES[form["range"]]
        elif form["range"] == "custom":
            start_from, start_to = _moment(form["from"]), _moment(form["to"])
        sort = Sort.parse(form["sort"])
    except UsageError as exc:
        labels, start_from, start_to, sort, error = (), None, None, Sort(), exc.message
    trigger = form["trigger"] if form["trigger"] in TRIGGER_CHOICES else None
    criteria = ExecutionFilter(
        namespace=form["namespace"] or None, flow_id=form["flow"] or None, states=tuple(form["states"]),
        labels=labels, trigger_type=trigger, start_from=start_from, start_to=start_to,
    )  # fmt: skip
    return ListQuery(criteria, form, sort, size, params.get("after"), params.get("before"), error)


def link(params: QueryParams, **changes: str | None) -> str:
    """This page's URL with some parameters changed (None removes one); the cursor never carries over."""
    kept = [
        (k, v) for k, v in params.multi_items() if k not in changes and k not in ("after", "before", "done")
    ]
    kept += [(k, v) for k, v in changes.items() if v is not None]
    return f"{PREFIX}/executions" + (f"?{urlencode(kept)}" if kept else "")


def routes(services: Services) -> APIRouter:
    """The executions list and its bulk actions."""
    router = APIRouter()
    store = services.store

    @router.get("/executions", response_class=HTMLResponse, include_in_schema=False)
    def executions(request: Request) -> HTMLResponse:
        params = request.query_params
        query = read_query(params, services.clock.now())
        error = query.error
        try:
            found = search(
                store, query.criteria, sort=query.sort, size=query.size, after=query.after,
                before=query.before, count_limit=COUNT_LIMIT,
            )  # fmt: skip
        except UsageError as exc:  # a cursor from another sort: show the first page
            error = exc.message
            found = search(store, query.criteria, sort=query.sort, size=query.size, count_limit=COUNT_LIMIT)
        sorts = {}
        for key in ("start", "flow", "state"):
            descending = not (query.sort.key == key and query.sort.descending)
            sorts[key] = link(params, sort=f"{key}:{'desc' if descending else 'asc'}")
        context = {
            "section": "executions", "query": query, "form": query.form, "found": found, "error": error,
            "states": ALL_STATES, "triggers": TRIGGER_CHOICES, "sizes": PAGE_SIZES, "sorts": sorts,
            "next_url": link(params, after=found.next_cursor) if found.next_cursor else None,
            "prev_url": link(params, before=found.prev_cursor) if found.prev_cursor else None,
            "back": str(params), "done": params.get("done"), "actions": ACTIONS,
        }  # fmt: skip
        return page(request, "executions.html", context, services=services)

    @router.post("/executions/bulk", include_in_schema=False)
    async def bulk(request: Request) -> Response:
        form = await request.form()
        action = str(form.get("action", ""))
        ids = list(dict.fromkeys(str(v) for v in form.getlist("ids")))[:MAX_SELECTION]
        back = str(form.get("back", ""))
        if action not in ACTIONS:
            return page(request, "error.html", {"message": f"unknown action '{action}'"}, services=services,
                        status_code=400)  # fmt: skip
        if form.get("confirmed") != "yes":
            rows = [
                row for row in await run_in_threadpool(lambda: [store.executions.get(i) for i in ids]) if row
            ]
            context = {"section": "executions", "action": action, "label": ACTIONS[action], "rows": rows,
                       "back": back}  # fmt: skip
            return page(request, "bulk_confirm.html", context, services=services)
        done, skipped = await run_in_threadpool(apply_bulk, services, action, ids)
        query = QueryParams(back)
        target = link(query, done=f"{action}:{done}:{skipped}")
        return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)

    return router


def apply_bulk(services: Services, action: str, ids: list[str]) -> tuple[int, int]:
    """Kill, restart or delete each execution; returns (done, skipped). Kill skips finished executions,
    delete skips running ones (kill them first), restart skips flows that no longer exist."""
    store = services.store
    done = skipped = 0
    for execution_id in ids:
        execution = store.executions.get(execution_id)
        if execution is None:
            skipped += 1
            continue
        ok = False
        if action == "kill":
            ok = not is_terminal(execution.state) and services.kill_execution(execution_id)
        elif action == "delete":
            ok = is_terminal(execution.state) and store.executions.delete(execution_id)
        elif action == "restart":
            try:
                services.submit_execution(
                    execution.namespace, execution.flow_id, dict(execution.inputs or {}),
                    labels={**(execution.labels or {}), "restarted-from": execution.id},
                )  # fmt: skip
                ok = True
            except FlowdError:
                ok = False
        done, skipped = (done + 1, skipped) if ok else (done, skipped + 1)
    return done, skipped
