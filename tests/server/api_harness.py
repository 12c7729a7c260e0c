"""The API under test: a real store, a real executor served on its own event loop, ``Services`` as the
daemon builds them (with the daemon's hooks: counters, the sync loop's ``sync_once``), and FastAPI's
``TestClient`` in front."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from daemon.clock import SystemClock
from daemon.engine.executor import Executor
from daemon.engine.states import is_terminal
from daemon.reconcile import Reconciler
from daemon.reconcile.hashing import content_hash
from daemon.server.api import create_app
from daemon.server.process import Daemon, DaemonOptions
from daemon.server.services import Services
from daemon.settings import Settings
from daemon.sources import open_source
from daemon.store import Store
from daemon.tasks.registry import PLUGINS

MAX_POLLS = 3000  # x 0.05 s: a stuck execution fails the test instead of hanging it


@dataclass
class Api:
    client: TestClient
    services: Services
    store: Store
    source_dir: Path

    def deploy(self, text: str) -> None:
        """Deploy one flow (namespace and id read from its first lines)."""
        fields = dict(
            line.split(":", 1) for line in text.splitlines() if line.startswith(("id:", "namespace:"))
        )
        self.store.flows.deploy(
            fields["namespace"].strip(), fields["id"].strip(), source=text, hash=content_hash(text),
            path=None, commit=None, now=SystemClock().now(),
        )  # fmt: skip

    def wait(self, execution_id: str, *, until: Any = is_terminal) -> dict[str, Any]:
        """Poll ``GET /api/v1/executions/{id}`` until its state satisfies ``until``."""
        for _ in range(MAX_POLLS):
            body: dict[str, Any] = self.client.get(f"/api/v1/executions/{execution_id}").json()
            if until(body["state"]["current"]):
                return body
            threading.Event().wait(0.05)
        raise AssertionError(f"execution {execution_id} stuck in {body['state']['current']}")


@contextmanager
def served(executor: Executor) -> Iterator[asyncio.AbstractEventLoop]:
    """Run ``executor.serve`` on a new event loop in a thread (the daemon's loop); stop it afterwards."""
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = asyncio.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(started.set)
        loop.run_until_complete(executor.serve(stop))

    thread = threading.Thread(target=run, name="daemon-loop", daemon=True)
    thread.start()
    started.wait()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join()
        loop.close()


@contextmanager
def api(store: Store, tmp_path: Path, **settings: Any) -> Iterator[Api]:
    """The app over ``store`` with ``Settings(**settings)``; a folder under ``tmp_path`` is its source."""
    home = tmp_path / "home"
    source_dir = tmp_path / "flows"
    source_dir.mkdir(exist_ok=True)
    config = Settings(home=home, **settings)
    clock = SystemClock()
    executor = Executor(store, config, clock, PLUGINS, workers=4, environ={})
    reconciler = Reconciler(store, open_source(str(source_dir), cache_dir=home / "repos"), clock=clock)
    services = Services(settings=config, store=store, executor=executor, reconciler=reconciler, clock=clock)
    Daemon(services, DaemonOptions(source=str(source_dir)))  # wires counters and the sync hook, runs nothing
    with served(executor) as loop:
        services.loop = loop
        with TestClient(
            create_app(services), base_url="http://localhost", raise_server_exceptions=False
        ) as client:
            yield Api(client, services, store, source_dir)
