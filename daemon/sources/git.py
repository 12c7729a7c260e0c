"""A Git repository as a flow source: a bare clone in a cache folder, fetched on every snapshot.

A fetch is bounded by ``timeout`` seconds: libgit2's server connect and read timeouts (process-wide
settings, set to the shortest timeout asked for), and a deadline checked on every progress callback (a
server trickling bytes). A snapshot that cannot start within ``timeout`` because an earlier fetch still
runs is a SourceError too, so a hung remote never holds the sync forever.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import pygit2
from pygit2.enums import FetchPrune
from pygit2.remotes import RemoteHead

from daemon.errors import SourceError
from daemon.sources import gittree
from daemon.sources.discovery import normalize_subpath
from daemon.sources.gitauth import AuthFailed, Credentials, one_line, redact
from daemon.sources.snapshot import Snapshot

# Force (+) refspecs so force-pushes and rewritten history are followed; prune drops deleted branches.
FETCH_REFSPECS = ("+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*")
_SHA = re.compile(r"[0-9a-fA-F]{4,40}")
DEFAULT_TIMEOUT = 120.0


class FetchTimeout(Exception):
    """Raised from a progress callback past the fetch's deadline (libgit2 then aborts the fetch)."""


class _Deadline(Credentials):
    """The credentials callbacks, plus a deadline checked whenever the transfer makes progress."""

    def __init__(self, *, token: str | None, ssh_key: str | None, seconds: float) -> None:
        super().__init__(token=token, ssh_key=ssh_key)
        self._until = time.monotonic() + seconds
        self._seconds = seconds

    def _check(self) -> None:
        if time.monotonic() > self._until:
            raise FetchTimeout(f"timed out after {self._seconds:g}s")

    def transfer_progress(self, stats: Any) -> None:
        self._check()

    def sideband_progress(self, string: str) -> None:
        self._check()


def _bound_server_timeouts(seconds: float) -> None:
    """libgit2's connect and read timeouts (milliseconds, 0 = none; process-wide: the shortest wins)."""
    ms = max(int(seconds * 1000), 1)
    settings: Any = pygit2.settings
    for name in ("server_connect_timeout", "server_timeout"):
        try:
            current = int(getattr(settings, name))
            if current <= 0 or current > ms:
                setattr(settings, name, ms)
        except (AttributeError, pygit2.GitError, ValueError):  # an older libgit2: the deadline remains
            pass


