"""Request checks in front of every route (pure ASGI, the body is never read here).

- a NUL byte (``%00``) in the path or query string is 400: no route or database wants one;
- the ``Host`` header must name this daemon (``allowed_hosts``): a DNS-rebinding page cannot reach it through
  a name it controls;
- a state-changing request (POST, PUT, PATCH, DELETE) whose ``Origin`` (or, without one, ``Referer``) is
  another site is 403, token or not: a page elsewhere cannot make a browser start, kill or sync anything.
  Clients that send neither (curl, forges' hooks, the CLI) are not affected. Webhook triggers are exempt:
  their URL carries their own secret key, which a foreign page cannot know, and they are meant to be called
  from anywhere;
- with an API token configured, the OpenAPI document and its pages need it like the API.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from daemon.server.api_auth import token_matches

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
DOC_PATHS = ("/openapi.json", "/docs", "/redoc")
CROSS_ORIGIN_OK = ("/api/v1/executions/webhook/", "/api/v1/main/executions/webhook/")
LOOPBACK = ("localhost", "127.0.0.1", "::1")


def allowed_host_names(configured: str | None, bound_host: str | None) -> frozenset[str] | None:
    """The Host names served: ``configured`` (comma-separated; ``*`` = any, returned as None) or the
    loopback names plus the bound host."""
    if configured and configured.strip() == "*":
        return None
    names = [n.strip() for n in configured.split(",")] if configured else [*LOOPBACK, bound_host or ""]
    return frozenset(n.lower().strip("[]") for n in names if n.strip())


def host_name(value: str) -> str:
    """``example.com:8080`` / ``[::1]:8080`` -> the lower-case name without port and brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


class RequestGuard:
    """The checks of the module docstring; ``token`` gives the configured API token (or None)."""

    def __init__(self, app: ASGIApp, *, hosts: Iterable[str] | None, token: Callable[[], str | None]) -> None:
        self.app = app
        self.hosts = frozenset(hosts) if hosts is not None else None
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._problem(scope)
        if problem is None:
            await self.app(scope, receive, send)
            return
        status, message = problem
        body = json.dumps({"message": message}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _problem(self, scope: Scope) -> tuple[int, str] | None:
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        query: bytes = scope.get("query_string", b"")
        if b"\x00" in raw_path or b"\x00" in query or b"%00" in (raw_path + query).lower():
            return 400, "NUL byte (%00) in the path or query"
        conn = HTTPConnection(scope)
        host = host_name(conn.headers.get("host", ""))
        if self.hosts is not None and host not in self.hosts:
            return 400, f"Host '{host}' is not served here (FLOWD_ALLOWED_HOSTS)"
        if scope["method"] not in SAFE_METHODS and not scope["path"].startswith(CROSS_ORIGIN_OK):
            origin = conn.headers.get("origin") or conn.headers.get("referer")
            if origin is not None and not self._same_site(origin, host):
                return 403, "cross-origin request refused (Origin is not this daemon)"
        token = self.token()
        if (
            token
            and scope["path"].startswith(DOC_PATHS)
            and not token_matches(conn.headers, conn.cookies, token)
        ):
            return 401, "missing or wrong API token (Authorization: Bearer <FLOWD_API_TOKEN>)"
        return None

    def _same_site(self, origin: str, host: str) -> bool:
        name = (urlsplit(origin).hostname or "").lower() if origin != "null" else ""
        if not name:
            return False
        return name == host or (self.hosts is not None and name in self.hosts)
