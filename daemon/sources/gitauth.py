"""Credentials for Git remotes (token over HTTPS, SSH key or agent) and credential-free error text."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pygit2
from pygit2.enums import CredentialType

_USERINFO = re.compile(r"\b([a-z][a-z0-9+.-]*://)[^/@\s]*@", re.IGNORECASE)
_SCP_LIKE = re.compile(r"^(?P<user>[\w.+-]+)@(?P<host>[\w.-]+):(?!//)")
_MAX_ATTEMPTS = 3


class AuthFailed(Exception):
    """Raised from the credentials callback to stop libgit2 retrying the same refused credentials."""


def redact(url: str) -> str:
    """``url`` without any user name or password (safe for logs and error messages)."""
    return _USERINFO.sub(r"\1***@", url)


def is_scp_like(spec: str) -> bool:
    """True for ``user@host:org/repo.git`` (SSH without a scheme)."""
    return bool(_SCP_LIKE.match(spec))


def token_username(url: str) -> str:
    """The user name for an access token: GitLab wants ``oauth2``, GitHub and others ``x-access-token``."""
    host = (urlsplit(url).hostname or "").lower()
    return "oauth2" if "gitlab" in host else "x-access-token"


class Credentials(pygit2.RemoteCallbacks):
    """Answers libgit2's credential requests from the configured token / SSH key, or the SSH agent."""

    def __init__(self, *, token: str | None, ssh_key: str | None) -> None:
        super().__init__()
        self._token = token
        self._ssh_key = ssh_key
        self._attempts = 0

    def credentials(
        self, url: str, username_from_url: str | None, allowed_types: CredentialType
    ) -> pygit2.UserPass | pygit2.Keypair | pygit2.KeypairFromAgent | pygit2.KeypairFromMemory:
        """Called by libgit2 when the server asks for authentication."""
        self._attempts += 1
        if self._attempts > _MAX_ATTEMPTS:
            raise AuthFailed("authentication failed (credentials refused)")
        if allowed_types & CredentialType.USERPASS_PLAINTEXT:
            if not self._token:
                raise AuthFailed("authentication required: set FLOWD_GIT_TOKEN")
            return pygit2.UserPass(username_from_url or token_username(url), self._token)
        if allowed_types & CredentialType.SSH_KEY:
            user = username_from_url or "git"
            if not self._ssh_key:
                return pygit2.KeypairFromAgent(user)
            if self._ssh_key.lstrip().startswith("-----BEGIN"):
                return pygit2.KeypairFromMemory(user, None, self._ssh_key, "")
            key = Path(self._ssh_key).expanduser()
            if not key.is_file():
                raise AuthFailed(f"SSH key file {key} does not exist")
            public = key.with_name(key.name + ".pub")
            return pygit2.Keypair(user, str(public) if public.is_file() else None, str(key), "")
        raise AuthFailed("the server asked for an unsupported authentication method")


def one_line(error: BaseException) -> str:
    """The first line of a libgit2 error, without credentials (never a traceback dump)."""
    text = str(error).strip().splitlines()
    return redact(text[0]) if text else type(error).__name__
