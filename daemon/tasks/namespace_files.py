"""Namespace files in a task's working directory (``namespaceFiles: {enabled: true}``), and ``read(path)``.

The sync stores each namespace's files (the ``_files/`` folders of the flows repository) in the database,
versioned; a task copies the current version of those matching ``include`` and not matching ``exclude``
into its working directory, keeping their relative paths.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Protocol

from daemon.engine.context import NamespaceFilesPort, RunContext
from daemon.errors import TaskError
from daemon.language.namespace_files import NamespaceFiles
from daemon.tasks.workfiles import safe_relative

STORAGE_SCHEME = "kestra://"


def _matches(rel: str, patterns: list[str]) -> bool:
    # Kestra's globs are relative paths; ``**/x`` also matches ``x`` at the top, ``dir/**`` all below dir
    for pattern in patterns:
        p = pattern.lstrip("/")
        if fnmatchcase(rel, p) or (p.startswith("**/") and fnmatchcase(rel, p[3:])):
            return True
        if p.endswith("/**") and rel.startswith(p[:-2]):
            return True
    return False


def selected(paths: list[str], spec: NamespaceFiles) -> list[str]:
    """The paths ``include`` (everything when empty) keeps and ``exclude`` drops, sorted."""
    return sorted(
        rel
        for rel in paths
        if (not spec.include or _matches(rel, spec.include))
        and not (spec.exclude and _matches(rel, spec.exclude))
    )


def is_enabled(spec: NamespaceFiles | None, render: Callable[[Any], Any]) -> bool:
    """Whether ``namespaceFiles`` is given and ``enabled`` (an expression is rendered)."""
    if spec is None:
        return False
    value = render(spec.enabled) if isinstance(spec.enabled, str) else spec.enabled
    return str(value).strip().lower() == "true"


def place_files(files: dict[str, bytes], spec: NamespaceFiles, workdir: Path, namespace: str) -> list[str]:
    """Write the selected ``files`` of ``namespace`` under ``workdir`` (honouring ``ifExists``)."""
    placed: list[str] = []
    for rel in selected(list(files), spec):
        name = f"{namespace}/{rel}" if spec.folderPerNamespace else rel
        target = safe_relative(workdir, name)
        if target.exists() and spec.ifExists.upper() == "FAIL":
            raise TaskError(f"namespaceFiles: {rel} already exists in the working directory")
        if target.exists() and spec.ifExists.upper() == "SKIP":
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(files[rel])
        placed.append(rel)
    return placed


def namespaces_of(spec: NamespaceFiles, namespace: str, render: Callable[[Any], Any]) -> list[str]:
    """The flow's namespace, then the other ``namespaces`` the spec names."""
    return [namespace, *[str(render(n)) for n in spec.namespaces]]


async def copy_namespace_files(ctx: RunContext, spec: NamespaceFiles | None) -> list[str]:
    """Copy the selected namespace files into the working directory; their relative paths."""
    if not is_enabled(spec, ctx.render):
        return []
    assert spec is not None
    port = ctx.namespace_files
    if port is None:
        raise TaskError("namespaceFiles: this daemon has no namespace files store")
    copied: list[str] = []
    for namespace in namespaces_of(spec, ctx.namespace, ctx.render):
        files = await asyncio.to_thread(port.files, namespace)
        copied += place_files(files, spec, ctx.workdir, namespace)
    ctx.log("DEBUG", f"namespaceFiles: {len(copied)} file(s) copied into the working directory")
    return copied


def fill_working_directory(
    port: NamespaceFilesPort,
    spec: NamespaceFiles | None,
    folder: Path,
    namespace: str,
    render: Callable[[Any], Any],
) -> list[str]:
    """A WorkingDirectory's ``namespaceFiles``: the selected files written into its shared folder."""
    if not is_enabled(spec, render):
        return []
    assert spec is not None
    return [
        rel
        for ns in namespaces_of(spec, namespace, render)
        for rel in place_files(port.files(ns), spec, folder, ns)
    ]


class NamespaceFileGetter(Protocol):
    """One namespace file's current content (None when there is none)."""

    def get(self, namespace: str, path: str) -> bytes | None: ...


def file_reader(
    read_storage: Callable[[str], Path], port: NamespaceFileGetter, namespace: str
) -> Callable[[str], str]:
    """``read(x)`` for expressions: an internal-storage URI, else a namespace file's path."""

    def read(path: str) -> str:
        if path.startswith(STORAGE_SCHEME):
            return read_storage(path).read_text()
        content = port.get(namespace, path)
        if content is None:
            raise LookupError(f"no namespace file '{path}' in namespace '{namespace}'")
        return content.decode()

    return read
