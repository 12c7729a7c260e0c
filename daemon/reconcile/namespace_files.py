"""Namespace files from the flows repository, synced with the flows (one call from the reconciler).

Layout: every file below a folder named ``_files`` is a namespace file; its path is relative to that folder.
The folder's namespace is
1. the namespace of the flows beside it (in the folder holding ``_files``, or in a sibling ``_flows`` folder,
   Kestra's SyncFlows/SyncNamespaceFiles layout) when they all share one;
2. else the folder path itself, relative to the synced path, with ``/`` read as ``.``
   (``company/team/_files/`` and ``company.team/_files/`` are both ``company.team``);
3. a ``_files`` folder at the top with no flows to name its namespace is skipped (logged).
Each sync makes the stored set equal to the repository's: new and changed files get a new version, removed
files a deletion version (``daemon.store.namespace_files``).
"""

from __future__ import annotations

import functools
import logging
import os
import posixpath
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from daemon.reconcile.plan import DesiredFlow
from daemon.store import Store

FILES_DIR = "_files"
FLOWS_DIR = "_flows"
MAX_FILE_BYTES = 20 * 1024 * 1024
log = logging.getLogger(__name__)


def split_files_path(path: str) -> tuple[str, str] | None:
    """``(folder holding _files, path inside it)`` for a file below a ``_files`` folder, else None."""
    parts = path.split("/")
    if FILES_DIR not in parts[:-1]:
        return None
    at = parts.index(FILES_DIR)
    return "/".join(parts[:at]), "/".join(parts[at + 1 :])


def _folder_walk(root: Path, start: Path) -> Iterator[tuple[str, bytes]]:
    real_root = os.path.realpath(root)
    for folder, dirs, names in os.walk(start):
        dirs[:] = sorted(d for d in dirs if d != ".git")
        rel_folder = Path(os.path.relpath(folder, root)).as_posix()
        # only a folder at or below a ``_files`` folder holds namespace files: the others (the flows, at
        # every periodic sync) are not resolved one by one
        if FILES_DIR not in rel_folder.split("/"):
            continue
        for name in sorted(names):
            full = os.path.join(folder, name)
            rel = f"{rel_folder}/{name}"
            real = os.path.realpath(full)
            if split_files_path(rel) is None or not real.startswith(real_root + os.sep):
                continue
            if os.path.isfile(real) and os.path.getsize(real) <= MAX_FILE_BYTES:
                yield rel, Path(real).read_bytes()


def _git_walk(clone_dir: Path, commit: str, subpath: str) -> Iterator[tuple[str, bytes]]:
    import pygit2

    repo = pygit2.Repository(str(clone_dir))
    obj = repo[commit]
    assert isinstance(obj, pygit2.Commit)
    tree: Any = obj.tree[subpath] if subpath else obj.tree

    def walk(node: Any, prefix: str) -> Iterator[tuple[str, bytes]]:
        for entry in node:
            path = f"{prefix}/{entry.name}" if prefix else str(entry.name)
            if entry.type_str == "tree":
                yield from walk(repo[entry.id], path)
            elif entry.type_str == "blob" and split_files_path(path) is not None:
                blob = repo[entry.id]
                if entry.filemode != pygit2.enums.FileMode.LINK and blob.size <= MAX_FILE_BYTES:
                    yield path, blob.data

    yield from walk(tree, subpath)


@functools.lru_cache(maxsize=4)
def _git_files(clone_dir: str, commit: str, subpath: str) -> tuple[tuple[str, bytes], ...]:
    # a commit's content never changes: a daemon re-syncing the same commit does not walk it again
    return tuple(_git_walk(Path(clone_dir), commit, subpath))


def read_source_files(source: Any, snapshot: Any) -> dict[str, bytes]:
    """Every file below a ``_files`` folder of the snapshot's source, by repository-relative path."""
    subpath = getattr(snapshot, "path", "") or ""
    if hasattr(source, "namespace_files"):  # a source that lists them itself
        return dict(source.namespace_files(snapshot))
    if hasattr(source, "clone_dir") and getattr(snapshot, "commit", None):
        return dict(_git_files(str(source.clone_dir), snapshot.commit, subpath))
    if hasattr(source, "root"):
        root = Path(source.root)
        return dict(_folder_walk(root, root / subpath if subpath else root))
    return {}


def folder_namespaces(folders: Iterable[str], flows: list[DesiredFlow], subpath: str) -> dict[str, str]:
    """The namespace of each folder holding a ``_files`` folder (rules in the module docstring)."""
    beside: dict[str, set[str]] = defaultdict(set)
    for flow in flows:
        folder = posixpath.dirname(flow.path)
        beside[folder].add(flow.namespace)
        if posixpath.basename(folder) == FLOWS_DIR:
            beside[posixpath.dirname(folder)].add(flow.namespace)
    found: dict[str, str] = {}
    for folder in folders:
        namespaces = beside.get(folder, set())
        relative = folder[len(subpath) :].strip("/") if subpath and folder.startswith(subpath) else folder
        if len(namespaces) == 1:
            found[folder] = next(iter(namespaces))
        elif relative:
            found[folder] = relative.replace("/", ".")
        else:
            log.warning(
                "namespace files: %s/ has no flows beside it to name its namespace; skipped", FILES_DIR
            )
    return found


def desired_files(
    files: dict[str, bytes], flows: list[DesiredFlow], subpath: str
) -> dict[tuple[str, str], bytes]:
    """``{(namespace, path): content}`` for the repository's namespace files."""
    split = {path: parts for path in files if (parts := split_files_path(path)) is not None}
    if not split:  # no ``_files`` folder (most syncs): nothing to name, no pass over every flow
        return {}
    namespaces = folder_namespaces({folder for folder, _ in split.values()}, flows, subpath)
    return {
        (namespaces[folder], inner): files[path]
        for path, (folder, inner) in split.items()
        if folder in namespaces and inner
    }


def sync_namespace_files(
    store: Store,
    source: Any,
    snapshot: Any,
    flows: list[DesiredFlow],
    *,
    commit: str | None,
    now: datetime,
    conn: Connection,
) -> dict[str, list[tuple[str, str]]]:
    """Store the source's namespace files as the new versions, inside the sync's transaction."""
    files = read_source_files(source, snapshot)
    desired = desired_files(files, flows, getattr(snapshot, "path", "") or "")
    changes = store.namespace_files.replace_all(desired, commit=commit, now=now, conn=conn)
    if any(changes.values()):
        log.info("namespace files: %s", {k: len(v) for k, v in changes.items()})
    return changes
