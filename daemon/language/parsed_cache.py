"""A disk cache of parsed flows, so that running an already deployed flow skips YAML, model and semantics.

``flowd execute`` of a synced flow would otherwise validate its source again in every new process (YAML
loading, the pydantic model's schema build, semantic checks: the larger part of a cold start). A flow that
validated without errors is pickled under ``<directory>/flows/<key>.pickle`` where the key hashes the
source text together with a fingerprint of this flowd: its version, the Python and pydantic versions and
the source code of the flow language package. An entry is used only when the fingerprint and the SHA-256
of the text stored inside it match again; anything else (another version, an edited model, a truncated or
foreign file) is a miss, and the flow is validated as without a cache. The entries are written by flowd
itself under its home folder, which is why unpickling them is acceptable.

The cache is off unless a command turns it on (``use_flow_cache``): ``flowd validate`` and the library
functions never touch the disk.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from daemon import __version__

if TYPE_CHECKING:
    from daemon.language.model import Flow

FORMAT = "flowd-parsed-flow/1"
MAX_ENTRIES = 2000  # beyond this, writing an entry drops the least recently written quarter
_LANGUAGE_DIR = Path(__file__).parent

_directory: Path | None = None
_fingerprint: str | None = None


@contextmanager
def use_flow_cache(directory: Path | None) -> Iterator[None]:
    """Within the block, :func:`cached_load_flow` reads and :func:`remember_flow` writes entries under
    ``directory`` (None: no cache). The previous setting comes back afterwards."""
    global _directory
    previous, _directory = _directory, directory
    try:
        yield
    finally:
        _directory = previous


def cache_directory() -> Path | None:
    """The directory in use (None when the cache is off)."""
    return _directory


def fingerprint() -> str:
    """What a parsed flow depends on besides its text: versions and the flow language's source code."""
    global _fingerprint
    if _fingerprint is None:
        import pydantic

        digest = hashlib.sha256(f"{FORMAT}\0{__version__}\0{sys.version}\0{pydantic.VERSION}".encode())
        for path in sorted(_LANGUAGE_DIR.glob("*.py")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
        _fingerprint = digest.hexdigest()
    return _fingerprint


def text_hash(text: str) -> str:
    """SHA-256 of a flow source."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def cached_load_flow(text: str, file: str = "<flow>") -> Flow:
    """``load_flow(text, file)``, answered from the cache when it holds this text (and remembered when it
    does not). Raises ``FlowFileError`` exactly as ``load_flow`` does: invalid flows are never cached."""
    flow = lookup(text)
    if flow is not None:
        return flow
    from daemon.language.validate import load_flow

    flow = load_flow(text, file)
    remember_flow(text, flow)
    return flow


def lookup(text: str) -> Flow | None:
    """The cached flow of ``text``; None when the cache is off or has no valid entry for it."""
    if _directory is None:
        return None
    key = text_hash(text)
    try:
        payload = _entry_path(_directory, key).read_bytes()
    except OSError:
        return None
    try:
        fmt, stamp, stored_key, flow = pickle.loads(payload)
    except Exception:  # truncated, foreign or from classes that no longer exist: a miss, rewritten later
        return None
    if fmt != FORMAT or stamp != fingerprint() or stored_key != key:
        return None
    from daemon.language.model import Flow

    return flow if isinstance(flow, Flow) else None


def remember_flow(text: str, flow: Flow) -> None:
    """Write the entry of a flow validated without errors (no-op when the cache is off; a disk that
    refuses the write costs nothing but the next validation)."""
    if _directory is None:
        return
    key = text_hash(text)
    target = _entry_path(_directory, key)
    try:
        payload = pickle.dumps((FORMAT, fingerprint(), key, flow), protocol=pickle.HIGHEST_PROTOCOL)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-", suffix=".pickle")
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
        os.replace(tmp, target)  # readers never see a half-written entry
        if key.startswith("00"):  # about one write in 256 looks at the folder's size
            _prune(target.parent)
    except (OSError, pickle.PicklingError):
        return


def _entry_path(directory: Path, key: str) -> Path:
    # the fingerprint is part of the name so that another flowd version never reads (or overwrites) it
    name = hashlib.sha256(f"{fingerprint()}\0{key}".encode()).hexdigest()
    return directory / "flows" / f"{name}.pickle"


def _prune(folder: Path) -> None:
    entries = list(folder.glob("*.pickle"))
    if len(entries) <= MAX_ENTRIES:
        return
    entries.sort(key=lambda p: p.stat().st_mtime)
    for stale in entries[: len(entries) // 4]:
        stale.unlink(missing_ok=True)
