"""Start-up checks of ``flowd run`` that keep several daemons on one store safe.

- SQLite holds one daemon: the first takes an exclusive lock on ``<database>.daemon.lock`` (released by
  the kernel when the process ends, ``kill -9`` included); a second one is refused and told to use
  PostgreSQL for several nodes.
- Several nodes need storage every node reads: on PostgreSQL, a node that finds another live node while
  its internal storage is a node-local folder is refused and told what to set.
"""

from __future__ import annotations

import fcntl
import os
from datetime import datetime
from pathlib import Path
from typing import IO

from sqlalchemy.engine import make_url

from daemon.cluster.nodes import Node, live_others
from daemon.errors import UsageError


class SecondDaemon(UsageError):
    """Another daemon runs on this SQLite store."""


class LocalStorageInCluster(UsageError):
    """Several nodes with node-local internal storage."""


class SqliteLock:
    """The exclusive lock of the one daemon of an SQLite store (kept open for the daemon's life)."""

    def __init__(self, handle: IO[str], path: Path) -> None:
        self._handle = handle
        self.path = path

    @classmethod
    def acquire(cls, db_url: str) -> SqliteLock | None:
        """Take the lock of an SQLite store (None for PostgreSQL or an in-memory database); raises
        SecondDaemon when another process holds it."""
        url = make_url(db_url)
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return None
        path = Path(url.database).expanduser().resolve().with_name(Path(url.database).name + ".daemon.lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise SecondDaemon(
                f"another flowd daemon ({holder}) already runs on the SQLite store {url.database}; an SQLite "
                "store holds one daemon. To run several nodes, point every one at one PostgreSQL database "
                "(FLOWD_DATABASE_URL=postgresql://...)."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        return cls(handle, path)

    def release(self) -> None:
        """Give the lock up (clean exit)."""
        fcntl.flock(self._handle, fcntl.LOCK_UN)
        self._handle.close()


def check_storage(rows: list[Node], now: datetime, *, me: str, storage: str, shared: bool) -> None:
    """Raise LocalStorageInCluster when another node is alive and this node's storage is a local folder
    not declared shared."""
    if storage == "database" or shared:
        return
    others = live_others(rows, now, me=me)
    if others:
        names = ", ".join(f"{n.node_id} on {n.host} (pid {n.pid})" for n in others[:3])
        raise LocalStorageInCluster(
            f"another node is running on this database ({names}), and this node keeps internal files in a "
            "local folder the other nodes cannot read. Set FLOWD_STORAGE=database on every node (or, if "
            "FLOWD_HOME/storage is a folder every node mounts, FLOWD_STORAGE_SHARED=true)."
        )


class PortInUse(UsageError):
    """The daemon cannot listen on its address."""


def check_port(host: str, port: int) -> None:
    """Raise PortInUse (one clear line) when ``host:port`` cannot be bound, before the daemon syncs."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
