"""Turning a ``--source`` string into a Source."""

from __future__ import annotations

from pathlib import Path

from daemon.errors import SourceError
from daemon.sources.folder import LocalFolderSource
from daemon.sources.git import GitSource
from daemon.sources.gitauth import is_scp_like
from daemon.sources.snapshot import Source

GIT_SCHEMES = ("file://", "https://", "http://", "ssh://", "git://")


def open_source(
    spec: str,
    *,
    cache_dir: Path,
    ref: str | None = None,
    path: str | None = None,
    token: str | None = None,
    ssh_key: str | None = None,
) -> Source:
    """A folder source for an existing directory (its working tree as is, even with a ``.git`` inside),
    a Git source for a URL (``file://``, ``http(s)://``, ``ssh://``, ``git://``, ``user@host:repo``) or a
    path ending in ``.git``.

    One exception to "existing directory means folder": a *bare* repository directory named ``*.git`` is
    read as Git, since its folder content holds no flow files. ``--ref`` on a folder is a ``SourceError``.
    """
    folder = Path(spec).expanduser()
    is_git_spec = spec.startswith(GIT_SCHEMES) or is_scp_like(spec) or spec.rstrip("/").endswith(".git")
    if folder.is_dir() and not (spec.rstrip("/").endswith(".git") and _is_bare_repo(folder)):
        if ref:
            raise SourceError(f"--ref '{ref}' given, but source {spec} is a plain folder (not a Git URL)")
        return LocalFolderSource(folder, path)
    if is_git_spec:
        return GitSource(spec, cache_dir=cache_dir, ref=ref, path=path, token=token, ssh_key=ssh_key)
    raise SourceError(f"source '{spec}' is neither an existing folder nor a Git URL")


def _is_bare_repo(folder: Path) -> bool:
    return (folder / "HEAD").is_file() and (folder / "objects").is_dir() and (folder / "refs").is_dir()
