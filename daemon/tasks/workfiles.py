"""Files a task exchanges with its working directory: ``inputFiles`` in, ``outputFiles`` out."""

from __future__ import annotations

import json
import shutil
from pathlib import Path, PurePosixPath
from typing import Any

from daemon.engine.context import RunContext
from daemon.errors import FlowdError, TaskError

STORAGE_SCHEME = "kestra:///"


def is_storage_uri(value: Any) -> bool:
    """Whether ``value`` is one internal-storage URI (and nothing more)."""
    return isinstance(value, str) and value.startswith(STORAGE_SCHEME) and "\n" not in value.strip()


def storage_path(ctx: RunContext, uri: str) -> Path:
    """The local file behind an internal-storage URI; TaskError when it is unusable or missing."""
    try:
        path = ctx.storage.path_of(uri.strip())
    except FlowdError as exc:
        raise TaskError(str(exc)) from exc
    if not path.is_file():
        raise TaskError(f"no such file in internal storage: {uri}")
    return path


def safe_relative(workdir: Path, name: str) -> Path:
    """``workdir / name`` for a relative name that stays inside ``workdir``."""
    pure = PurePosixPath(name)
    if not name or pure.is_absolute() or ".." in pure.parts:
        raise TaskError(
            f"inputFiles: file name must be a relative path inside the working directory: {name!r}"
        )
    return workdir.joinpath(*pure.parts)


def input_file_map(ctx: RunContext, input_files: dict[str, str] | str | None) -> dict[str, str]:
    """The rendered ``inputFiles`` map; a string is a JSON map or the URI of a stored JSON map."""
    if input_files is None:
        return {}
    rendered = ctx.render(input_files)
    if isinstance(rendered, str):
        text = storage_path(ctx, rendered).read_text() if is_storage_uri(rendered) else rendered
        try:
            rendered = json.loads(text)
        except ValueError as exc:
            raise TaskError("inputFiles: a string must be a JSON map of file name to content") from exc
    if not isinstance(rendered, dict):
        raise TaskError("inputFiles: expected a map of file name to content")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in rendered.items()}


def write_input_files(ctx: RunContext, input_files: dict[str, str] | str | None) -> list[Path]:
    """Write ``inputFiles`` into the workdir; a content that is a storage URI copies that stored file."""
    written = []
    for name, content in input_file_map(ctx, input_files).items():
        target = safe_relative(ctx.workdir, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if is_storage_uri(content):
            shutil.copyfile(storage_path(ctx, content), target)
        else:
            target.write_text(content)
        written.append(target)
    return written


def match_output_files(workdir: Path, patterns: list[str]) -> dict[str, Path]:
    """Files of ``workdir`` matching the glob ``patterns`` (``**`` allowed), keyed by relative posix path."""
    root = workdir.resolve()
    found: dict[str, Path] = {}
    for pattern in patterns:
        if PurePosixPath(pattern).is_absolute() or ".." in PurePosixPath(pattern).parts:
            raise TaskError(f"outputFiles: pattern must be relative to the working directory: {pattern!r}")
        for path in sorted(root.glob(pattern)):
            # a symlink must not smuggle a file from outside the workdir into storage
            if path.is_file() and path.resolve().is_relative_to(root):
                found.setdefault(path.relative_to(root).as_posix(), path)
    return found


def store_output_files(ctx: RunContext, patterns: list[str]) -> dict[str, str]:
    """Put the files matching ``outputFiles`` into internal storage: ``{relative path: kestra:/// uri}``.

    Storage names are flat, so a file in a sub-folder is stored as ``sub_folder_name.ext``.
    """
    return {
        rel: ctx.storage.put_file(ctx.execution_id, ctx.task_run_id, rel.replace("/", "_"), path)
        for rel, path in match_output_files(ctx.workdir, patterns).items()
    }
