"""Templates of the web UI: one autoescaping Jinja2 environment, its filters, and ``page()``."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from daemon.engine.states import is_terminal
from daemon.server.services import Services
from daemon.server.ui import csrf
from daemon.server.ui.gantt import format_duration, parse_date
from daemon.server.ui.yaml_highlight import highlight_yaml

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
PREFIX = "/ui"


def _when(value: Any) -> str:
    moment = parse_date(value)
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _took(start: Any, end: Any) -> str:
    begin, finish = parse_date(start), parse_date(end)
    if begin is None or finish is None:
        return ""
    return format_duration(max((finish - begin).total_seconds(), 0.0))


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


def _short(commit: str | None) -> str:
    return (commit or "")[:10]


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,  # every value is escaped unless a template says otherwise; none does
        # stored JSON (sync plans, trigger variables) may lack keys other versions write: render blank
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        when=_when, took=_took, pretty=_pretty, short=_short, duration=format_duration, yaml=highlight_yaml
    )
    env.tests["terminal"] = is_terminal
    env.globals["prefix"] = PREFIX
    return env


templates = Jinja2Templates(env=_environment())


def page(
    request: Request, name: str, context: dict[str, Any], *, services: Services, status_code: int = 200
) -> HTMLResponse:
    """Render ``name`` with ``context``, plus ``now`` and whether a login is in use (``auth``)."""
    context.setdefault("auth", bool(services.settings.api_token))
    context.setdefault("now", services.clock.now())
    context["csrf"] = csrf.token_of(request)
    response: HTMLResponse = templates.TemplateResponse(request, name, context, status_code=status_code)
    csrf.set_cookie(request, response)
    return response


def not_found(request: Request, services: Services, what: str) -> HTMLResponse:
    """The UI's 404 page, naming what was not found."""
    context = {"message": f"{what} does not exist"}
    return page(request, "error.html", context, services=services, status_code=404)
