"""Nothing blocks the daemon's main loop: while another connection holds SQLite's write lock for 3 s and
an execution is submitted (the executor's write waits for the lock), the main loop keeps answering."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from tests.engine.conftest import deploy
from tests.server.inprocess import InProcessDaemon

FLOW = """
id: hello
namespace: t
tasks:
  - id: hi
    type: io.kestra.plugin.core.log.Log
    message: hi
"""
HOLD = 3.0


async def max_lateness(seconds: float) -> float:
    """A 10 ms ticker on the running loop: the longest delay past a tick's due time."""
    loop = asyncio.get_running_loop()
    worst, end = 0.0, loop.time() + seconds
    while loop.time() < end:
        due = loop.time() + 0.01
        await asyncio.sleep(0.01)
        worst = max(worst, loop.time() - due)
    return worst


@pytest.mark.integration
def test_main_loop_answers_while_the_store_is_write_locked(tmp_path: Path) -> None:
    db = tmp_path / "flowd.db"
    daemon = InProcessDaemon(f"sqlite:///{db}", tmp_path / "home").start()
    try:
        deploy(daemon.services.store, FLOW)
        locker = sqlite3.connect(db, isolation_level=None)
        locker.execute("BEGIN IMMEDIATE")
        assert daemon.loop is not None
        ticker = asyncio.run_coroutine_threadsafe(max_lateness(HOLD), daemon.loop)
        submitted: list[str] = []
        submit = threading.Thread(
            target=lambda: submitted.append(daemon.services.submit_execution("t", "hello", {})), daemon=True
        )
        time.sleep(0.2)
        submit.start()  # the executor's write now waits for the lock
        time.sleep(0.3)
        status, _ = daemon.health()  # a read: answers although the write lock is held
        time.sleep(HOLD - 0.5)
        locker.execute("COMMIT")
        locker.close()
        worst = ticker.result(30)
        submit.join(30)
        assert status == 200
        assert submitted, "the submission completed once the lock was released"
        # a generous bound: the engine waited ~3 s for the lock, the main loop must not have
        assert worst < 1.0, f"the main loop stalled {worst:.2f}s"
    finally:
        assert daemon.stop() == 0