class GitSource:
    """Flows read from a commit of a Git repository (``ref``: branch, tag or commit; default remote HEAD).

    The clone lives in ``cache_dir/<hash of url>`` (bare; files are read from tree objects). Safe to call
    from several threads (one snapshot at a time per instance).
    """

    def __init__(
        self,
        url: str,
        *,
        cache_dir: Path,
        ref: str | None = None,
        path: str | None = None,
        token: str | None = None,
        ssh_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.url = url
        self.timeout = timeout
        _bound_server_timeouts(timeout)
        self.ref = ref or None
        self.path = normalize_subpath(path)
        self.clone_dir = Path(cache_dir) / hashlib.sha256(url.encode()).hexdigest()[:16]
        self._token = token
        self._ssh_key = ssh_key
        self._lock = threading.Lock()
        self._repo: pygit2.Repository | None = None
        self._heads: dict[str, RemoteHead] = {}

    def set_timeout(self, seconds: float) -> None:
        """Bound every later fetch to ``seconds`` (``FLOWD_GIT_TIMEOUT``)."""
        self.timeout = seconds
        _bound_server_timeouts(seconds)

    def describe(self) -> str:
        """The URL (credentials removed), ref and subfolder."""
        text = redact(self.url)
        if self.ref:
            text += f" @ {self.ref}"
        return text + (f" (path {self.path})" if self.path else "")

    def snapshot(self, since: Snapshot | None = None) -> Snapshot:
        """Fetch, resolve ``ref`` and read its flow files.

        With ``since`` (an earlier snapshot of this source whose commit is still in the local object
        database, whether or not it is an ancestor) only the blobs changed between the two commits are read.
        """
        if not self._lock.acquire(timeout=self.timeout):
            raise SourceError(
                f"cannot fetch {redact(self.url)}: an earlier fetch has run for more than {self.timeout:g}s"
            )
        try:
            return self._snapshot(since)
        finally:
            self._lock.release()

    def _snapshot(self, since: Snapshot | None) -> Snapshot:
        repo = self._fetch()
        commit = self._resolve(repo)
        if since is not None and since.commit is not None and since.path == self.path:
            if since.commit == str(commit.id):
                return since
            if _has_commit(repo, since.commit):
                delta = gittree.read_delta(repo, since, commit)
                return delta or gittree.read_full(repo, commit, self.path, since=since)
        return gittree.read_full(repo, commit, self.path)

    def changed_paths(self, old_commit: str, new_commit: str) -> set[str]:
        """Repository-relative paths that differ between two fetched commits (renames give both names)."""
        with self._lock:
            repo = self._open()
            old, new = _commit(repo, old_commit), _commit(repo, new_commit)
            return gittree.changed_paths(repo, old, new)

    def _open(self) -> pygit2.Repository:
        if self._repo is not None:
            return self._repo
        try:
            if (self.clone_dir / "HEAD").is_file():
                repo = pygit2.Repository(str(self.clone_dir))
            else:
                repo = self._init()
        except pygit2.GitError:
            # A half-written cache (crash during the first clone) is rebuilt rather than reported.
            shutil.rmtree(self.clone_dir, ignore_errors=True)
            repo = self._init()
        if "origin" not in [r.name for r in repo.remotes]:
            repo.remotes.create("origin", self.url, FETCH_REFSPECS[0])
        self._repo = repo
        return repo

    def _init(self) -> pygit2.Repository:
        try:
            repo = pygit2.init_repository(str(self.clone_dir), bare=True)
        except (pygit2.GitError, OSError) as exc:
            raise SourceError(f"cannot create the Git cache at {self.clone_dir}: {one_line(exc)}") from None
        repo.remotes.create("origin", self.url, FETCH_REFSPECS[0])
        return repo

    def _fetch(self) -> pygit2.Repository:
        repo = self._open()
        remote = repo.remotes["origin"]
        where = redact(self.url)
        try:
            remote.fetch(
                refspecs=list(FETCH_REFSPECS),
                callbacks=_Deadline(token=self._token, ssh_key=self._ssh_key, seconds=self.timeout),
                prune=FetchPrune.PRUNE,
            )
            self._heads = {head.name or "": head for head in remote.list_heads(connect=False)}
        except (AuthFailed, FetchTimeout) as exc:
            raise SourceError(f"cannot fetch {where}: {exc}") from None
        except (pygit2.GitError, OSError, ValueError, KeyError) as exc:
            raise SourceError(f"cannot fetch {where}: {one_line(exc)}") from None
        return repo

    def _resolve(self, repo: pygit2.Repository) -> pygit2.Commit:
        where = redact(self.url)
        if self.ref is None:
            head = self._heads.get("HEAD")
            target = head.symref_target if head is not None else None
            if not target or not target.startswith("refs/heads/"):
                raise SourceError(f"{where} does not advertise a default branch; set --ref")
            branch = target.removeprefix("refs/heads/")
            found = _lookup(repo, f"refs/remotes/origin/{branch}")
            if found is None:
                raise SourceError(f"default branch '{branch}' of {where} was not fetched")
            return found
        for name in _candidate_refs(self.ref):
            found = _lookup(repo, name)
            if found is not None:
                return found
        if _SHA.fullmatch(self.ref) and _has_commit(repo, self.ref):
            return _commit(repo, self.ref)
        raise SourceError(f"ref '{self.ref}' not found in {where} (no such branch, tag or commit)")


def _candidate_refs(ref: str) -> list[str]:
    if ref.startswith("refs/heads/"):
        return ["refs/remotes/origin/" + ref.removeprefix("refs/heads/")]
    if ref.startswith("refs/"):
        return [ref]
    return [f"refs/remotes/origin/{ref}", f"refs/tags/{ref}"]


def _lookup(repo: pygit2.Repository, refname: str) -> pygit2.Commit | None:
    reference = repo.references.get(refname)
    if reference is None:
        return None
    try:
        commit = reference.peel(pygit2.Commit)
    except (pygit2.GitError, ValueError, KeyError):
        return None
    assert isinstance(commit, pygit2.Commit)
    return commit


def _has_commit(repo: pygit2.Repository, rev: str) -> bool:
    try:
        _commit(repo, rev)
    except SourceError:
        return False
    return True


def _commit(repo: pygit2.Repository, rev: str) -> pygit2.Commit:
    try:
        obj = repo.revparse_single(rev)
        commit = obj.peel(pygit2.Commit)
    except (pygit2.GitError, KeyError, ValueError) as exc:
        raise SourceError(f"unknown commit '{rev}': {one_line(exc)}") from None
    assert isinstance(commit, pygit2.Commit)
    return commit
