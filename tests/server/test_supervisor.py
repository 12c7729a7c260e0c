"""Supervision: a daemon part that keeps raising is restarted with backoff and reported DOWN with its
reason by /api/health, the daemon stays up, and the part recovers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from daemon.server.heartbeat import HeartbeatLoop
from daemon.server.supervisor import Backoff, Health, supervise
from tests.server.daemon_harness import wait_for
from tests.server.inprocess import InProcessDaemon


def test_backoff_is_exponential_and_capped() -> None:
    policy = Backoff(base=0.5, cap=4.0)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_supervise_restarts_then_reports_down_then_up() -> None:
    health, calls = Health(), []

    async def main() -> None:
        stop = asyncio.Event()

        async def part() -> None:
            calls.append(1)
            if len(calls) <= 3:
                raise RuntimeError(f"boom {len(calls)}")
            await stop.wait()

        task = asyncio.ensure_future(
            supervise("p", part, stop=stop, health=health, backoff=Backoff(0.01, 0.02, 3, 0.2))
        )
        while len(calls) < 4:
            await asyncio.sleep(0.01)
        assert health.parts()["p"].status == "DOWN" and health.parts()["p"].reason == "RuntimeError: boom 3"
        while health.parts()["p"].status != "UP":
            await asyncio.sleep(0.01)
        stop.set()
        await task

    asyncio.run(asyncio.wait_for(main(), 10))
    assert len(calls) == 4


@pytest.mark.integration
def test_failing_part_is_down_with_its_reason_then_recovers(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = {"left": 5}
    real_beat = HeartbeatLoop.beat

    def beat(self: HeartbeatLoop) -> None:
        if failing["left"] > 0 and started["yes"]:
            failing["left"] -= 1
            raise ConnectionResetError("injected: server closed the connection")
        real_beat(self)

    started = {"yes": False}
    monkeypatch.setattr(HeartbeatLoop, "beat", beat)
    daemon = InProcessDaemon(db_url, tmp_path / "home")
    daemon.backoff = Backoff(base=0.3, cap=0.6, down_after=3, settle=1.0)
    daemon.start()
    try:
        assert daemon.health()[0] == 200
        started["yes"] = True
        # the next beat fails (within 5 s), and so do the restarts: DOWN after three
        _status, body = wait_for(
            lambda: (h := daemon.health())[0] == 503 and h, "health to report the failing part", timeout=30
        )
        assert "heartbeat" in body["message"] and "ConnectionResetError" in body["message"], body
        assert body["parts"]["heartbeat"].startswith("DOWN"), body
        assert body["parts"]["executor"] == "UP"
        wait_for(lambda: daemon.health()[0] == 200, "the part to recover", timeout=30)
    finally:
        assert daemon.stop() == 0
