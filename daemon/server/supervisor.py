"""Supervising the daemon's parts: a part that raises is restarted after a capped exponential backoff, and
its state is reported (``Health``) instead of the daemon dying or pretending to be well.

A part is an ``async`` callable that runs until its stop event is set (executor, scheduler, sync loop,
heartbeat, API server, retention). ``supervise`` runs it; when it raises (or returns while not stopping)
the failure is counted and logged, the part is restarted after ``base * 2**(failures-1)`` seconds (at most
``cap``), and after ``down_after`` failures in a row the part is reported DOWN with its last error. A
restarted part that then runs ``settle`` seconds without failing is UP again and its count is reset.

``Health`` is shared by the daemon's two event loops (see ``process``): its methods take a lock.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

log = logging.getLogger("flowd.daemon")


@dataclass(frozen=True, slots=True)
class Backoff:
    """How a part is restarted (seconds)."""

    base: float = 0.5
    cap: float = 30.0
    down_after: int = 3
    settle: float = 10.0

    def delay(self, failures: int) -> float:
        """Seconds to wait before the restart that follows the ``failures``-th failure in a row."""
        return float(min(self.cap, self.base * 2 ** max(failures - 1, 0)))


DEFAULT_BACKOFF = Backoff()


@dataclass(frozen=True, slots=True)
class PartState:
    """One part as ``/api/health`` shows it."""

    status: str = "UP"  # UP, RESTARTING (failed, fewer than down_after times in a row), DOWN
    failures: int = 0
    reason: str | None = None


class Health:
    """The state of every supervised part (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: dict[str, PartState] = {}

    def up(self, name: str) -> None:
        with self._lock:
            self._parts[name] = PartState()

    def failed(self, name: str, reason: str, failures: int, *, down: bool) -> None:
        with self._lock:
            self._parts[name] = PartState("DOWN" if down else "RESTARTING", failures, reason)

    def forget(self, name: str) -> None:
        with self._lock:
            self._parts.pop(name, None)

    def parts(self) -> dict[str, PartState]:
        with self._lock:
            return {name: replace(state) for name, state in self._parts.items()}

    def down(self) -> dict[str, PartState]:
        """The parts that keep failing."""
        return {name: state for name, state in self.parts().items() if state.status == "DOWN"}


class PartEnded(RuntimeError):
    """A part returned although the daemon is not stopping."""


async def supervise(
    name: str,
    run: Callable[[], Awaitable[object]],
    *,
    stop: asyncio.Event,
    health: Health,
    backoff: Backoff = DEFAULT_BACKOFF,
) -> None:
    """Run ``run()`` until ``stop``, restarting it after each failure (see the module docstring)."""
    failures = 0
    health.up(name)
    while not stop.is_set():
        task = asyncio.ensure_future(run())
        try:
            if failures:
                done, _ = await asyncio.wait({task}, timeout=backoff.settle)
                if not done:  # the restarted part has run long enough: it is well again
                    failures = 0
                    health.up(name)
                    log.info("daemon part %s is running again", name)
            await task
            if stop.is_set():
                break
            raise PartEnded(f"{name} ended although the daemon is not stopping")
        except asyncio.CancelledError:
            task.cancel()
            raise
        except (Exception, SystemExit) as exc:  # SystemExit: uvicorn exits when it cannot bind
            failures += 1
            reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
            down = failures >= backoff.down_after
            health.failed(name, reason, failures, down=down)
            delay = backoff.delay(failures)
            log.error(
                "daemon part %s failed (%d in a row%s): %s; restarting in %.1fs",
                name, failures, ", DOWN" if down else "", reason, delay,
                exc_info=failures == 1,
            )  # fmt: skip
            try:
                await asyncio.wait_for(stop.wait(), delay)
            except TimeoutError:
                pass
    health.forget(name)
