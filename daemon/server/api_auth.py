"""Who may call the API: the bearer token (or the web UI's session cookie) and the signatures of Git push
hooks.

Every comparison of a secret is constant-time (``hmac.compare_digest``). The cookie is a signed, expiring
session (``daemon.server.session``), never the token itself.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from fastapi import HTTPException, Request, status

from daemon.server.ratelimit import FailureLimiter
from daemon.server.session import SESSION_COOKIE, valid

TOKEN_COOKIE = SESSION_COOKIE


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def token_matches(
    headers: Mapping[str, str], cookies: Mapping[str, str], expected: str, *, now: float | None = None
) -> bool:
    """Whether ``Authorization: Bearer <token>`` carries ``expected``, or the ``flowd_session`` cookie is a
    live session issued for it."""
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and _same(credentials.strip(), expected):
        return True
    cookie = cookies.get(SESSION_COOKIE)
    return cookie is not None and valid(cookie, expected, now=time.time() if now is None else now)


def require_token(request: Request) -> None:
    """FastAPI dependency: 401 unless the request carries the API token (no-op when none is configured).
    Wrong bearer tokens count as failed logins of the client (``login_limiter`` on the app): past the limit,
    429 until the window has passed, right token or not."""
    expected = request.app.state.services.settings.api_token
    if not expected:
        return
    limiter: FailureLimiter | None = getattr(request.app.state, "login_limiter", None)
    client = request.client.host if request.client else "?"
    now = time.monotonic()
    wait = limiter.retry_after(client, now=now) if limiter is not None else 0.0
    if wait:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, detail="too many wrong tokens: try again later",
            headers={"Retry-After": str(int(wait) + 1)},
        )  # fmt: skip
    if not token_matches(request.headers, request.cookies, expected):
        if limiter is not None and "authorization" in request.headers:
            limiter.failed(client, now=now)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            detail="missing or wrong API token (Authorization: Bearer <FLOWD_API_TOKEN>)",
            headers={"WWW-Authenticate": "Bearer"},
        )


def github_signature(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends: ``sha256=`` + HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def push_hook_allowed(
    headers: Mapping[str, str],
    cookies: Mapping[str, str],
    body: bytes,
    *,
    webhook_secret: str | None,
    api_token: str | None,
) -> bool:
    """Whether a push hook may trigger a sync.

    With a webhook secret: a correct GitHub ``X-Hub-Signature-256`` or GitLab ``X-Gitlab-Token``. Without
    one: only a request carrying the API token (an open daemon would let anyone trigger syncs otherwise).
    """
    if webhook_secret:
        signature = headers.get("x-hub-signature-256")
        if signature is not None:
            return _same(signature.strip(), github_signature(webhook_secret, body))
        gitlab = headers.get("x-gitlab-token")
        if gitlab is not None:
            return _same(gitlab, webhook_secret)
        return False
    return bool(api_token) and token_matches(headers, cookies, api_token or "")
