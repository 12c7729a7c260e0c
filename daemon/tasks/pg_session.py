"""Running blocking psycopg work in a thread, cancellable through the task's cancel event."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from typing import TypeVar

import psycopg

from daemon.engine.context import RunContext
from daemon.errors import TaskError
from daemon.tasks.cancel import until_cancelled

T = TypeVar("T")
CONNECT_TIMEOUT = 30


class Session:
    """One connection opened in the worker thread; ``cancel`` (from the event loop) stops its query."""

    def __init__(self, conninfo: str, *, autocommit: bool = False) -> None:
        self._conninfo = conninfo
        self._autocommit = autocommit
        self._lock = threading.Lock()
        self._conn: psycopg.Connection | None = None
        self._cancelled = False

    def connect(self) -> psycopg.Connection:
        """Open the connection (in the worker thread); refuses when a cancel came first."""
        conn = psycopg.connect(self._conninfo, autocommit=self._autocommit, connect_timeout=CONNECT_TIMEOUT)
        with self._lock:
            self._conn = conn
            if self._cancelled:
                conn.close()
                raise TaskError("cancelled")
        return conn

    def cancel(self) -> None:
        """Ask the server to cancel the running statement (the thread then sees QueryCanceled)."""
        with self._lock:
            self._cancelled = True
            if self._conn is not None and not self._conn.closed:
                with contextlib.suppress(psycopg.Error):
                    self._conn.cancel_safe(timeout=5)


async def in_thread(ctx: RunContext, session: Session, work: Callable[[Session], T]) -> T:
    """Run ``work(session)`` in a thread; a cancel of the execution cancels the statement.

    psycopg errors become TaskError with the server's message.
    """

    def guarded() -> T:
        try:
            return work(session)
        except psycopg.Error as exc:
            raise TaskError(f"postgres: {str(exc).strip()}") from exc

    return await until_cancelled(asyncio.to_thread(guarded), ctx.cancelled, on_cancel=session.cancel)
