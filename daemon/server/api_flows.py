"""Flow endpoints: the deployed flows (read-only: Git is the source of truth), their revisions, validation."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, status

from daemon.engine.states import iso
from daemon.errors import FlowdError, FlowNotFound
from daemon.language import load_flow, validate_text
from daemon.language.model import Flow
from daemon.server import api_models as m
from daemon.server.api_auth import require_token
from daemon.server.api_executions import services_of
from daemon.store import DeployedFlow, Store, TriggerState

MAX_VALIDATE_BYTES = 1 << 20

router = APIRouter(prefix="/api/v1/flows", tags=["flows"], dependencies=[Depends(require_token)])

_YAML_BODY: dict[str, Any] = {
    "requestBody": {
        "description": "One flow file's YAML.",
        "required": True,
        "content": {
            "application/x-yaml": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}


@functools.lru_cache(maxsize=512)
def _parsed(source: str, file: str) -> Flow | None:
    # deployed sources were valid when synced; None if the flow language has since become stricter
    try:
        return load_flow(source, file)
    except FlowdError:
        return None


def _trigger_dates(state: TriggerState | None) -> dict[str, Any]:
    if state is None:
        return {}
    return {
        "nextExecutionDate": iso(state.next_date) if state.next_date else None,
        "lastExecutionDate": iso(state.last_date) if state.last_date else None,
    }


def flow_body(record: DeployedFlow, *, source: bool, states: list[TriggerState]) -> dict[str, Any]:
    """A deployed flow: its model (Kestra's properties, labels as key/value pairs) and its deployment."""
    flow = _parsed(record.source, record.path or f"{record.namespace}/{record.flow_id}")
    body: dict[str, Any] = flow.model_dump(mode="json", by_alias=True, exclude_none=True) if flow else {}
    body["labels"] = [{"key": k, "value": v} for k, v in (flow.labels if flow else {}).items()]
    by_id = {s.trigger_id: s for s in states}
    body["triggers"] = [{**t, **_trigger_dates(by_id.get(t.get("id", "")))} for t in body.get("triggers", [])]
    body.update(
        id=record.flow_id,
        namespace=record.namespace,
        revision=record.revision,
        syncState=record.sync_state,
        path=record.path,
        commit=record.commit,
        updated=iso(record.updated_at),
        deleted=record.deleted,
        source=record.source if source else None,
    )
    return body


def _flow_or_404(store: Store, namespace: str, flow_id: str) -> DeployedFlow:
    record = store.flows.get(namespace, flow_id)
    if record is None:
        raise FlowNotFound(namespace, flow_id)
    return record


@router.post(
    "/validate",
    summary="Validate a flow",
    response_model=list[m.DiagnosticOut],
    openapi_extra=_YAML_BODY,
)
async def validate(
    request: Request, file: str = Query("<request>", description="file name in diagnostics")
) -> Any:
    """Every problem of the posted flow YAML with line and column (an empty list: the flow is valid).
    Always 200 when the body could be read, as Kestra answers."""
    raw = await request.body()
    if len(raw) > MAX_VALIDATE_BYTES:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, detail="flow larger than 1 MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, detail="the body is not UTF-8 text") from exc
    result = validate_text(text, file)
    return [d.as_dict() for d in result.diagnostics]


@router.get("/{namespace}", summary="List the flows of a namespace", response_model=list[m.Flow])
def list_flows(request: Request, namespace: str) -> list[dict[str, Any]]:
    """The deployed flows of the namespace and its sub-namespaces (without their source)."""
    store = services_of(request).store
    by_flow: dict[tuple[str, str], list[TriggerState]] = {}
    for state in store.triggers.list():  # all of them: the flows listed include sub-namespaces
        by_flow.setdefault((state.namespace, state.flow_id), []).append(state)
    return [
        flow_body(record, source=False, states=by_flow.get((record.namespace, record.flow_id), []))
        for record in store.flows.list(namespace=namespace)
    ]


@router.get(
    "/{namespace}/{id}",
    summary="Get a deployed flow",
    response_model=m.Flow,
    response_model_exclude_none=False,
    responses={404: {"model": m.ErrorBody, "description": "unknown flow"}},
)
def get_flow(
    request: Request, namespace: str, id: str, source: bool = Query(False, description="include the YAML")
) -> dict[str, Any]:
    """The current revision of a flow with its sync state and triggers."""
    store = services_of(request).store
    record = _flow_or_404(store, namespace, id)
    states = store.triggers.list(namespace=namespace, flow_id=id)
    return flow_body(record, source=source, states=states)


@router.get(
    "/{namespace}/{id}/revisions",
    summary="List the revisions of a flow",
    response_model=list[m.FlowRevision],
    responses={404: {"model": m.ErrorBody, "description": "unknown flow"}},
)
def flow_revisions(request: Request, namespace: str, id: str) -> list[dict[str, Any]]:
    """Every revision, oldest first; a deleted revision records the flow's removal from the source."""
    store = services_of(request).store
    revisions = store.flows.revisions(namespace, id)
    if not revisions:
        raise FlowNotFound(namespace, id)
    return [
        {
            "namespace": r.namespace, "id": r.flow_id, "revision": r.revision, "source": r.source,
            "hash": r.hash, "path": r.path, "commit": r.commit, "created": iso(r.created_at),
            "deleted": r.deleted,
        }
        for r in revisions
    ]  # fmt: skip
