"""Starting ``flowd run`` as a real subprocess for tests, and polling the store it writes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx

T = TypeVar("T")
GIVE_UP = 60.0
# the flowd entry point, run by this interpreter (the console script may not be on PATH)
FLOWD = [
    sys.executable,
    "-c",
    "import sys; from daemon.cli.main import main; sys.exit(main())",
]  # a safety net against hanging tests, not a timing assertion


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], T | None], what: str, timeout: float = GIVE_UP) -> T:
    """Poll ``check`` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


class DaemonProcess:
    """``flowd run`` on a free port, with its own FLOWD_HOME."""

    def __init__(
        self,
        *,
        source: Path,
        db_url: str,
        home: Path,
        extra: list[str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.log = home / f"daemon-{self.port}.log"
        base = {**os.environ, "FLOWD_HOME": str(home), "FLOWD_DATABASE_URL": db_url}
        base.pop("FLOWD_API_TOKEN", None)
        env = {**base, **(env or {})}
        argv = [*FLOWD, "run", "--source", str(source),
                "--listen", f"127.0.0.1:{self.port}", "--interval", "1s", *(extra or [])]  # fmt: skip
        self._out = self.log.open("wb")
        self.proc = subprocess.Popen(argv, env=env, stdout=self._out, stderr=subprocess.STDOUT)
        wait_for(self._healthy, f"the daemon to answer on port {self.port}")

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"daemon exited with {self.proc.returncode}:\n{self.log.read_text()}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/api/health", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = GIVE_UP) -> int:
        """Send ``sig`` and wait for the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self._out.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")
