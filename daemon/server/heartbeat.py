"""Daemon liveness: the heartbeat row a running daemon keeps fresh, and finding daemons that are gone.

A daemon's heartbeat id is its executor's worker id, which is also the ``owner_id`` of the executions it
drives: when a daemon is known to be gone, its executions are released and the next adoption takes them.

One liveness threshold: a daemon is taken for gone after ``STALE_AFTER`` (``daemon.engine.runtime``) without a
beat, the same age after which the executor adopts an execution whose owner stopped beating; both beat every
``BEAT_SECONDS``, well within it.
"""

from __future__ import annotations

import asyncio
import os
import socket
from datetime import datetime, timedelta

from daemon.clock import Clock
from daemon.engine.runtime import STALE_AFTER
from daemon.store import Heartbeat, Store

BEAT_SECONDS = 5.0
ALIVE_WITHIN: timedelta = STALE_AFTER  # the one liveness threshold (see the module docstring)


def live_daemons(store: Store, now: datetime) -> list[Heartbeat]:
    """Daemons that beat recently (``flowd backfill`` / ``execute`` hand work to them)."""
    return store.heartbeats.alive(now, ALIVE_WITHIN)


def gone_daemons(store: Store, now: datetime, *, me: str, host: str, pid: int) -> list[Heartbeat]:
    """Daemons that stopped beating, and those on this host whose process no longer exists (``kill -9``:
    no need to wait for their heartbeat to age)."""
    # one read of the few rows, split here (the leader looks every 2 s: one query, not two)
    rows = store.heartbeats.all()
    since = now - ALIVE_WITHIN
    gone = [beat for beat in rows if beat.last_seen < since]
    for beat in rows:
        if beat.last_seen < since or beat.daemon_id == me or beat.host != host:
            continue
        if beat.pid == pid or not _pid_alive(beat.pid):
            gone.append(beat)
    return gone


def release_gone(store: Store, now: datetime, *, me: str) -> int:
    """Release the executions of gone daemons and forget them; returns how many executions were released."""
    gone = gone_daemons(store, now, me=me, host=socket.gethostname(), pid=os.getpid())
    released = store.executions.release([b.daemon_id for b in gone])
    for beat in gone:
        store.heartbeats.remove(beat.daemon_id)
    return released


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class HeartbeatLoop:
    """Beats every ``BEAT_SECONDS`` until stopped; ``remove()`` on a clean exit."""

    def __init__(self, store: Store, clock: Clock, daemon_id: str) -> None:
        self.store = store
        self.clock = clock
        self.daemon_id = daemon_id
        self.started_at = clock.now()

    def beat(self) -> None:
        """Record that this daemon is alive now."""
        self.store.heartbeats.beat(
            self.daemon_id, host=socket.gethostname(), pid=os.getpid(), started_at=self.started_at,
            now=self.clock.now(),
        )  # fmt: skip

    async def run(self, stop: asyncio.Event) -> None:
        """Beat until ``stop``."""
        while not stop.is_set():
            await asyncio.to_thread(self.beat)  # off the main loop: a locked store must not stall it
            try:
                await asyncio.wait_for(stop.wait(), BEAT_SECONDS)
            except TimeoutError:
                pass

    def remove(self) -> None:
        """Forget this daemon (clean exit)."""
        self.store.heartbeats.remove(self.daemon_id)
