"""A daemon (``Daemon.run``) on its own thread inside the test process, so a test can reach its loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import httpx

from daemon.runners import groups
from daemon.server.process import Daemon, DaemonOptions, build_services
from daemon.server.supervisor import Backoff
from daemon.settings import Settings
from tests.server.daemon_harness import free_port, wait_for

QUICK = Backoff(base=0.05, cap=0.2, down_after=3, settle=1.0)


class InProcessDaemon:
    """Start with ``start()``; ``loop`` is the daemon's main loop; ``stop()`` ends it like a SIGTERM."""

    def __init__(self, db_url: str, home: Path, *, backoff: Backoff = QUICK, **settings: Any) -> None:
        self.port = free_port()
        self.settings = Settings(home=home, **settings)
        self.options = DaemonOptions(
            source=None, listen=f"127.0.0.1:{self.port}", grace=2.0, db_url=db_url, workers=4
        )
        self.services = build_services(self.settings, self.options)
        self.backoff = backoff
        self.loop: asyncio.AbstractEventLoop | None = None
        self.daemon: Daemon | None = None
        self.status: int | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        async def main() -> int:
            self.loop = asyncio.get_running_loop()
            self.daemon = Daemon(self.services, self.options, backoff=self.backoff)  # type: ignore[call-arg]
            self._ready.set()
            return await self.daemon.run()

        self.status = asyncio.run(main())

    def start(self) -> InProcessDaemon:
        self._thread.start()
        self._ready.wait(30)
        wait_for(lambda: self.health()[0] != 0, "the in-process daemon to answer")
        return self

    def health(self) -> tuple[int, dict[str, Any]]:
        try:
            response = httpx.get(f"http://127.0.0.1:{self.port}/api/health", timeout=5)
        except httpx.HTTPError:
            return 0, {}
        return response.status_code, response.json()

    def stop(self) -> int | None:
        if self.loop is not None and self.daemon is not None:
            self.loop.call_soon_threadsafe(self.daemon.request_stop)
        self._thread.join(60)
        groups.configure(None)
        return self.status
