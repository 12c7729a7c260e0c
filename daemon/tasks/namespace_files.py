"""Namespace files in a task's working directory (``namespaceFiles: {enabled: true}``).

The sync keeps the current version of each namespace's files in internal storage under
``kestra:///<namespace as path>/_files/<path>`` (Kestra's own layout); a task copies those matching
``include`` and not matching ``exclude`` into its working directory, keeping their relative paths.
"""

from __future__ import annotations

import shutil
from fnmatch import fnmatchcase
from pathlib import Path

from daemon.engine.context import RunContext
from daemon.errors import FlowdError, TaskError
from daemon.language.namespace_files import NamespaceFiles

FILES_FOLDER = "_files"


def namespace_files_uri(namespace: str, path: str = "") -> str:
    """The internal-storage URI of a namespace file (or of the namespace's files folder)."""
    base = f"kestra:///{namespace.replace('.', '/')}/{FILES_FOLDER}"
    return f"{base}/{path.lstrip('/')}" if path else base


def namespace_files_dir(ctx: RunContext, namespace: str) -> Path | None:
    """The local folder holding ``namespace``'s current files; None when it has none."""
    try:
        folder = ctx.storage.path_of(namespace_files_uri(namespace))
    except FlowdError:
        return None
    return folder if folder.is_dir() else None


def _matches(rel: str, patterns: list[str]) -> bool:
    # Kestra's globs are relative paths; ``**/x`` also matches ``x`` at the top
    return any(
        fnmatchcase(rel, p) or (p.startswith("**/") and fnmatchcase(rel, p[3:])) or fnmatchcase("/" + rel, p)
        for p in patterns
    )


def selected_files(folder: Path, spec: NamespaceFiles) -> dict[str, Path]:
    """The files of ``folder`` that ``include`` (everything when empty) keeps and ``exclude`` drops."""
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(folder).as_posix()
        if spec.include and not _matches(rel, spec.include):
            continue
        if spec.exclude and _matches(rel, spec.exclude):
            continue
        found[rel] = path
    return found


def _enabled(ctx: RunContext, spec: NamespaceFiles | None) -> bool:
    if spec is None:
        return False
    value = ctx.render(spec.enabled) if isinstance(spec.enabled, str) else spec.enabled
    return str(value).strip().lower() == "true"


def copy_namespace_files(ctx: RunContext, spec: NamespaceFiles | None) -> list[str]:
    """Copy the selected namespace files into the working directory; their relative paths."""
    if not _enabled(ctx, spec):
        return []
    assert spec is not None
    copied: list[str] = []
    for namespace in [ctx.namespace, *[str(ctx.render(n)) for n in spec.namespaces]]:
        folder = namespace_files_dir(ctx, namespace)
        if folder is None:
            continue
        for rel, path in selected_files(folder, spec).items():
            target = ctx.workdir / (f"{namespace}/{rel}" if spec.folderPerNamespace else rel)
            if target.exists() and spec.ifExists.upper() == "FAIL":
                raise TaskError(f"namespaceFiles: {rel} already exists in the working directory")
            if target.exists() and spec.ifExists.upper() == "SKIP":
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
            copied.append(rel)
    if copied:
        ctx.log("DEBUG", f"namespaceFiles: {len(copied)} file(s) in the working directory")
    return copied
