"""Racing a task's work against its cancel event."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class Cancelled(Exception):
    """The execution was cancelled while the task was waiting."""


async def until_cancelled(
    work: Awaitable[T], cancelled: asyncio.Event, *, on_cancel: Callable[[], None] | None = None
) -> T:
    """Await ``work`` unless ``cancelled`` is set first; then call ``on_cancel``, drop ``work``, raise
    Cancelled.

    ``on_cancel`` lets blocking work running in a thread be interrupted (a database connection's cancel);
    it also runs when the awaiting task itself is cancelled.
    """
    job = asyncio.ensure_future(work)
    stop = asyncio.ensure_future(cancelled.wait())
    try:
        done, _ = await asyncio.wait({job, stop}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        if on_cancel is not None:
            on_cancel()
        job.cancel()
        raise
    finally:
        stop.cancel()
    if job in done:
        return job.result()
    if on_cancel is not None:
        on_cancel()
    job.cancel()
    # a thread keeps running until on_cancel takes effect; whatever it ends with is irrelevant now
    await asyncio.gather(job, return_exceptions=True)
    raise Cancelled
