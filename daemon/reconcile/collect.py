"""Turning the files of a source snapshot into desired flows and invalid files, validating only what changed.

A file is validated with ``daemon.language.validate_text`` (the same diagnostics ``flowd validate`` prints).
Two shortcuts keep a sync of a large repository cheap:
- ``FileChecker`` remembers results by (path, content hash) for the life of the object (the daemon keeps one
  ``Reconciler``, hence one checker), so only files that changed since the last sync are validated again;
- with ``trust_deployed``, a file whose normalised content is exactly the revision already deployed from
  the same path is not validated again (it was valid when deployed, and it can only be ``unchanged``). This
  is what makes a one-shot ``flowd sync`` of an unchanged repository fast; a flowd upgrade that tightens
  validation then applies to a flow at its next edit.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace

from daemon.errors import Diagnostic
from daemon.reconcile.hashing import content_hash
from daemon.reconcile.plan import DeployedFlow, DesiredFlow, InvalidFile
from daemon.sources.discovery import is_flow_candidate, may_declare_flow

Checked = DesiredFlow | InvalidFile


@dataclass(frozen=True, slots=True)
class Collected:
    """The source's files sorted into valid flows and invalid files; ``validated`` counts real validations."""

    desired: list[DesiredFlow]
    invalid: list[InvalidFile]
    validated: int


# never flows whatever they hold: flow unit tests (``*.test.yml``, see daemon.language.validate) and
# namespace files (below ``_files/``, see daemon.reconcile.namespace_files); a plain pattern keeps the flow
# model unloaded
_NEVER_FLOWS = re.compile(r"(^|/)_files/|\.test\.ya?ml$")


class FileChecker:
    """Validates snapshot files, caching each result by path and content."""

    def __init__(self, *, strict: bool = False) -> None:
        self.strict = strict
        self._cache: dict[tuple[str, str], Checked] = {}

    def collect(
        self, files: Mapping[str, bytes], *, deployed: list[DeployedFlow] | None = None, trust: bool = True
    ) -> Collected:
        """Validate (or recall) the flow files among ``files`` (every YAML file of the snapshot).

        The discovery rule: a file is a flow when it validates. A file that does not is reported as invalid
        when it looks like a flow (``is_flow_candidate``) or when a deployed flow came from it (that flow is
        then kept, never deleted); any other YAML file is not a flow and is ignored. ``trust`` enables the
        trust-deployed shortcut.
        """
        held = {d.path: d.uid for d in deployed or () if d.path}
        by_path = {(d.path, d.hash): d for d in deployed or () if d.path} if trust else {}
        desired: list[DesiredFlow] = []
        invalid: list[InvalidFile] = []
        cache: dict[tuple[str, str], Checked] = {}
        validated = 0
        for path in sorted(files):
            if _NEVER_FLOWS.search(path):
                continue
            raw = files[path]
            candidate = is_flow_candidate(raw)
            former = held.get(path)
            if not candidate and former is None and not may_declare_flow(raw):
                continue  # cannot be a flow and deployed nothing: some other YAML file
            key = (path, hashlib.sha256(raw).hexdigest())
            found = self._cache.get(key)
            if found is None and by_path:
                # a trusted result holds only while that revision is deployed: it is not cached
                found = _trusted(path, raw, by_path)
            if found is None:
                found = check_file(path, raw, strict=self.strict)
                validated += 1
            if not (isinstance(found, DesiredFlow) and found.triggers is None):
                cache[key] = found
            if isinstance(found, DesiredFlow):
                desired.append(found)
            elif candidate:
                invalid.append(replace(found, former=former))
            elif former is not None:
                diagnostics = (*found.diagnostics, _kept(path, former))
                invalid.append(replace(found, diagnostics=diagnostics, former=former, looks_like_flow=False))
        self._cache = cache  # forget files that are gone: the cache never outgrows one snapshot
        return Collected(desired, invalid, validated)


def _kept(path: str, uid: str) -> Diagnostic:
    return Diagnostic(
        path, 1, 1, "error", "",
        f"this file no longer holds a valid flow: {uid} stays deployed at its current revision "
        "(fix the file, or delete it to delete the flow)",
    )  # fmt: skip


def check_file(path: str, raw: bytes, *, strict: bool = False) -> Checked:
    """Validate one file's bytes (``strict``: flowd's checks beyond Kestra's are errors)."""
    # imported on first use: a sync where nothing changed never loads the flow model (~0.5 s of start-up)
    from daemon.language.validate import validate_text
    from daemon.reconcile.triggers import trigger_defs

    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return InvalidFile(path, (Diagnostic(path, line, 1, "error", "", "file is not valid UTF-8"),))
    result = validate_text(text, path, strict=strict)
    if result.flow is None:
        data = result.data or {}
        ns, fid = data.get("namespace"), data.get("id")
        uid = f"{ns}/{fid}" if isinstance(ns, str) and isinstance(fid, str) else None
        return InvalidFile(path, tuple(result.diagnostics), uid)
    flow = result.flow
    return DesiredFlow(flow.namespace, flow.id, path, text, content_hash(text), trigger_defs(flow))


def _trusted(path: str, raw: bytes, deployed: dict[tuple[str, str], DeployedFlow]) -> DesiredFlow | None:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    digest = content_hash(text)
    have = deployed.get((path, digest))
    if have is None:
        return None
    return DesiredFlow(have.namespace, have.flow_id, path, text, digest, None)
