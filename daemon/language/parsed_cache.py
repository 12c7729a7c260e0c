"""A disk cache of parsed flows, so that running an already deployed flow skips YAML, model and semantics.

``flowd execute`` of a synced flow would otherwise validate its source again in every new process (YAML
loading, the pydantic model's schema build, semantic checks: the larger part of a cold start). A flow that
validated without errors is pickled into ``<directory>/flows.sqlite3`` under a key hashing the source text
together with a fingerprint of this flowd: its version, the Python and pydantic versions and the source
code of the flow language package. An entry is used only when the fingerprint and the SHA-256 of the text
stored inside the pickle match again; anything else (another version, an edited model, a damaged or
foreign entry) is a miss, and the flow is validated as without a cache. The entries are written by flowd
itself under its home folder, which is why unpickling them is acceptable.

One SQLite file rather than a file per flow: creating a file costs ~0.2 ms of system time, which a sync of
1,000 flows would pay 1,000 times; a writer thread stores the entries in a few transactions instead while
validation goes on, and the end of the ``use_flow_cache`` block waits for it.

The cache is off unless a command turns it on (``use_flow_cache``; the CLI does for the commands that
deploy or run flows, so ``flowd sync`` writes the entries ``flowd execute`` reads): within it every flow
that ``validate_text`` finds valid is remembered. ``flowd validate`` and library callers never touch it.
"""

from __future__ import annotations

import hashlib
import queue
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from daemon import __version__

if TYPE_CHECKING:
    from daemon.language.model import Flow

# pickle and sqlite3 are imported where used: ``flowd validate`` loads this module but never the cache

FORMAT = "flowd-parsed-flow/2"
DB_NAME = "flows.sqlite3"
MAX_ENTRIES = 5000  # beyond this, a write batch drops the entries written longest ago
_LANGUAGE_DIR = Path(__file__).parent
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS flows (key TEXT PRIMARY KEY, payload BLOB NOT NULL, written REAL NOT NULL)"
)

_directory: Path | None = None
_fingerprint: str | None = None
_writer: _Writer | None = None
_writer_lock = threading.RLock()


@contextmanager
def use_flow_cache(directory: Path | None) -> Iterator[None]:
    """Within the block, :func:`cached_load_flow` reads and :func:`remember_flow` writes entries under
    ``directory`` (None: no cache). The previous setting comes back afterwards, once the writes are done."""
    global _directory
    previous, _directory = _directory, directory
    try:
        yield
    finally:
        flush()
        _directory = previous


def cache_directory() -> Path | None:
    """The directory in use (None when the cache is off)."""
    return _directory


def flush() -> None:
    """Wait until every remembered entry is stored."""
    global _writer
    with _writer_lock:
        writer, _writer = _writer, None
    if writer is not None:
        writer.stop()


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
    """``load_flow(text, file)``, answered from the cache when it holds this text (validation remembers
    it otherwise). Raises ``FlowFileError`` exactly as ``load_flow`` does: invalid flows are never cached."""
    flow = lookup(text)
    if flow is not None:
        return flow
    from daemon.language.validate import load_flow

    return load_flow(text, file)


def lookup(text: str) -> Flow | None:
    """The cached flow of ``text``; None when the cache is off or has no valid entry for it."""
    if _directory is None:
        return None
    digest = text_hash(text)
    path = _directory / DB_NAME
    if not path.exists():
        return None
    import pickle
    import sqlite3

    try:
        with closing(sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True, timeout=2)) as db:
            row = db.execute("SELECT payload FROM flows WHERE key = ?", (_key(digest),)).fetchone()
    except sqlite3.Error:
        return None
    if row is None:
        return None
    try:
        fmt, stamp, stored_digest, flow = pickle.loads(row[0])
    except Exception:  # damaged, or pickled from classes that no longer exist: a miss, rewritten later
        return None
    if fmt != FORMAT or stamp != fingerprint() or stored_digest != digest:
        return None
    from daemon.language.model import Flow

    return flow if isinstance(flow, Flow) else None


def remember_flow(text: str, flow: Flow) -> None:
    """Store the entry of a flow validated without errors, in the background (no-op when the cache is off;
    a disk that refuses the write costs nothing but the next validation)."""
    global _writer
    if _directory is None:
        return
    import pickle

    digest = text_hash(text)
    try:
        payload = pickle.dumps((FORMAT, fingerprint(), digest, flow), protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return
    with _writer_lock:  # the daemon validates and runs flows on several threads
        if _writer is None or _writer.directory != _directory:
            flush()
            _writer = _Writer(_directory)
            _writer.start()
        _writer.entries.put((_key(digest), payload))


def _key(digest: str) -> str:
    # the fingerprint is part of the key so that another flowd version never reads (or overwrites) it
    return hashlib.sha256(f"{fingerprint()}\0{digest}".encode()).hexdigest()


class _Writer(threading.Thread):
    """Stores queued entries, as many per transaction as are waiting."""

    def __init__(self, directory: Path) -> None:
        super().__init__(name="flowd-flow-cache", daemon=True)
        self.directory = directory
        self.entries: queue.SimpleQueue[tuple[str, bytes] | None] = queue.SimpleQueue()

    def stop(self) -> None:
        """Write what is queued, then end."""
        self.entries.put(None)
        self.join()

    def run(self) -> None:
        done = False
        while not done:
            batch: list[tuple[str, bytes]] = []
            item = self.entries.get()
            while item is not None:
                batch.append(item)
                try:
                    item = self.entries.get_nowait()
                except queue.Empty:
                    break
            done = item is None
            if batch:
                self._store(batch)

    def _store(self, batch: list[tuple[str, bytes]]) -> None:
        import sqlite3

        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.directory / DB_NAME, timeout=5)) as db, db:
                db.execute(_SCHEMA)
                now = time.time()
                db.executemany(
                    "INSERT OR REPLACE INTO flows (key, payload, written) VALUES (?, ?, ?)",
                    [(key, payload, now) for key, payload in batch],
                )
                (count,) = db.execute("SELECT count(*) FROM flows").fetchone()
                if count > MAX_ENTRIES:
                    db.execute(
                        "DELETE FROM flows WHERE key IN (SELECT key FROM flows ORDER BY written LIMIT ?)",
                        (count - MAX_ENTRIES,),
                    )
        except (OSError, sqlite3.Error):
            return
