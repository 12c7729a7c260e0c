"""Internal storage: task output files under ``$FLOWD_HOME/storage``, addressed by Kestra-style URIs.

``kestra:///<namespace as folders>/<flow_id>/executions/<execution_id>/tasks/<task_id>/<task_run_id>/<file>``
(``company.team`` becomes ``company/team``, as Kestra does). Every segment is percent-encoded in the URI and
must be a plain name: a URI can never point outside the storage root (``..``, ``.``, empty segments,
separators, NUL and symlinks leading out are refused with ``StoreError``).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, unquote

from daemon.errors import StoreError

SCHEME = "kestra://"


def _check_segment(segment: str, what: str) -> str:
    if segment in ("", ".", "..") or "/" in segment or "\\" in segment or "\x00" in segment:
        raise StoreError(f"invalid {what} for internal storage: {segment!r}")
    return segment


def _namespace_segments(namespace: str) -> list[str]:
    return [_check_segment(part, "namespace") for part in namespace.split(".")]


def storage_uri(
    namespace: str, flow_id: str, execution_id: str, task_id: str, task_run_id: str, filename: str
) -> str:
    """The URI of a task run's file (every segment checked); StoreError when a segment is unsafe."""
    segments = [
        *_namespace_segments(namespace),
        _check_segment(flow_id, "flow id"),
        "executions",
        _check_segment(execution_id, "execution id"),
        "tasks",
        _check_segment(task_id, "task id"),
        _check_segment(task_run_id, "task run id"),
        _check_segment(filename, "file name"),
    ]
    return SCHEME + "/" + "/".join(quote(s, safe="") for s in segments)


class InternalStorage:
    """Files of task runs below ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(
        self,
        namespace: str,
        flow_id: str,
        execution_id: str,
        task_id: str,
        task_run_id: str,
        src_path: Path,
        *,
        filename: str | None = None,
    ) -> str:
        """Copy ``src_path`` into the storage (as ``filename``, default its own name); returns its URI.
        The copy is atomic: readers see the whole file or none."""
        uri = storage_uri(namespace, flow_id, execution_id, task_id, task_run_id, filename or src_path.name)
        target = self.path_of(uri)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out, src_path.open("rb") as src:
                shutil.copyfileobj(src, out)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return uri

    def path_of(self, uri: str) -> Path:
        """The file a URI names (which may not exist yet); StoreError when the URI is not ours or unsafe."""
        if not uri.startswith(SCHEME + "/"):
            raise StoreError(f"not an internal storage URI: {uri!r}")
        raw = uri[len(SCHEME) + 1 :]
        segments = [_check_segment(unquote(s), "URI segment") for s in raw.split("/")]
        root = self.root.resolve()
        path = root.joinpath(*segments)
        # a symlink inside the storage must not lead out of it either
        if not path.resolve().is_relative_to(root):
            raise StoreError(f"internal storage URI escapes the storage root: {uri!r}")
        return path

    def open(self, uri: str) -> BinaryIO:
        """Open a stored file for reading (binary); StoreError when it does not exist."""
        path = self.path_of(uri)
        try:
            return path.open("rb")
        except FileNotFoundError as exc:
            raise StoreError(f"no such file in internal storage: {uri}") from exc

    def exists(self, uri: str) -> bool:
        """Whether the URI names a stored file."""
        return self.path_of(uri).is_file()

    def delete_execution_files(
        self, execution_id: str, *, namespace: str | None = None, flow_id: str | None = None
    ) -> int:
        """Remove every file of an execution; returns how many folders were removed. Without
        ``namespace``/``flow_id`` the storage is searched for the execution's folder."""
        _check_segment(execution_id, "execution id")
        if namespace is not None and flow_id is not None:
            base = self.root.joinpath(*_namespace_segments(namespace), _check_segment(flow_id, "flow id"))
            folders = [base / "executions" / execution_id]
        else:
            folders = list(self.root.glob(f"**/executions/{execution_id}"))
        removed = 0
        for folder in folders:
            if folder.is_dir() and not folder.is_symlink():
                shutil.rmtree(folder)
                removed += 1
        return removed
