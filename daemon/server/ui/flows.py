"""``/ui/flows``: the flows list (namespace tree, text filter) and a flow's page (source, revisions, diff,
topology, executions, the Execute form, whose POST starts an execution)."""

from __future__ import annotations

import difflib
from typing import Any

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from daemon.errors import FlowdError, FlowNotFound, InputError
from daemon.language.model import Flow
from daemon.server.api_inputs import check_file_inputs, read_inputs, staged_uploads
from daemon.server.services import Services
from daemon.server.ui import queries
from daemon.server.ui.forms import build_fields, form_values
from daemon.server.ui.render import PREFIX, not_found, page
from daemon.server.ui.topology import layout_flow
from daemon.store import FlowRevision

FLOWS_PAGE = 100
EXECUTIONS_PAGE = 20
SYNC_STATES = {"SYNCED": "synced", "OUT_OF_DATE": "file invalid", "DELETED": "deleted"}


def namespace_tree(counts: dict[str, int]) -> list[tuple[str, str, int, int]]:
    """Rows of the namespace tree: (full namespace, last part, depth, flows in it and below), with every
    parent namespace present even when it holds no flow itself."""
    totals: dict[str, int] = {}
    for namespace, n in counts.items():
        parts = namespace.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            totals[prefix] = totals.get(prefix, 0) + n
    return [(ns, ns.rsplit(".", 1)[-1], ns.count("."), totals[ns]) for ns in sorted(totals)]


def unified_diff(old: FlowRevision, new: FlowRevision) -> list[str]:
    """The unified diff between two revisions' sources."""
    return list(
        difflib.unified_diff(
            old.source.splitlines(), new.source.splitlines(),
            fromfile=f"revision {old.revision}", tofile=f"revision {new.revision}", lineterm="",
        )
    )  # fmt: skip


def routes(services: Services) -> APIRouter:
    """The flows pages."""
    router = APIRouter()
    store = services.store

    @router.get("/flows", response_class=HTMLResponse, include_in_schema=False)
    def flows(
        request: Request,
        q: str | None = Query(None, max_length=200),
        namespace: str | None = Query(None, max_length=255),
        hide: bool = Query(False, description="hide deleted flows"),
        page_number: int = Query(1, ge=1, alias="page"),
    ) -> HTMLResponse:
        result = queries.flow_page(
            store, text=q, namespace=namespace, include_deleted=not hide,
            offset=(page_number - 1) * FLOWS_PAGE, limit=FLOWS_PAGE,
        )  # fmt: skip
        keys = [(r.namespace, r.flow_id) for r in result.rows]
        context = {
            "result": result,
            "tree": namespace_tree(result.namespaces),
            "triggers": queries.triggers_of(store, keys),
            "last": queries.last_executions(store, keys),
            "q": q or "", "namespace": namespace or "", "hide": hide, "page": page_number,
            "pages": max(1, -(-result.total // FLOWS_PAGE)), "sync_states": SYNC_STATES,
        }  # fmt: skip
        return page(request, "flows.html", context, services=services)

    def flow_context(
        namespace: str,
        flow_id: str,
        *,
        revision: int | None,
        diff: tuple[int | None, int | None],
        page_number: int,
        given: dict[str, Any] | None = None,
        errors: dict[str, str] | None = None,
    ) -> dict[str, Any] | None:
        """The flow page's data; None when the flow (or any revision of it) does not exist."""
        deployed = store.flows.get(namespace, flow_id, include_deleted=True)
        if deployed is None:
            return None
        revisions = store.flows.revisions(namespace, flow_id)
        by_number = {r.revision: r for r in revisions}
        shown = by_number.get(revision or deployed.revision) or (revisions[-1] if revisions else None)
        if shown is None:
            return None
        flow: Flow | None = None
        problem: str | None = None
        try:
            flow = services.executor.flows.revision(namespace, flow_id, shown.revision).flow
        except FlowdError as exc:  # an old revision that today's language refuses: show its source only
            problem = exc.message
        left, right = diff
        diff_lines: list[str] | None = None
        if left is not None and right is not None and left in by_number and right in by_number:
            diff_lines = unified_diff(by_number[left], by_number[right])
        executions, total = queries.flow_executions(
            store, namespace, flow_id, offset=(page_number - 1) * EXECUTIONS_PAGE, limit=EXECUTIONS_PAGE
        )
        return {
            "deployed": deployed, "shown": shown, "revisions": revisions, "flow": flow, "problem": problem,
            "topology": layout_flow(flow) if flow is not None else None,
            "fields": build_fields(flow.inputs, given, errors) if flow is not None else [],
            "executable": flow is not None and not deployed.deleted and shown.revision == deployed.revision,
            "triggers": queries.triggers_of(store, [(namespace, flow_id)]).get((namespace, flow_id), []),
            "diff": diff_lines, "diff_from": left, "diff_to": right,
            "executions": executions, "executions_total": total, "page": page_number,
            "pages": max(1, -(-total // EXECUTIONS_PAGE)), "sync_states": SYNC_STATES, "form_error": None,
        }  # fmt: skip

    @router.get("/flows/{namespace}/{flow_id}", response_class=HTMLResponse, include_in_schema=False)
    def flow(
        request: Request,
        namespace: str,
        flow_id: str,
        revision: int | None = Query(None, ge=1),
        diff_from: int | None = Query(None, alias="from", ge=1),
        diff_to: int | None = Query(None, alias="to", ge=1),
        page_number: int = Query(1, ge=1, alias="page"),
    ) -> HTMLResponse:
        context = flow_context(
            namespace, flow_id, revision=revision, diff=(diff_from, diff_to), page_number=page_number
        )
        if context is None:
            return not_found(request, services, f"flow {namespace}/{flow_id}")
        return page(request, "flow.html", context, services=services)

    @router.post("/flows/{namespace}/{flow_id}/execute", include_in_schema=False)
    async def execute(request: Request, namespace: str, flow_id: str) -> Response:
        given = await read_inputs(request)

        def submit() -> str:
            _, index = services.executor.flows.current(namespace, flow_id)
            check_file_inputs(index.flow, given)
            given.values = form_values(given.values, index.flow.inputs)
            with staged_uploads(given) as values:
                return services.submit_execution(namespace, flow_id, values)

        try:
            execution_id = await run_in_threadpool(submit)
        except FlowNotFound:
            return not_found(request, services, f"flow {namespace}/{flow_id}")
        except FlowdError as exc:  # InputError names its input; others (a flow that no longer loads) do not
            errors = {exc.input_id: exc.message} if isinstance(exc, InputError) else {}
            shown = dict(given.values)
            context = await run_in_threadpool(
                lambda: flow_context(
                    namespace,
                    flow_id,
                    revision=None,
                    diff=(None, None),
                    page_number=1,
                    given=shown,
                    errors=errors,
                )
            )
            if context is None:
                return not_found(request, services, f"flow {namespace}/{flow_id}")
            context["form_error"] = exc.message
            return page(request, "flow.html", context, services=services, status_code=422)
        return RedirectResponse(f"{PREFIX}/executions/{execution_id}", status_code=status.HTTP_303_SEE_OTHER)

    return router
