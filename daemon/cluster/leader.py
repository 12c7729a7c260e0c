"""One leader for the singleton duties (Git reconcile, schedule ticks, retention).

PostgreSQL: a session advisory lock (``pg_try_advisory_lock``) held on a dedicated connection. The lock goes
with the session: when the leader's process dies, or its connection is terminated or cut, PostgreSQL
releases it and a follower takes it at its next attempt. Timings derive from one setting, ``failover``
(default 10 s, the bound within which another node leads):

- followers try the lock every ``failover / 5`` s;
- the leader checks its session every ``failover / 10`` s, each check bounded by ``failover / 5`` s: a
  leader that lost its session steps down within ``failover * 3 / 10`` s;
- a node that got the lock waits that long before acting as leader, so the previous leader has stepped
  down first: two nodes never both believe they lead, as long as neither's event loop stalls for longer
  than a check (the UNIQUE tick key is the last line of defence then);
- the session runs with ``idle_session_timeout`` (``failover * 4 / 10``): a leader frozen or cut off from
  the network is dropped by the server, which releases the lock (a successor then leads within about
  ``failover``).

SQLite (one daemon per store): ``AlwaysLeader``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import psycopg

from daemon.cluster.pgconn import connect

log = logging.getLogger("flowd.leader")

LEADER_KEY = 0x666C6431  # "fld1": one advisory lock per database
DEFAULT_FAILOVER = 10.0

Part = Callable[[asyncio.Event], Awaitable[None]]


class Leadership:
    """Whether this node leads now; ``leading`` / ``following`` are set accordingly, ``on_change`` callbacks
    get the new value. Subclasses implement ``run``."""

    def __init__(self) -> None:
        self.leading = asyncio.Event()
        self.following = asyncio.Event()
        self.following.set()
        self.on_change: list[Callable[[bool], None]] = []

    @property
    def is_leader(self) -> bool:
        """Whether this node acts as the leader now."""
        return self.leading.is_set()

    def _set(self, leader: bool) -> None:
        if leader == self.is_leader:
            return
        (self.leading.set if leader else self.leading.clear)()
        (self.following.clear if leader else self.following.set)()
        for callback in self.on_change:
            callback(leader)

    async def run(self, stop: asyncio.Event) -> None:
        """Hold or seek leadership until ``stop``; step down on the way out."""
        raise NotImplementedError


class AlwaysLeader(Leadership):
    """The single daemon of an SQLite store (a second one is refused at start): always the leader."""

    async def run(self, stop: asyncio.Event) -> None:
        """Lead until ``stop``."""
        self._set(True)
        try:
            await stop.wait()
        finally:
            self._set(False)


class NeverLeader(Leadership):
    """A node without the ``scheduler`` role: never competes."""

    async def run(self, stop: asyncio.Event) -> None:
        """Follow until ``stop``."""
        await stop.wait()


class AdvisoryLeader(Leadership):
    """Leadership through a PostgreSQL session advisory lock on a dedicated connection."""

    def __init__(self, url: str, node_id: str, *, failover: float = DEFAULT_FAILOVER) -> None:
        super().__init__()
        self.url = url
        self.node_id = node_id
        self.retry = failover / 5
        self.check = failover / 10
        self.query_timeout = failover / 5
        self.takeover_delay = self.check + self.query_timeout + 0.05
        # the server drops a session idle for longer than this (a frozen or cut-off leader); longer than
        # any wait of a live node between two queries (retry, check, take-over delay)
        self.idle_timeout_ms = int(failover * 1000 * 4 / 10)

    async def run(self, stop: asyncio.Event) -> None:
        """Seek the lock, lead while the session lives, step down when it is lost; until ``stop``."""
        while not stop.is_set():
            conn: psycopg.AsyncConnection | None = None
            try:
                conn = await asyncio.wait_for(self._connect(), self.query_timeout * 2)
                await self._session(conn, stop)
            except (psycopg.Error, OSError, TimeoutError) as exc:
                if self.is_leader:
                    log.warning("leadership lost: %s", str(exc).strip().splitlines()[0] if str(exc) else exc)
                self._set(False)
            finally:
                self._set(False)
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 1.0)
            await _sleep_or_stop(stop, self.retry)

    async def _connect(self) -> psycopg.AsyncConnection:
        return await connect(
            self.url, name=f"flowd-leader {self.node_id}", timeout=self.query_timeout,
            options=f"-c idle_session_timeout={max(self.idle_timeout_ms, 1000)}",
        )  # fmt: skip

    async def _session(self, conn: psycopg.AsyncConnection, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not self.is_leader:
                if await self._query(conn, "SELECT pg_try_advisory_lock(%s)", LEADER_KEY):
                    # let a previous leader that lost its session notice it before this node acts
                    await _sleep_or_stop(stop, self.takeover_delay)
                    await self._query(conn, "SELECT true")  # still ours after the wait?
                    if not stop.is_set():
                        log.info("this node (%s) is the leader", self.node_id)
                        self._set(True)
                    continue
                await _sleep_or_stop(stop, self.retry)
            else:
                await self._query(conn, "SELECT true")
                await _sleep_or_stop(stop, self.check)
        if self.is_leader:
            log.info("stepping down as leader")

    async def _query(self, conn: psycopg.AsyncConnection, sql: str, *args: object) -> bool:
        cursor = await asyncio.wait_for(conn.execute(sql, args or None), self.query_timeout)
        row = await cursor.fetchone()
        return bool(row and row[0])


async def while_leading(leadership: Leadership, stop: asyncio.Event, part: Part, *, name: str) -> None:
    """Run ``part(part_stop)`` each time this node becomes the leader; set ``part_stop`` (and wait for the
    part to end) when it stops leading or ``stop`` is set. A part that fails ends this too (the error
    propagates to the daemon, as for any part)."""
    while not stop.is_set():
        if not await _first(leadership.leading, stop):
            return
        part_stop = asyncio.Event()
        task = asyncio.ensure_future(part(part_stop))
        log.info("leader duty started: %s", name)
        waiters = [asyncio.ensure_future(leadership.following.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait([task, *waiters], return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()
            part_stop.set()
            await task  # a failure propagates
        log.info("leader duty stopped: %s", name)


async def _first(event: asyncio.Event, stop: asyncio.Event) -> bool:
    """Wait for ``event`` or ``stop``; True when ``event`` came (and ``stop`` is not set)."""
    waiters = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    return event.is_set() and not stop.is_set()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
