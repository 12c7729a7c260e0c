"""Syncing on demand: ``POST /api/v1/sync`` (API token) and the GitHub/GitLab push hook.

The push hook is authenticated by the hook itself: GitHub's ``X-Hub-Signature-256`` or GitLab's
``X-Gitlab-Token`` against ``FLOWD_WEBHOOK_SECRET``; with no secret configured, only by the API token. It
answers 202 at once and syncs after the response, so a slow fetch never times the hook out. A delivery seen
in the last hour (``X-GitHub-Delivery``, ``X-Gitlab-Event-UUID``, else the body's hash) is not synced again:
a replayed signed hook makes no sync.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, Query, Request, Response, status

from daemon.reconcile import SyncOutcome
from daemon.server import api_models as m
from daemon.server.api_auth import push_hook_allowed, require_token
from daemon.server.api_executions import services_of
from daemon.server.services import Services

WEBHOOK_DISABLED = (
    "the push webhook is disabled: this daemon has no FLOWD_WEBHOOK_SECRET. To enable it, set "
    "FLOWD_WEBHOOK_SECRET in the daemon's environment and give the same secret to the GitHub/GitLab "
    "webhook (or call it with the API token)"
)

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/sync", tags=["sync"])


def outcome_body(outcome: SyncOutcome) -> dict[str, Any]:
    """A sync outcome as JSON."""
    return {
        "accepted": True,
        "result": outcome.result,
        "syncId": outcome.sync_id,
        "commit": outcome.commit,
        "message": outcome.message,
        "counts": dict(outcome.counts),
    }


def delivery_key(headers: Any, body: bytes) -> str:
    """What identifies one push delivery: the forge's delivery id, else the body's hash."""
    for name in ("x-github-delivery", "x-gitlab-event-uuid"):
        value = headers.get(name)
        if value:
            return f"{name}:{value}"
    return "sha256:" + hashlib.sha256(body).hexdigest()


def _sync_in_background(services: Services) -> None:
    # the outcome is recorded in the syncs table (and the metrics); nobody waits for it here
    try:
        services.sync_now()
    except Exception:  # the response has gone: the log is the only place left to report it
        log.exception("sync requested by a push hook failed")


@router.post(
    "",
    summary="Sync the flow source now",
    response_model=m.SyncResponse,
    dependencies=[Depends(require_token)],
    responses={
        202: {"model": m.SyncResponse, "description": "accepted (wait=false); runs in the background"}
    },
)
def sync(
    request: Request,
    response: Response,
    background: BackgroundTasks,
    wait: bool = Query(True, description="answer with the outcome once the sync is done"),
) -> dict[str, Any]:
    """Read the source and apply what changed, as the periodic sync does."""
    services = services_of(request)
    if not wait:
        background.add_task(_sync_in_background, services)
        response.status_code = status.HTTP_202_ACCEPTED
        return {"accepted": True}
    return outcome_body(services.sync_now())


@router.post(
    "/webhook",
    summary="Git push hook (GitHub, GitLab)",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=m.SyncResponse,
    responses={401: {"model": m.ErrorBody, "description": "wrong or missing signature / token"}},
)
async def push_hook(request: Request, background: BackgroundTasks) -> dict[str, Any]:
    """Verify the hook's signature (HMAC-SHA256 of the raw body) or token, then sync in the background."""
    services = services_of(request)
    body = await request.body()
    allowed = push_hook_allowed(
        request.headers,
        request.cookies,
        body,
        webhook_secret=services.settings.webhook_secret,
        api_token=services.settings.api_token,
    )
    if not allowed and not services.settings.webhook_secret:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail=WEBHOOK_DISABLED)
    if not allowed:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, detail="wrong or missing webhook signature")
    if request.headers.get("x-github-event") == "ping":
        return {"accepted": True, "message": "pong"}
    if not request.app.state.deliveries.first_time(delivery_key(request.headers, body), now=time.monotonic()):
        return {"accepted": True, "message": "duplicate delivery: already synced"}
    background.add_task(_sync_in_background, services)
    return {"accepted": True}
