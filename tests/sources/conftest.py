"""Real Git repositories in temporary folders, driven by the git CLI with inherited GIT_* stripped."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest


def flow(flow_id: str, namespace: str = "team.a", message: str = "hi") -> str:
    """A small flow file text."""
    return (
        f"id: {flow_id}\nnamespace: {namespace}\ntasks:\n"
        f"  - id: say\n    type: io.kestra.plugin.core.log.Log\n    message: {message}\n"
    )


class WorkRepo:
    """A non-bare repository we commit to, and push to a bare 'server' repository served over file://."""

    def __init__(self, root: Path, home: Path) -> None:
        self.work = root / "work"
        self.server = root / "server.git"
        self.home = home
        self.work.mkdir(parents=True)
        self.git("init", "-q", "-b", "main", cwd=self.work)
        self.git("init", "-q", "--bare", "-b", "main", str(self.server), cwd=root)
        self.git("remote", "add", "origin", str(self.server))

    @property
    def url(self) -> str:
        return self.server.as_uri()

    def git(self, *args: str, cwd: Path | None = None) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(
            HOME=str(self.home),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_AUTHOR_NAME="t",
            GIT_AUTHOR_EMAIL="t@example.org",
            GIT_COMMITTER_NAME="t",
            GIT_COMMITTER_EMAIL="t@example.org",
        )
        done = subprocess.run(
            ["git", *args], cwd=cwd or self.work, env=env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, f"git {' '.join(args)} failed: {done.stderr}"
        return done.stdout.strip()

    def write(self, rel: str, text: str) -> None:
        target = self.work / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def link(self, rel: str, target: str) -> None:
        path = self.work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)

    def commit(self, message: str = "change", *, push: str | None = "main", force: bool = False) -> str:
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        if push:
            self.push(push, force=force)
        return self.git("rev-parse", "HEAD")

    def push(self, branch: str = "main", *, force: bool = False) -> None:
        self.git("push", "-q", *(["--force"] if force else []), "origin", f"HEAD:refs/heads/{branch}")


@pytest.fixture
def repo(tmp_path: Path) -> WorkRepo:
    home = tmp_path / "home"
    home.mkdir()
    return WorkRepo(tmp_path / "repo", home)


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[[str], WorkRepo]:
    home = tmp_path / "home2"
    home.mkdir(exist_ok=True)
    return lambda name: WorkRepo(tmp_path / name, home)


@pytest.fixture
def flow_text() -> Callable[..., str]:
    """``flow_text(id, namespace=..., message=...)`` -> flow file text."""
    return flow
