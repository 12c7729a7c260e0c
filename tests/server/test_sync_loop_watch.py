"""The sync loop keeps its slow parts off the main loop: the folder watch starts in a worker thread (the
start walks the whole folder), a watch whose start was cancelled half-way is still stopped once it has
started, and the after-sync callback (a store write) runs in a worker thread."""

from __future__ import annotations

import asyncio
import gc
import threading
from pathlib import Path
from typing import Any

import pytest

from daemon.reconcile import SyncOutcome
from daemon.server import sync_loop
from daemon.server.sync_loop import SyncLoop


class FakeWatch:
    def __init__(self) -> None:
        self.stopped = threading.Event()

    def stop(self) -> None:
        self.stopped.set()


def test_a_watch_started_after_cancellation_is_stopped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release, entered = threading.Event(), threading.Event()
    watch = FakeWatch()
    threads: list[str] = []

    def slow_watch(root: Path, on_change: Any) -> FakeWatch:
        threads.append(threading.current_thread().name)
        entered.set()
        release.wait(10)  # a long walk of the folder
        return watch

    monkeypatch.setattr(sync_loop, "watch_folder", slow_watch)
    monkeypatch.setattr(SyncLoop, "watch_root", lambda self: tmp_path)
    loop_ = SyncLoop(object(), interval=3600, on_synced=lambda *_: None)  # type: ignore[arg-type]

    async def main() -> None:
        task = asyncio.ensure_future(loop_.run(asyncio.Event()))
        await asyncio.to_thread(entered.wait, 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not watch.stopped.is_set()  # still starting
        release.set()
        await asyncio.to_thread(watch.stopped.wait, 10)

    asyncio.run(main())
    assert watch.stopped.is_set()
    assert threads and threads[0] != threading.main_thread().name  # not on the loop's thread


class Done:
    """A reconciler whose sync succeeds at once."""

    def sync(self) -> SyncOutcome:
        return SyncOutcome("SUCCESS", None, None)


def test_the_after_sync_callback_runs_off_the_loop() -> None:
    """The daemon's callback writes the store's source record: never on the main loop's thread."""
    seen: list[threading.Thread] = []
    loop_ = SyncLoop(Done(), interval=3600, on_synced=lambda *_: seen.append(threading.current_thread()))  # type: ignore[arg-type]
    try:
        outcome = asyncio.run(loop_.sync_once())
    finally:
        gc.unfreeze()  # the sync froze the test process's objects
    assert outcome.result == "SUCCESS"
    assert seen and seen[0] is not threading.main_thread()


def test_the_sync_and_its_callback_take_one_trip_to_a_worker_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    """A push hook's answer waits for the sync and the daemon's callback: one hand-off, in one thread."""
    trips: list[Any] = []
    real = asyncio.to_thread

    async def counted(func: Any, /, *args: Any, **kwargs: Any) -> Any:
        trips.append(func)
        return await real(func, *args, **kwargs)

    threads: list[threading.Thread] = []

    class Recorded(Done):
        def sync(self) -> SyncOutcome:
            threads.append(threading.current_thread())
            return super().sync()

    monkeypatch.setattr(sync_loop.asyncio, "to_thread", counted)
    on_synced = lambda *_: threads.append(threading.current_thread())  # noqa: E731
    loop_ = SyncLoop(Recorded(), interval=3600, on_synced=on_synced)  # type: ignore[arg-type]
    try:
        outcome = asyncio.run(loop_.sync_once())
    finally:
        gc.unfreeze()
    assert outcome.result == "SUCCESS"
    assert len(trips) == 1
    assert len(threads) == 2 and threads[0] is threads[1] is not threading.main_thread()
