"""``/api/v1/executions/webhook/{namespace}/{flowId}/{key}``: start a flow through its Webhook trigger.

No API token: the trigger's key is the secret. A wrong key and an unknown flow look the same (404), so the
endpoint does not tell which flows exist.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request, status
from starlette.concurrency import run_in_threadpool

from daemon.server import api_models as m
from daemon.server.api_executions import execution_or_404, services_of

# credentials never end up in an execution's trigger variables (nor, with them, in the store)
PRIVATE_HEADERS = frozenset(
    {"authorization", "cookie", "proxy-authorization", "x-gitlab-token", "x-api-key", "x-auth-token"}
)
PRIVATE_PREFIXES = ("x-hub-signature",)

router = APIRouter(prefix="/api/v1/executions/webhook", tags=["webhooks"])


def _multi(items: list[tuple[str, str]], *, skip: frozenset[str] = frozenset()) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, value in items:
        if key.lower() not in skip and not (skip and key.lower().startswith(PRIVATE_PREFIXES)):
            out.setdefault(key, []).append(value)
    return out


async def webhook(request: Request, namespace: str, flowId: str, key: str) -> dict[str, Any]:
    """Start the flow; the execution sees ``trigger.body`` (JSON-parsed when it parses), ``trigger.headers``
    and ``trigger.parameters`` (query parameters), each header and parameter as a list of values."""
    services = services_of(request)
    body = await request.body()
    headers = _multi(request.headers.items(), skip=PRIVATE_HEADERS)
    parameters = _multi(list(request.query_params.multi_items()))
    execution_id = await run_in_threadpool(
        services.fire_webhook, namespace, flowId, key, body or None, headers, parameters
    )
    if execution_id is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, detail="no such flow or webhook key")
    return await run_in_threadpool(execution_or_404, services.store, execution_id)


for _method in ("GET", "POST", "PUT"):
    router.add_api_route(
        "/{namespace}/{flowId}/{key}",
        webhook,
        methods=[_method],
        operation_id=f"webhook_{_method.lower()}",
        summary="Trigger a flow by webhook",
        response_model=m.Execution,
        responses={
            404: {"model": m.ErrorBody, "description": "unknown flow, or no Webhook trigger with that key"}
        },
    )
