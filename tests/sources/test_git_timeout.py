"""A Git fetch is bounded: a remote that accepts the connection and never answers gives a SourceError
within the timeout, and a snapshot waiting on a hung fetch gives up too (the sync lock is never held
forever)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pygit2
import pytest

from daemon.errors import SourceError
from daemon.sources.git import GitSource


@pytest.fixture(autouse=True)
def _restore_libgit2_timeouts() -> Iterator[None]:
    """libgit2's timeouts are process-wide: leave them as found for the other tests."""
    saved = (pygit2.settings.server_connect_timeout, pygit2.settings.server_timeout)
    yield
    pygit2.settings.server_connect_timeout, pygit2.settings.server_timeout = saved


@pytest.fixture
def silent_server() -> Iterator[str]:
    """An HTTP "server" on 127.0.0.1 that accepts connections and never sends a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/repo.git"
    stop.set()
    thread.join(2)
    for conn in held:
        conn.close()
    server.close()


def snapshot_within(source: GitSource, limit: float) -> tuple[BaseException | None, float]:
    """Run ``source.snapshot()`` in a thread; (its error, seconds taken); fails the test past ``limit``."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            source.snapshot()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(limit)
    assert outcome, f"the fetch was still running after {limit:g}s"
    return outcome[0], time.monotonic() - started


@pytest.mark.integration
def test_fetch_from_a_silent_remote_times_out(silent_server: str, tmp_path: Path) -> None:
    source = GitSource(silent_server, cache_dir=tmp_path, timeout=1.0)
    error, _ = snapshot_within(source, 30)
    assert isinstance(error, SourceError) and "cannot fetch" in error.message


def test_a_snapshot_behind_a_hung_fetch_gives_up(tmp_path: Path) -> None:
    source = GitSource("http://127.0.0.1:9/none.git", cache_dir=tmp_path, timeout=0.3)
    source._lock.acquire()  # a fetch that never ends holds it
    try:
        error, _ = snapshot_within(source, 10)
    finally:
        source._lock.release()
    assert isinstance(error, SourceError) and "earlier fetch" in error.message
