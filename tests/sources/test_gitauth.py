"""Credential selection and redaction (the callback is exercised directly: no real auth server here)."""

from __future__ import annotations

from pathlib import Path

import pygit2
import pytest
from pygit2.enums import CredentialType

from daemon.sources.gitauth import AuthFailed, Credentials, is_scp_like, one_line, redact, token_username


def test_redact() -> None:
    assert redact("https://user:secret@host/x.git") == "https://***@host/x.git"
    assert redact("https://host/x.git") == "https://host/x.git"
    assert one_line(ValueError("failed for https://a:b@h/x\nmore detail")) == "failed for https://***@h/x"


def test_scp_like() -> None:
    assert is_scp_like("git@github.com:org/repo.git")
    assert not is_scp_like("https://git@github.com/org/repo.git") and not is_scp_like("/tmp/x")


def test_token_user_names() -> None:
    assert token_username("https://github.com/o/r.git") == "x-access-token"
    assert token_username("https://gitlab.example.org/o/r.git") == "oauth2"


def test_token_over_https() -> None:
    creds = Credentials(token="tok", ssh_key=None)
    answer = creds.credentials("https://github.com/o/r", None, CredentialType.USERPASS_PLAINTEXT)
    assert isinstance(answer, pygit2.UserPass)
    assert answer.credential_tuple == ("x-access-token", "tok")
    named = creds.credentials("https://bot@github.com/o/r", "bot", CredentialType.USERPASS_PLAINTEXT)
    assert isinstance(named, pygit2.UserPass) and named.credential_tuple == ("bot", "tok")


def test_https_without_token_fails_clearly() -> None:
    with pytest.raises(AuthFailed, match="FLOWD_GIT_TOKEN"):
        Credentials(token=None, ssh_key=None).credentials(
            "https://h/r", None, CredentialType.USERPASS_PLAINTEXT
        )


def test_ssh_key_file_agent_and_memory(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    key.write_text("private")
    (tmp_path / "id_ed25519.pub").write_text("public")
    from_file = Credentials(token=None, ssh_key=str(key)).credentials(
        "ssh://h/r", "git", CredentialType.SSH_KEY
    )
    assert isinstance(from_file, pygit2.Keypair)
    assert from_file.credential_tuple == ("git", str(key) + ".pub", str(key), "")
    agent = Credentials(token=None, ssh_key=None).credentials("git@h:r", None, CredentialType.SSH_KEY)
    assert isinstance(agent, pygit2.KeypairFromAgent)
    memory = Credentials(token=None, ssh_key="-----BEGIN OPENSSH PRIVATE KEY-----\n...").credentials(
        "ssh://h/r", "git", CredentialType.SSH_KEY
    )
    assert isinstance(memory, pygit2.KeypairFromMemory)
    with pytest.raises(AuthFailed, match="does not exist"):
        Credentials(token=None, ssh_key=str(tmp_path / "missing")).credentials(
            "ssh://h/r", "git", CredentialType.SSH_KEY
        )


def test_refused_credentials_stop_retrying() -> None:
    creds = Credentials(token="tok", ssh_key=None)
    for _ in range(3):
        creds.credentials("https://h/r", None, CredentialType.USERPASS_PLAINTEXT)
    with pytest.raises(AuthFailed, match="refused"):
        creds.credentials("https://h/r", None, CredentialType.USERPASS_PLAINTEXT)
