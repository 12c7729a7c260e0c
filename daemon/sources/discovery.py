"""Which files are flows, and the ``--path`` subfolder rules shared by every source.

The discovery rule, one for ``flowd validate`` and a sync: every ``*.yml``/``*.yaml`` file is read by the
source (``Snapshot.files``); a file is a flow when the validator accepts it. ``is_flow_candidate`` (textual,
cheap) and ``may_declare_flow`` (the three key words appear at all) only decide which files are worth
validating: a file that passes neither cannot be a valid flow. Whether an invalid file matters is decided
by the collector: one that held a deployed flow keeps that flow deployed (see ``daemon.reconcile.collect``).
"""

from __future__ import annotations

import posixpath
import re

from daemon.errors import SourceError

YAML_SUFFIXES = (".yml", ".yaml")

# A top-level key at column 0, optionally quoted: `id:`, "id":, 'id':
_TOP_KEY = re.compile(rb"""^(?:["']?)(id|namespace|tasks)(?:["']?)[ \t]*:""", re.MULTILINE)
_BOM = b"\xef\xbb\xbf"
_REQUIRED = frozenset({b"id", b"namespace", b"tasks"})


def is_yaml_name(path: str) -> bool:
    """True for ``*.yml`` / ``*.yaml`` file names (case-insensitive)."""
    return path.lower().endswith(YAML_SUFFIXES)


def is_flow_candidate(content: bytes) -> bool:
    """Cheap textual pre-check: the file has ``id``, ``namespace`` and ``tasks`` keys at column 0.

    This is deliberately not a YAML parse (a 10,000-file repository must be scanned fast). It may return True
    for a file that later fails to parse or is not a flow after all; that is fine, the validator reports it.
    A file passing it is reported when invalid (it means to be a flow). It returns False for flows written in
    flow style (``{id: ...}``) or with indented top-level keys: those are flows when they validate
    (``may_declare_flow`` selects them for validation), and are ignored silently otherwise.
    """
    if content.startswith(_BOM):
        content = content[len(_BOM) :]
    found = {match.group(1) for match in _TOP_KEY.finditer(content)}
    return found >= _REQUIRED


def may_declare_flow(content: bytes) -> bool:
    """True unless the bytes lack one of the words ``id``, ``namespace``, ``tasks`` (then no YAML reading of
    them can be a flow). Catches what ``is_flow_candidate`` misses: ``{id: ..., tasks: [...]}`` flow style,
    indented top-level keys, quoted keys with odd spacing."""
    return b"id" in content and b"namespace" in content and b"tasks" in content


def normalize_subpath(path: str | None) -> str:
    """``--path`` as a clean repository-relative POSIX folder: "" for the whole source.

    Raises ``SourceError`` for a path escaping the root (``..``).
    """
    if path is None:
        return ""
    cleaned = posixpath.normpath(path.replace("\\", "/").strip().lstrip("/"))
    if cleaned in ("", "."):
        return ""
    if cleaned == ".." or cleaned.startswith("../"):
        raise SourceError(f"--path '{path}' points outside the source")
    return cleaned


def is_under(path: str, subpath: str) -> bool:
    """True when repository-relative ``path`` lies inside folder ``subpath`` ("" = everywhere)."""
    return not subpath or path.startswith(subpath + "/")


def resolve_link(link_path: str, target: str) -> str | None:
    """The repository-relative path a symlink at ``link_path`` points to, or None when it leaves the root.

    Purely textual (the target is joined to the link's folder and normalised); callers resolve the result
    again if it runs through further links.
    """
    if target.startswith("/"):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(link_path), target))
    if joined == ".." or joined.startswith("../"):
        return None
    return "" if joined == "." else joined
