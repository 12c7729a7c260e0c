"""Watching a local flow folder for changes (watchdog), debounced into one callback per burst."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from watchdog.events import (
    DirCreatedEvent,
    DirDeletedEvent,
    DirModifiedEvent,
    DirMovedEvent,
    FileCreatedEvent,
    FileDeletedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer

from daemon.sources.discovery import is_yaml_name

log = logging.getLogger(__name__)

DEBOUNCE_SECONDS = 0.1
_RELEVANT = frozenset({"created", "modified", "moved", "deleted"})
# only these are asked of the kernel: without a filter inotify also reports every open and close, so a sync
# reading 10,000 flow files made watchdog's threads handle 30,000 events in Python, holding the GIL away
# from the daemon's main loop (bench/loop_stall_bench.py)
_EVENTS: list[type[FileSystemEvent]] = [
    FileCreatedEvent, DirCreatedEvent, FileModifiedEvent, DirModifiedEvent,
    FileMovedEvent, DirMovedEvent, FileDeletedEvent, DirDeletedEvent,
]  # fmt: skip


class Stoppable(Protocol):
    """Something running in the background that can be stopped."""

    def stop(self) -> None:
        """Stop and wait for the background work to end."""
        ...


def _text(path: bytes | str) -> str:
    return path.decode("utf-8", "surrogateescape") if isinstance(path, bytes) else path


class _Debounced(FileSystemEventHandler):
    def __init__(self, on_change: Callable[[], None], delay: float) -> None:
        self._on_change = on_change
        self._delay = delay
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in _RELEVANT:
            return
        paths = [_text(event.src_path), _text(getattr(event, "dest_path", "") or "")]
        if any("/.git/" in p or p.endswith("/.git") for p in paths if p):
            return
        # Editors save via a temporary file renamed over the original: the destination of a move counts.
        # A moved or deleted folder may carry flow files with it, so those count too.
        # namespace files (anything below a ``_files`` folder) are synced with the flows
        relevant = any(is_yaml_name(p) or "/_files/" in p for p in paths if p) or (
            event.is_directory and event.event_type in ("moved", "deleted", "created")
        )
        if relevant:
            self._schedule()

    def _schedule(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self._delay, self._fire)
            self._timer.daemon = True
            self._timer.start()

    def _fire(self) -> None:
        try:
            self._on_change()
        except Exception:
            log.exception("flow folder change handler failed")

    def cancel(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None


class FolderWatch:
    """A running watch; ``stop()`` ends it (pending debounced callbacks are dropped)."""

    def __init__(self, root: Path, on_change: Callable[[], None], delay: float) -> None:
        self._handler = _Debounced(on_change, delay)
        self._observer = Observer()
        self._observer.schedule(self._handler, str(root), recursive=True, event_filter=_EVENTS)
        self._observer.daemon = True
        self._observer.start()

    def stop(self) -> None:
        """Stop the observer thread and any pending callback."""
        self._observer.stop()
        self._observer.join(timeout=5)
        self._handler.cancel()


def watch_folder(
    root: Path, on_change: Callable[[], None], *, debounce: float = DEBOUNCE_SECONDS
) -> Stoppable:
    """Call ``on_change()`` (from a background thread) once a burst of yml/yaml changes under ``root`` has
    been quiet for ``debounce`` seconds: creations, modifications, renames (either name) and deletions.

    The root is made absolute first: watchdog's events carry absolute paths, and under a relative root
    (``flowd run --source .``) it drops each of them as "not under watched root", leaving only the rescan.
    Changes inside ``.git`` are ignored. Starting walks the whole tree (one inotify watch per folder), in
    the calling thread: an event loop calls it in a worker thread."""
    return FolderWatch(Path(root).expanduser().resolve(), on_change, debounce)
