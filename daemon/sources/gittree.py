"""Reading flow candidates out of a Git tree object (no working tree), in full or as a delta."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pygit2
from pygit2.enums import DeltaStatus, FileMode

from daemon.errors import SourceError
from daemon.sources.discovery import is_under, is_yaml_name, resolve_link
from daemon.sources.snapshot import Skipped, Snapshot

_MAX_LINK_HOPS = 16
_LINK = int(FileMode.LINK)
_TREE = int(FileMode.TREE)
_BLOBS = (int(FileMode.BLOB), int(FileMode.BLOB_EXECUTABLE))


class _LinkProblem(Exception):
    """A symlink that cannot be followed; the message is the skip reason."""


@dataclass
class _Read:
    repo: pygit2.Repository
    root: pygit2.Tree
    reuse: Mapping[str, bytes]  # blob id -> content, from the previous snapshot
    files: dict[str, bytes] = field(default_factory=dict)
    blobs: dict[str, str] = field(default_factory=dict)
    skipped: list[Skipped] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)

    def blob(self, oid: pygit2.Oid) -> bytes:
        known = self.reuse.get(str(oid))
        if known is not None:
            return known
        obj = self.repo[oid]
        assert isinstance(obj, pygit2.Blob)
        return obj.data

    def add(self, path: str, oid: pygit2.Oid) -> None:
        # every YAML file (see ``discovery``): which ones are flows is the collector's decision
        self.files[path] = self.blob(oid)
        self.blobs[path] = str(oid)


def subtree(root: pygit2.Tree, subpath: str, commit: str) -> pygit2.Tree:
    """The folder ``subpath`` of ``root``; ``SourceError`` when it is missing or not a folder."""
    if not subpath:
        return root
    try:
        obj = root[subpath]
    except KeyError:
        obj = None
    if not isinstance(obj, pygit2.Tree):
        raise SourceError(f"--path '{subpath}' does not exist in commit {commit[:12]}")
    return obj


def read_full(
    repo: pygit2.Repository, commit: pygit2.Commit, subpath: str, *, since: Snapshot | None = None
) -> Snapshot:
    """Walk the commit's tree under ``subpath``; blob contents already in ``since`` are not read again."""
    reuse = {oid: since.files[path] for path, oid in since.blobs.items()} if since else {}
    read = _Read(repo=repo, root=commit.tree, reuse=reuse)
    start = subtree(commit.tree, subpath, str(commit.id))
    _walk(read, start, subpath, subpath, depth=0)
    return Snapshot(
        commit=str(commit.id),
        files=dict(sorted(read.files.items())),
        skipped=tuple(read.skipped),
        path=subpath,
        blobs=read.blobs,
        links=read.links,
    )


def read_delta(repo: pygit2.Repository, since: Snapshot, commit: pygit2.Commit) -> Snapshot | None:
    """``since`` updated to ``commit`` by a tree-to-tree diff, reading only changed blobs.

    Returns None when the diff cannot be applied safely (symlinks involved: a link's content depends on its
    target, which may have changed elsewhere); the caller then falls back to ``read_full`` with reuse.
    """
    assert since.commit is not None
    if since.links:
        return None
    old = repo[since.commit]
    assert isinstance(old, pygit2.Commit)
    subtree(commit.tree, since.path, str(commit.id))  # a vanished --path must still be an error
    diff = old.tree.diff_to_tree(commit.tree)
    files = dict(since.files)
    blobs = dict(since.blobs)
    touched: set[str] = set()
    read = _Read(repo=repo, root=commit.tree, reuse={})
    for delta in diff.deltas:
        if _LINK in (delta.old_file.mode, delta.new_file.mode):
            return None
        for path in {delta.old_file.path, delta.new_file.path}:
            touched.add(path)
            files.pop(path, None)
            blobs.pop(path, None)
        new = delta.new_file
        if (
            delta.status != DeltaStatus.DELETED
            and new.mode in _BLOBS
            and is_under(new.path, since.path)
            and is_yaml_name(new.path)
        ):
            read.add(new.path, new.id)
    files.update(read.files)
    blobs.update(read.blobs)
    skipped = tuple(s for s in since.skipped if s.path not in touched)
    return Snapshot(
        commit=str(commit.id),
        files=dict(sorted(files.items())),
        skipped=skipped,
        path=since.path,
        blobs=blobs,
    )


def changed_paths(repo: pygit2.Repository, old: pygit2.Commit, new: pygit2.Commit) -> set[str]:
    """Every repository-relative path added, modified, deleted or renamed (both names) between commits."""
    paths: set[str] = set()
    for delta in old.tree.diff_to_tree(new.tree).deltas:
        paths.add(delta.old_file.path)
        paths.add(delta.new_file.path)
    return paths


def _walk(read: _Read, tree: pygit2.Tree, shown: str, real: str, *, depth: int) -> None:
    """Walk ``tree``; ``shown`` is the path files are reported under, ``real`` where the tree really is
    (they differ below a followed directory symlink; link targets resolve against the real location)."""
    for entry in tree:
        name = entry.name or ""
        shown_path = f"{shown}/{name}" if shown else name
        real_path = f"{real}/{name}" if real else name
        mode = entry.filemode
        if mode == _TREE:
            obj = read.repo[entry.id]
            assert isinstance(obj, pygit2.Tree)
            _walk(read, obj, shown_path, real_path, depth=depth)
        elif mode in _BLOBS and is_yaml_name(name):
            read.add(shown_path, entry.id)
        elif mode == _LINK:
            _follow(read, entry, shown_path, real_path, depth=depth)


def _follow(read: _Read, entry: pygit2.Object, shown_path: str, real_path: str, *, depth: int) -> None:
    try:
        target_path, obj = _resolve(read, real_path, read.blob(entry.id), hops=0)
    except _LinkProblem as problem:
        read.skipped.append(Skipped(shown_path, str(problem)))
        return
    if isinstance(obj, pygit2.Tree):
        if target_path == "" or real_path.startswith(target_path + "/") or depth >= _MAX_LINK_HOPS:
            read.skipped.append(Skipped(shown_path, "symlink loop"))
            return
        read.links[shown_path] = target_path
        _walk(read, obj, shown_path, target_path, depth=depth + 1)
    elif isinstance(obj, pygit2.Blob) and is_yaml_name(shown_path):
        read.links[shown_path] = target_path
        before = len(read.files)
        read.add(shown_path, obj.id)
        if len(read.files) == before:
            read.links.pop(shown_path)


def _resolve(read: _Read, link_path: str, target: bytes, *, hops: int) -> tuple[str, pygit2.Object]:
    """Follow a symlink inside the tree, component by component (links within the path are followed)."""
    if hops >= _MAX_LINK_HOPS:
        raise _LinkProblem("symlink loop")
    joined = resolve_link(link_path, target.decode("utf-8", "surrogateescape"))
    if joined is None:
        raise _LinkProblem("symlink points outside the repository")
    obj: pygit2.Object = read.root
    done = ""
    for part in joined.split("/") if joined else []:
        if not isinstance(obj, pygit2.Tree):
            raise _LinkProblem("broken symlink")
        try:
            entry = obj[part]
        except KeyError:
            raise _LinkProblem("broken symlink") from None
        here = f"{done}/{part}" if done else part
        if entry.filemode == _LINK:
            here, obj = _resolve(read, here, read.blob(entry.id), hops=hops + 1)
        else:
            obj = read.repo[entry.id]
        done = here
    return done, obj
