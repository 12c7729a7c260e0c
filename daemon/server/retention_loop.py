"""The daemon's daily purge (``FLOWD_RETENTION``): ``daemon.store.retention.purge`` in a worker thread."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from daemon.clock import Clock
from daemon.store import Store
from daemon.store.retention import ExecutionFiles, purge

log = logging.getLogger("flowd.daemon")

EVERY = 24 * 3600.0


async def retention_loop(
    store: Store,
    storage: ExecutionFiles,
    clock: Clock,
    *,
    age: timedelta,
    keep_failed: bool,
    stop: asyncio.Event,
    every: float = EVERY,
) -> None:
    """Purge at start, then every ``every`` seconds, until ``stop``; a failure raises (the supervisor
    restarts the part)."""
    while not stop.is_set():
        counts = await asyncio.to_thread(
            purge, store, before=clock.now() - age, keep_failed=keep_failed, storage=storage
        )
        if counts.executions or counts.schedule_ticks:
            log.info("retention: deleted %s older than %s", counts.render(), age)
        try:
            await asyncio.wait_for(stop.wait(), every)
        except TimeoutError:
            pass
