"""The HTTP API served for real by uvicorn on a free 127.0.0.1 port, over a given store (for clients that
open their own connections: the CLI's ``--against``, CI workflow steps)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from daemon.clock import SystemClock
from daemon.engine.executor import Executor
from daemon.server.api import create_app
from daemon.server.services import Services
from daemon.settings import Settings
from daemon.store import Store
from daemon.tasks.registry import PLUGINS


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served_api(store: Store, home: Path, *, token: str | None = None) -> Iterator[str]:
    """Serve the app over ``store``; yields its base URL and stops the server afterwards."""
    settings = Settings(home=home, api_token=token)
    clock = SystemClock()
    executor = Executor(store, settings, clock, PLUGINS, workers=1, environ={})
    services = Services(settings=settings, store=store, executor=executor, reconciler=None, clock=clock)
    port = free_port()
    config = uvicorn.Config(create_app(services), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
