"""The web UI served by the daemon under ``/ui``: overview, flows, a flow, executions, syncs, login.

Server-rendered Jinja2 templates (``templates/``) with a little plain JavaScript and CSS (``static/``),
served by the daemon itself: no build step, nothing fetched from elsewhere. Mount it with
``app.include_router(ui_router(services))``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from daemon.server.services import Services


def ui_router(services: Services) -> APIRouter:
    """Every UI page under ``/ui``, behind the login when ``settings.api_token`` is set."""
    from daemon.server.ui import (
        auth,
        cluster,
        csrf,
        executions,
        executions_list,
        flows,
        logs_page,
        overview,
        static_files,
        syncs,
        triggers_page,
    )  # fmt: skip

    guards = [Depends(auth.login_guard(services)), Depends(csrf.require_token)]
    router = APIRouter(prefix="/ui", dependencies=guards)
    for module_router in (
        auth.routes(services),
        static_files.routes(),
        overview.routes(services),
        flows.routes(services),
        executions_list.routes(services),  # before executions: /executions/bulk is not an id
        executions.routes(services),
        logs_page.routes(services),
        triggers_page.routes(services),
        syncs.routes(services),
        cluster.routes(services),
    ):
        router.include_router(module_router)
    return router


__all__ = ["ui_router"]
