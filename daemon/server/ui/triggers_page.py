"""``/ui/triggers``: every trigger of the deployed flows with its type, next and last fire dates (the cursor)
and whether it is disabled; actions: disable/enable (kept across syncs, saying when the Git source
disagrees), backfill a range (``daemon.schedule.backfill``, as ``flowd backfill``), unlock a stuck cursor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated
from urllib.parse import quote, urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from daemon.errors import FlowdError
from daemon.language.model import Flow
from daemon.schedule.backfill import backfill_ticks, create_backfill
from daemon.schedule.cursor import SCHEDULE_TYPES, first_cursor, schedule_of
from daemon.server.services import Services
from daemon.server.ui.render import PREFIX, page
from daemon.store import TriggerState
from daemon.store.tables import flows, triggers

STUCK_AFTER = timedelta(minutes=5)  # a schedule cursor this far in the past is not moving
MAX_BACKFILL = 10_000  # ticks per backfill from the UI


@dataclass(frozen=True, slots=True)
class TriggerRow:
    """A trigger as the page shows it."""

    state: TriggerState
    type: str
    source_disabled: bool | None  # what the Git source says (None: the flow no longer loads)
    schedule: bool
    stuck: bool


def _source_disabled(flow: Flow | None, trigger_id: str) -> tuple[str, bool | None, bool]:
    if flow is None:
        return "", None, False
    trigger = next((t for t in flow.triggers if t.id == trigger_id), None)
    if trigger is None:
        return "", None, False
    return trigger.type, bool(trigger.disabled or flow.disabled), isinstance(trigger, SCHEDULE_TYPES)


def routes(services: Services) -> APIRouter:
    """The triggers page and its actions (POST only, with the CSRF token)."""
    router = APIRouter()
    store = services.store

    def load_flow(namespace: str, flow_id: str) -> Flow | None:
        try:
            return services.executor.flows.current(namespace, flow_id)[1].flow
        except FlowdError:
            return None

    def fresh_cursor(state: TriggerState) -> datetime | None:
        """A schedule's next tick from now (None for other triggers, or a flow that does not load: the
        scheduler then computes it when it next reads the triggers)."""
        flow = load_flow(state.namespace, state.flow_id)
        trigger = next((t for t in flow.triggers if t.id == state.trigger_id), None) if flow else None
        if not isinstance(trigger, SCHEDULE_TYPES):
            return None
        try:
            schedule = schedule_of(state.namespace, state.flow_id, trigger)
        except FlowdError:
            return None
        return first_cursor(schedule, since=services.clock.now(), last_date=state.last_date)

    def rows() -> list[TriggerRow]:
        t, f = triggers, flows
        query = (
            sa.select(t)
            .join(f, sa.and_(f.c.namespace == t.c.namespace, f.c.flow_id == t.c.flow_id))
            .where(f.c.deleted.is_(False))
            .order_by(t.c.namespace, t.c.flow_id, t.c.trigger_id)
        )
        with store.engine.connect() as conn:
            states = [TriggerState(**row._mapping) for row in conn.execute(query)]
        now = services.clock.now()
        cache: dict[tuple[str, str], Flow | None] = {}
        out: list[TriggerRow] = []
        for s in states:
            key = (s.namespace, s.flow_id)
            if key not in cache:
                cache[key] = load_flow(*key)
            kind, source, schedule = _source_disabled(cache[key], s.trigger_id)
            late = s.next_date is not None and s.next_date < now - STUCK_AFTER
            stuck = schedule and not s.disabled and (s.next_date is None or late)
            out.append(TriggerRow(s, kind, source, schedule, stuck))
        return out

    @router.get("/triggers", response_class=HTMLResponse, include_in_schema=False)
    def triggers_list(request: Request) -> HTMLResponse:
        params = request.query_params
        context = {
            "section": "triggers", "rows": rows(), "message": params.get("message"),
            "problem": params.get("problem"),
        }  # fmt: skip
        return page(request, "triggers.html", context, services=services)

    def back(message: str, *, problem: bool = False) -> Response:
        query = urlencode({"problem" if problem else "message": message})
        return RedirectResponse(f"{PREFIX}/triggers?{query}", status_code=status.HTTP_303_SEE_OTHER)

    base = "/triggers/{namespace}/{flow_id}/{trigger_id}"

    @router.post(base + "/disable", include_in_schema=False)
    def disable(namespace: str, flow_id: str, trigger_id: str) -> Response:
        return toggle(namespace, flow_id, trigger_id, disabled=True)

    @router.post(base + "/enable", include_in_schema=False)
    def enable(namespace: str, flow_id: str, trigger_id: str) -> Response:
        return toggle(namespace, flow_id, trigger_id, disabled=False)

    def toggle(namespace: str, flow_id: str, trigger_id: str, *, disabled: bool) -> Response:
        name = f"{namespace}.{flow_id} {trigger_id}"
        _, source, _ = _source_disabled(load_flow(namespace, flow_id), trigger_id)
        if source is None:
            return back(f"{name}: no such trigger in the deployed flow", problem=True)
        if not disabled and source:
            return back(f"{name} is disabled in the flow's Git source: enable it there", problem=True)
        now = services.clock.now()
        state = store.triggers.get(namespace, flow_id, trigger_id)
        with store.begin() as conn:
            found = store.triggers.set_disabled(
                namespace, flow_id, trigger_id, disabled=disabled, source_disabled=source, now=now, conn=conn
            )
            if found and state is not None and not disabled:
                # a fresh cursor from now: no catch-up of the ticks it was disabled for
                store.triggers.set_dates(namespace, flow_id, trigger_id, next_date=fresh_cursor(state),
                                         last_date=state.last_date, now=now, conn=conn)  # fmt: skip
        if not found:
            return back(f"{name}: no such trigger", problem=True)
        note = " (kept across syncs; the Git source enables it)" if disabled and not source else ""
        return back(f"{name} {'disabled' if disabled else 'enabled'}{note}")

    @router.post(base + "/unlock", include_in_schema=False)
    def unlock(namespace: str, flow_id: str, trigger_id: str) -> Response:
        """Restart a stuck cursor from now (the scheduler computes the next tick afresh)."""
        state = store.triggers.get(namespace, flow_id, trigger_id)
        if state is None:
            return back(f"{namespace}.{flow_id} {trigger_id}: no such trigger", problem=True)
        store.triggers.set_dates(namespace, flow_id, trigger_id, next_date=fresh_cursor(state),
                                 last_date=state.last_date, now=services.clock.now())  # fmt: skip
        return back(f"{namespace}.{flow_id} {trigger_id} unlocked: its cursor restarts from now")

    @router.post(base + "/backfill", include_in_schema=False)
    def backfill(
        namespace: str,
        flow_id: str,
        trigger_id: str,
        start: Annotated[str, Form()] = "",
        end: Annotated[str, Form()] = "",
    ) -> Response:
        name = f"{namespace}.{flow_id} {trigger_id}"
        record = store.flows.get(namespace, flow_id)
        flow = load_flow(namespace, flow_id)
        trigger = next((t for t in flow.triggers if t.id == trigger_id), None) if flow else None
        if record is None or flow is None or not isinstance(trigger, SCHEDULE_TYPES):
            return back(f"{name}: not a schedule trigger of a deployed flow", problem=True)
        try:
            begin = _moment(start, "start")
            finish = _moment(end, "end")
        except ValueError as exc:
            return back(f"{name}: {exc}", problem=True)
        if finish <= begin:
            return back(f"{name}: the end must be after the start", problem=True)
        schedule, ticks = backfill_ticks(namespace, flow_id, trigger, begin, finish)
        if len(ticks) > MAX_BACKFILL:
            too_many = f"{name}: {len(ticks)} ticks; at most {MAX_BACKFILL} from the UI (use flowd backfill)"
            return back(too_many, problem=True)
        created = create_backfill(
            store,
            services.executor,
            record,
            flow,
            trigger,
            schedule,
            ticks,
            now=services.clock.now,
            own=False,
        )
        done = len(ticks) - len(created)
        return back(f"{name}: {len(ticks)} tick(s), {len(created)} created, {done} done before")

    return router


def _moment(text: str, name: str) -> datetime:
    """A ``datetime-local`` value read as UTC (or ISO-8601 with its zone)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{name} '{text}' is not a date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def action_url(state: TriggerState, action: str) -> str:
    """The URL of an action on a trigger."""
    parts = (state.namespace, state.flow_id, state.trigger_id)
    return f"{PREFIX}/triggers/" + "/".join(quote(p, safe="") for p in parts) + f"/{action}"
