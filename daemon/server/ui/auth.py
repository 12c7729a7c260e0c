"""Login for the web UI: the daemon's API token, exchanged for a signed, expiring session cookie.

With no token configured the UI is open, as the API is. With one, a UI request without the session cookie (or
a bearer header) is redirected to ``/ui/login``, whose form checks the token and sets the HttpOnly
``flowd_session`` cookie (``daemon.server.session``: signed, expiring, not the token); the API accepts the
same cookie. The cookie is ``SameSite=Strict``, so another site cannot make the browser post the UI's forms.
Wrong tokens are limited per client address (``FailureLimiter``): 10 in 5 minutes, then 429.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, HTTPException, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from daemon.server.api_auth import TOKEN_COOKIE, token_matches
from daemon.server.ratelimit import FailureLimiter
from daemon.server.services import Services
from daemon.server.session import SESSION_SECONDS, issue
from daemon.server.ui.render import PREFIX, page

LOGIN = f"{PREFIX}/login"


def safe_next(target: str | None) -> str:
    """Where to go after logging in: only a path of the UI (never another site)."""
    if target and target.startswith(PREFIX + "/") and not target.startswith("//") and "\\" not in target:
        return target
    return PREFIX + "/"


def login_guard(services: Services) -> Callable[[Request], None]:
    """A dependency redirecting (303) to the login page unless the request carries the token."""

    def guard(request: Request) -> None:
        expected = services.settings.api_token
        if not expected or request.url.path in (LOGIN, f"{PREFIX}/logout"):
            return
        if request.url.path.startswith(f"{PREFIX}/static/"):
            return
        if token_matches(request.headers, request.cookies, expected):
            return
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise HTTPException(
            status.HTTP_303_SEE_OTHER,
            detail="log in first",
            headers={"Location": f"{LOGIN}?next={quote(target, safe='')}"},
        )

    return guard


def routes(services: Services) -> APIRouter:
    """``GET/POST /ui/login`` and ``POST /ui/logout``."""
    router = APIRouter()
    own_limiter = FailureLimiter()  # when the app has none to share with the API

    @router.get("/login", response_class=HTMLResponse, include_in_schema=False)
    def login_form(request: Request, next: str | None = None) -> HTMLResponse:
        return page(request, "login.html", {"next": safe_next(next), "error": None}, services=services)

    @router.post("/login", include_in_schema=False)
    def login(
        request: Request, token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = ""
    ) -> Response:
        expected = services.settings.api_token
        limiter: FailureLimiter = getattr(request.app.state, "login_limiter", own_limiter)
        client = request.client.host if request.client else "?"
        now = time.monotonic()
        wait = limiter.retry_after(client, now=now)
        if expected and wait:
            context = {"next": safe_next(next), "error": "too many wrong tokens: try again later"}
            response = page(request, "login.html", context, services=services, status_code=429)
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        if expected and not hmac.compare_digest(token.encode(), expected.encode()):
            limiter.failed(client, now=now)
            context = {"next": safe_next(next), "error": "wrong token"}
            return page(request, "login.html", context, services=services, status_code=401)
        limiter.succeeded(client)
        redirect = RedirectResponse(safe_next(next), status_code=status.HTTP_303_SEE_OTHER)
        if expected:
            redirect.set_cookie(
                TOKEN_COOKIE, issue(expected, now=time.time()), max_age=SESSION_SECONDS, httponly=True,
                samesite="strict", path="/", secure=request.url.scheme == "https",
            )  # fmt: skip
        return redirect

    @router.post("/logout", include_in_schema=False)
    def logout() -> Response:
        response = RedirectResponse(LOGIN, status_code=status.HTTP_303_SEE_OTHER)
        response.delete_cookie(TOKEN_COOKIE, path="/")
        return response

    return router
