"""The engine's own thread and event loop, so that no database call of the executor or the scheduler
(synchronous SQLAlchemy: a commit may wait seconds for SQLite's write lock) ever stalls the daemon's main
loop, which serves the HTTP API, the heartbeat, the sync loop and signals.

Why a thread rather than an async database driver: the executor batches a step's writes into one
synchronous transaction (one pipeline on PostgreSQL) and its state is not shared with other threads; moving
the whole engine to its own loop keeps that code as it is and makes the boundary one object. Everything
that touches the executor runs on this loop: ``Services`` hands calls to it (``services.loop``), and the
main loop reaches it only through ``call`` / ``run`` here or ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class EngineThread:
    """A daemon thread running a private asyncio loop until ``stop()``."""

    def __init__(self, name: str = "flowd-engine") -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            pending = asyncio.all_tasks(self.loop)
            for task in pending:
                task.cancel()
            with contextlib.suppress(Exception):
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the engine loop and await its result from another loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    async def call(self, fn: Callable[[], T]) -> T:
        """Call ``fn()`` on the engine loop's thread and await its result from another loop."""

        async def call() -> T:
            return fn()

        return await self.run(call())

    def call_soon(self, fn: Callable[..., object], *args: object) -> None:
        """Schedule ``fn(*args)`` on the engine loop (thread-safe, does not wait)."""
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(fn, *args)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop (its remaining tasks are cancelled) and wait for the thread."""
        if self._thread.is_alive():
            self.call_soon(self.loop.stop)
            self._thread.join(timeout)
