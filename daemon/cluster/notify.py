"""LISTEN/NOTIFY wake-ups between nodes (PostgreSQL; no-ops on SQLite, where there is one daemon).

Channels:
- ``WORK``: an execution needs a driver (created without an owner, or handed back by a stopping node):
  idle executors wake and adopt it. A trigger installed by migration ``0004_cluster`` publishes it from
  the inserting / releasing transaction itself; ``publish`` does the same from code.
- ``SYNC``: a Git push reached some node; the leader syncs now.

A notification published in a transaction is delivered at its commit, and not at all if it rolls back.
Polling stays as the slow fallback: a listener that reconnects fires every handler once (it may have
missed notifications while disconnected).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from daemon.cluster.pgconn import connect

log = logging.getLogger("flowd.notify")

WORK = "flowd_work"
SYNC = "flowd_sync"
RECONNECT = 1.0


def publish(conn: Connection, channel: str, payload: str = "") -> None:
    """Notify ``channel`` when the transaction of ``conn`` commits (nothing on SQLite)."""
    if conn.dialect.name == "postgresql":
        conn.execute(
            sa.text("SELECT pg_notify(:channel, :payload)"), {"channel": channel, "payload": payload}
        )


def publish_now(engine: Engine, channel: str, payload: str = "") -> None:
    """Notify ``channel`` in a transaction of its own."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            publish(conn, channel, payload)


class Listener:
    """Listens on channels over a dedicated connection; ``on(channel, fn)`` registers a handler called with
    the payload on the event loop; ``event(channel)`` is an ``asyncio.Event`` set on every notification
    (the consumer clears it)."""

    def __init__(self, url: str, channels: Iterable[str], *, name: str = "flowd-listen") -> None:
        self.url = url
        self.channels = tuple(channels)
        self.name = name
        self._handlers: dict[str, list[Callable[[str], None]]] = {c: [] for c in self.channels}
        self._events: dict[str, asyncio.Event] = {}
        self.connected = asyncio.Event()

    def on(self, channel: str, handler: Callable[[str], None]) -> None:
        """Call ``handler(payload)`` on each notification of ``channel``."""
        self._handlers[channel].append(handler)

    def event(self, channel: str) -> asyncio.Event:
        """An event set on each notification of ``channel``."""
        if channel not in self._events:
            self._events[channel] = asyncio.Event()
            self.on(channel, lambda _payload: self._events[channel].set())
        return self._events[channel]

    def _fire(self, channel: str, payload: str) -> None:
        for handler in self._handlers.get(channel, ()):
            try:
                handler(payload)
            except Exception:  # a handler's bug never stops the listener
                log.exception("handler of %s failed", channel)

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until ``stop``, reconnecting after a lost connection."""
        first = True
        while not stop.is_set():
            conn: psycopg.AsyncConnection | None = None
            try:
                conn = await connect(self.url, name=self.name, timeout=5.0)
                for channel in self.channels:
                    await conn.execute(f'LISTEN "{channel}"')
                self.connected.set()
                if not first:  # notifications may have been missed while disconnected
                    for channel in self.channels:
                        self._fire(channel, "")
                first = False
                while not stop.is_set():
                    async for note in conn.notifies(timeout=0.5):
                        self._fire(note.channel, note.payload)
                    await conn.execute("SELECT 1")  # notices a dead connection while idle
            except (psycopg.Error, OSError) as exc:
                log.warning("listener connection lost (%s); reconnecting", str(exc).strip()[:200])
            finally:
                self.connected.clear()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 1.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), RECONNECT)
