"""CSRF protection of the UI's state-changing forms: a double-submitted token.

Every page sets (once) the ``flowd_csrf`` cookie, a random token, and puts the same token in each form as
the hidden ``csrf_token`` field. A POST to the UI is refused (403) unless its field (or ``X-CSRF-Token``
header) equals the cookie: another site can make a browser send the cookie, never read it to fill the field.
Only POST changes state; the action routes answer GET with 405.
"""

from __future__ import annotations

import hmac
import secrets

from fastapi import HTTPException, Request, status
from fastapi.responses import Response

COOKIE = "flowd_csrf"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
EXEMPT = ("/ui/login",)  # no session to ride on yet; the login form checks the API token itself


def token_of(request: Request) -> str:
    """The request's token: its cookie when well-formed, else a new one (``set_cookie`` sends it)."""
    current = request.cookies.get(COOKIE, "")
    if 20 <= len(current) <= 100 and current.replace("-", "").replace("_", "").isalnum():
        return current
    fresh: str | None = getattr(request.state, "csrf_new", None)
    if fresh is None:
        fresh = secrets.token_urlsafe(32)
        request.state.csrf_new = fresh
    return fresh


def set_cookie(request: Request, response: Response) -> None:
    """Send the token cookie when this request made a new one."""
    fresh: str | None = getattr(request.state, "csrf_new", None)
    if fresh is not None:
        response.set_cookie(
            COOKIE, fresh, httponly=True, samesite="strict", path="/ui", secure=request.url.scheme == "https"
        )


async def require_token(request: Request) -> None:
    """A dependency refusing a state-changing UI request without the right token."""
    if request.method in ("GET", "HEAD", "OPTIONS") or request.url.path in EXEMPT:
        return
    expected = request.cookies.get(COOKIE, "")
    given = request.headers.get(HEADER, "")
    if not given:
        form = await request.form()
        value = form.get(FIELD)
        given = value if isinstance(value, str) else ""
    if not expected or not given or not hmac.compare_digest(expected.encode(), given.encode()):
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail="missing or wrong CSRF token: reload the page")
