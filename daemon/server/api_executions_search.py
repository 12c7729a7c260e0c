"""``GET /api/v1/executions/search``: Kestra's executions search, with its parameters and page shape.

``page``/``size`` (1-based offset pages), ``namespace`` (with sub-namespaces), ``flowId``, ``state``
(repeatable), ``labels`` (repeatable ``key:value``), ``startDate``/``endDate`` (the start date range),
``timeRange`` (an ISO-8601 duration back from now), ``sort`` (``state.startDate:desc``, ``flow``, ``state``).
flowd adds ``triggerType`` and keyset paging: ``after`` (the ``nextCursor`` of the previous answer) reads the
next page at the cost of the first, however deep.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Query, Request, status
from pydantic import Field, TypeAdapter, ValidationError

from daemon.engine.api_shape import execution_to_api
from daemon.engine.states import ALL_STATES
from daemon.errors import UsageError
from daemon.server import api_models as m
from daemon.server.api_auth import require_token
from daemon.server.executions_query import ExecutionFilter, Sort, parse_labels, search
from daemon.server.services import Services
from daemon.store import Store, TaskRun
from daemon.store.tables import task_runs

MAX_PAGE_SIZE = 1000
_DURATION: TypeAdapter[timedelta] = TypeAdapter(timedelta)

router = APIRouter(prefix="/api/v1/executions", tags=["executions"], dependencies=[Depends(require_token)])


class ExecutionPage(m.ExecutionPage):
    """Kestra's ``PagedResults`` plus flowd's keyset cursor (the OpenAPI name stays ``ExecutionPage``)."""

    nextCursor: str | None = Field(None, description="pass as `after` for the next page (keyset paging)")


def _date(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=f"{name}: '{text}' is not ISO-8601") from None
    if moment.tzinfo is None:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=f"{name}: '{text}' has no time zone")
    return moment


def task_runs_of(store: Store, execution_ids: list[str]) -> dict[str, list[TaskRun]]:
    """The task runs of several executions in one query, each list in the order they became ready."""
    out: dict[str, list[TaskRun]] = {i: [] for i in execution_ids}
    if not execution_ids:
        return out
    tr = task_runs
    query = sa.select(tr).where(tr.c.execution_id.in_(execution_ids)).order_by(tr.c.ready_at, tr.c.id)
    with store.engine.connect() as conn:
        for row in conn.execute(query):
            out[row.execution_id].append(TaskRun(**row._mapping))
    return out


@router.get("/search", summary="Search executions", response_model=ExecutionPage)
def search_executions(
    request: Request,
    namespace: str | None = Query(None, description="namespace (also matches its sub-namespaces)"),
    flowId: str | None = Query(None),
    state: Annotated[list[str] | None, Query(description="execution states (repeatable)")] = None,
    labels: Annotated[list[str] | None, Query(description="`key:value` (repeatable)")] = None,
    startDate: str | None = Query(None, description="executions started at or after (ISO-8601)"),
    endDate: str | None = Query(None, description="executions started before (ISO-8601)"),
    timeRange: str | None = Query(None, description="ISO-8601 duration back from now, e.g. PT24H"),
    triggerType: str | None = Query(None, description="MANUAL, SCHEDULE, FLOW, WEBHOOK, SUBFLOW or a type"),
    sort: str | None = Query(None, description="`state.startDate:desc` (default), `flow:asc`, `state`"),
    page: int = Query(1, ge=1, description="1-based page number"),
    size: int = Query(10, ge=1, le=MAX_PAGE_SIZE),
    after: str | None = Query(None, description="keyset cursor (`nextCursor`); `page` is then ignored"),
) -> dict[str, Any]:
    """Matching executions, one page at a time; ``total`` counts every match."""
    services: Services = request.app.state.services
    states = tuple(s.upper() for s in state or [])
    unknown = [s for s in states if s not in ALL_STATES]
    if unknown:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=f"unknown state(s) {unknown}")
    start_from = _date(startDate, "startDate")
    if timeRange:
        try:
            span = _DURATION.validate_python(timeRange)
        except ValidationError:
            detail = f"timeRange: '{timeRange}' is not an ISO-8601 duration"
            raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=detail) from None
        start_from = services.clock.now() - span
    try:
        criteria = ExecutionFilter(
            namespace=namespace or None, flow_id=flowId or None, states=states,
            labels=parse_labels(labels or []), trigger_type=triggerType or None,
            start_from=start_from, start_to=_date(endDate, "endDate"),
        )  # fmt: skip
        order = Sort.parse(sort)
        found = search(
            services.store, criteria, sort=order, size=size, after=after,
            offset=None if after else (page - 1) * size,
        )  # fmt: skip
    except UsageError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail=exc.message) from None
    runs = task_runs_of(services.store, [row.id for row in found.rows])
    results = [execution_to_api(row, runs[row.id]) for row in found.rows]
    return {"results": results, "total": found.total, "nextCursor": found.next_cursor}
