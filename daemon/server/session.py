"""The web UI's login session: a signed, expiring cookie value that is not the API token.

``<expires>.<nonce>.<signature>``: the signature is HMAC-SHA256 over ``expires.nonce`` with a key derived from
the API token, so no state is kept on the server, sessions survive a restart, and changing the token ends
every session. A stolen cookie is worth at most ``SESSION_SECONDS`` and never reveals the token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

SESSION_COOKIE = "flowd_session"
SESSION_SECONDS = 12 * 3600


def _key(api_token: str) -> bytes:
    return hmac.new(api_token.encode(), b"flowd web session v1", hashlib.sha256).digest()


def _sign(api_token: str, payload: str) -> str:
    return hmac.new(_key(api_token), payload.encode(), hashlib.sha256).hexdigest()


def issue(api_token: str, *, now: float, lifetime: int = SESSION_SECONDS) -> str:
    """A new session value valid until ``now + lifetime`` (seconds since the epoch)."""
    payload = f"{int(now) + lifetime}.{secrets.token_urlsafe(12)}"
    return f"{payload}.{_sign(api_token, payload)}"


def valid(value: str, api_token: str, *, now: float) -> bool:
    """Whether ``value`` was issued with this token and has not expired."""
    payload, _, signature = value.rpartition(".")
    expires, _, nonce = payload.partition(".")
    if not (expires.isdigit() and nonce and signature):
        return False
    if not hmac.compare_digest(signature.encode(), _sign(api_token, payload).encode()):
        return False
    return int(expires) > now
