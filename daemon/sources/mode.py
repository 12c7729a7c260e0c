"""Which way a ``--source`` is read, said in words: a folder as saved, a Git repository's commits, or a local
Git repository followed commit by commit (``flowd run --follow-commits``).

A local folder inside a Git working tree is read as a plain folder by default (uncommitted edits deploy at
once, the quickest loop while writing flows); ``--follow-commits`` reads the repository's commits instead,
the way a remote repository is read (revisions then carry their commit).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from daemon.errors import UsageError

Kind = Literal["folder", "git", "local-git"]
GIT_SCHEMES = ("file://", "https://", "http://", "ssh://", "git://")


@dataclass(frozen=True, slots=True)
class SourceMode:
    """How the daemon reads its source; ``repo`` is the Git working tree a folder lies in, if any."""

    kind: Kind
    location: str
    repo: Path | None = None

    def describe(self) -> str:
        """One line for the daemon's start and ``flowd status``."""
        if self.kind == "local-git":
            return (
                f"local Git repository {self.location}, following its commits (uncommitted edits are ignored)"
            )
        if self.kind == "git":
            return f"Git repository {self.location}, following its commits"
        if self.repo is not None:
            return (
                f"folder {self.location}, read as saved (uncommitted edits deploy; it is in the Git "
                f"repository {self.repo}: `flowd run --follow-commits` deploys its commits only)"
            )
        return f"folder {self.location}, read as saved"


def git_worktree(folder: Path) -> Path | None:
    """The top of the Git working tree holding ``folder`` (None when it is in none)."""
    folder = folder.resolve()
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def mode_of(spec: str) -> SourceMode:
    """The mode of a recorded or given source string (as ``flowd status`` reads it from the last sync)."""
    text = spec.split(" @ ", 1)[0].split(" (path ", 1)[0]
    if text.startswith("file://"):
        return SourceMode("local-git", text.removeprefix("file://"))
    folder = Path(text).expanduser()
    if not text.startswith(GIT_SCHEMES) and folder.is_dir() and not text.rstrip("/").endswith(".git"):
        return SourceMode("folder", str(folder), git_worktree(folder))
    return SourceMode("git", text)


@dataclass(frozen=True, slots=True)
class ResolvedSource:
    """The ``--source`` / ``--path`` the daemon opens, and its mode."""

    source: str
    path: str | None
    mode: SourceMode


def resolve_source(spec: str, *, path: str | None, follow_commits: bool) -> ResolvedSource:
    """An existing local folder becomes an absolute path (watchdog reports absolute paths; a relative root
    makes it drop every event); with ``follow_commits`` a folder in a Git working tree becomes that
    repository's ``file://`` URL and the folder's place in it is prepended to ``path``."""
    folder = Path(spec).expanduser()
    if not folder.is_dir() or spec.startswith(GIT_SCHEMES):
        if follow_commits and not spec.startswith(GIT_SCHEMES):
            raise UsageError(f"--follow-commits: {spec} is not a local folder")
        return ResolvedSource(spec, path, mode_of(spec))
    folder = folder.resolve()
    repo = git_worktree(folder)
    if not follow_commits:
        return ResolvedSource(str(folder), path, SourceMode("folder", str(folder), repo))
    if repo is None:
        raise UsageError(
            f"--follow-commits: {folder} is not in a Git repository (run `git init` there first)"
        )
    inner = Path(os.path.relpath(folder, repo)).as_posix()
    parts = [p for p in (inner if inner != "." else "", path or "") if p]
    return ResolvedSource(f"file://{repo}", "/".join(parts) or None, SourceMode("local-git", str(repo)))
