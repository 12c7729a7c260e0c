"""The daemon's HTTP API (FastAPI), shaped like Kestra's so existing ``curl`` commands keep working.

``create_app(services)`` builds the app; the routes live in one module per resource:
``api_executions`` (create, get, search, kill, resume), ``api_logs`` (lines, SSE follow), ``api_flows``
(deployed flows, revisions, validate), ``api_webhooks`` (Webhook triggers), ``api_sync`` (sync now, Git
push hook), ``api_metrics`` (Prometheus). ``api_auth`` checks the bearer token / cookie and hook signatures.

Errors never carry a traceback: ``FlowdError`` subclasses map to status codes (``STATUS``), anything
unexpected is logged and answered 500 with its type only.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from daemon.errors import (
    FlowdError,
    FlowFileError,
    FlowNotFound,
    InputError,
    SourceError,
    StoreError,
    TaskError,
    UsageError,
)
from daemon.server import (
    api_cluster,
    api_executions,
    api_executions_search,
    api_flows,
    api_logs,
    api_metrics,
    api_plan,
    api_sync,
    api_webhooks,
)
from daemon.server import api_models as m
from daemon.server.guards import RequestGuard, allowed_host_names
from daemon.server.ratelimit import DeliveryLog, FailureLimiter
from daemon.server.services import Services
from daemon.server.ui import ui_router

log = logging.getLogger(__name__)

# most specific first: the first class an error is an instance of decides
STATUS: tuple[tuple[type[FlowdError], int], ...] = (
    (FlowNotFound, 404),
    (InputError, 422),
    (FlowFileError, 422),
    (UsageError, 400),
    (SourceError, 502),
    (StoreError, 503),
    (TaskError, 500),
)

TAGS = [
    {"name": "executions", "description": "Start, inspect, search, kill and resume executions."},
    {"name": "logs", "description": "Log lines of executions, also as a live stream."},
    {"name": "flows", "description": "Deployed flows (read-only: Git is the source of truth)."},
    {"name": "webhooks", "description": "Webhook triggers; the key in the URL is the secret."},
    {"name": "sync", "description": "Sync the flow source now; Git push hooks."},
    {"name": "metrics", "description": "Prometheus metrics."},
    {"name": "cluster", "description": "The nodes sharing this store, and the leader."},
    {"name": "health", "description": "Liveness and store reachability."},
]


# the webhooks before the executions: their paths share the prefix, and they need no token
ROUTERS: tuple[APIRouter, ...] = (
    api_webhooks.router,
    api_executions_search.router,  # before api_executions: /search is not an execution id
    api_executions.router,
    api_logs.router,
    api_flows.router,
    api_plan.router,
    api_sync.router,
    api_metrics.router,
    api_cluster.router,
)


class TenantPrefix:
    """Kestra puts the tenant in API paths (``/api/v1/main/executions/...``; ``main`` in the open-source
    edition). flowd has one tenant: those paths are served as the same path without it, so both forms of
    existing ``curl`` commands work while the OpenAPI document lists each route once."""

    PREFIX = "/api/v1/main/"

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.PREFIX):
            path = "/api/v1/" + scope["path"][len(self.PREFIX) :]
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)


def status_of(error: FlowdError) -> int:
    """The HTTP status a flowd error maps to."""
    return next((code for cls, code in STATUS if isinstance(error, cls)), 500)


def error_body(error: FlowdError) -> dict[str, object]:
    """The JSON body of a flowd error: its message, its type and, for an input error, the input."""
    body: dict[str, object] = {"message": error.message, "error": type(error).__name__}
    if isinstance(error, InputError):
        body["input"] = error.input_id
    if isinstance(error, FlowFileError):
        body["diagnostics"] = [d.as_dict() for d in error.diagnostics]
    return body


async def _flowd_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FlowdError)
    return JSONResponse(error_body(exc), status_code=status_of(exc))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"message": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s failed", request.method, request.url.path)
    return JSONResponse({"message": "internal error", "error": type(exc).__name__}, status_code=500)


def store_up(services: Services) -> tuple[bool, str | None]:
    """Whether the database answers ``SELECT 1``, and why not."""
    try:  # a read: never waits for SQLite's write lock (BEGIN DEFERRED)
        with services.store.engine.connect().execution_options(flowd_begin="DEFERRED") as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver error means the store is down; say which
        return False, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    return True, None


def create_app(services: Services, *, bound_host: str | None = None) -> FastAPI:
    """The HTTP API over ``services``; serve it with uvicorn on the daemon's loop. ``bound_host`` (the
    listening address, default from ``FLOWD_LISTEN``) joins the loopback names as an allowed ``Host``."""
    app = FastAPI(
        title="flowd",
        summary="Git-synced workflow orchestrator running Kestra flows",
        description="Kestra-compatible HTTP API. Authenticate with `Authorization: Bearer <FLOWD_API_TOKEN>` "
        "(or the web UI's `flowd_session` cookie) when a token is configured.",
        version=_version(),
        openapi_tags=TAGS,
    )
    app.state.services = services
    app.state.deliveries = DeliveryLog()
    app.state.login_limiter = FailureLimiter()  # shared by the UI's login form and the API's bearer tokens
    app.add_middleware(TenantPrefix)
    settings = services.settings
    bound = bound_host if bound_host is not None else settings.listen.rpartition(":")[0].strip("[]")
    # added last: it runs first, before the tenant prefix and any route
    app.add_middleware(
        RequestGuard,
        hosts=allowed_host_names(settings.allowed_hosts, bound),
        token=lambda: settings.api_token,
    )
    app.add_exception_handler(FlowdError, _flowd_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)

    @app.get("/api/health", tags=["health"], summary="Health", response_model=m.Health)
    async def health() -> JSONResponse:
        """UP when the store answers and no daemon part keeps failing (no token needed); 503 otherwise,
        naming the part and its last error."""
        store_ok, message = await run_in_threadpool(store_up, services)
        parts = services.health.parts()
        down = [f"{name}: {state.reason}" for name, state in parts.items() if state.status == "DOWN"]
        up = store_ok and not down
        if down:
            message = "; ".join(([message] if message else []) + [f"part {d}" for d in down])
        body = m.Health(
            status="UP" if up else "DOWN", store="UP" if store_ok else "DOWN", dialect=services.store.dialect,
            message=message,
            parts={n: s.status + (f" ({s.reason})" if s.reason else "") for n, s in parts.items()},
        )  # fmt: skip
        return JSONResponse(body.model_dump(), status_code=200 if up else 503)

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        """People open localhost:8080 first, as with Kestra: send them to the UI."""
        return RedirectResponse("/ui/")

    for router in ROUTERS:
        app.include_router(router)
    app.include_router(ui_router(services))
    return app


def prepare_routes(app: FastAPI) -> int:
    """Build now what FastAPI (0.16x) builds at the first request that walks past each included router:
    every route's dependencies and parameter models (~30 ms for all of them, ~20 ms on the first
    ``POST /api/v1/sync`` alone). The daemon calls it in the worker thread that builds the app, so the
    first API calls do not build them on the main loop. Returns how many routes it prepared (0 with a
    FastAPI that builds them in ``include_router``)."""
    prepared = 0
    for route in app.router.routes:
        contexts = getattr(route, "effective_route_contexts", None)  # an included router, built lazily
        if callable(contexts):
            prepared += sum(1 for _ in contexts())
    return prepared


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("flowd")
    except PackageNotFoundError:
        return "0"
