"""The daemon's uvicorn server looks at its state once a second, not ten times, and still stops at once
when asked (``should_exit``)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import uvicorn

from daemon.server import process
from daemon.server.process import _Server


def test_the_server_looks_once_a_second_and_stops_at_once_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    server = _Server(uvicorn.Config(app=None))  # type: ignore[arg-type]
    ticks: list[int] = []
    delays: list[float] = []

    async def on_tick(counter: int) -> bool:
        ticks.append(counter)
        return server.should_exit

    monkeypatch.setattr(server, "on_tick", on_tick)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        real_call_later = loop.call_later

        def call_later(delay: float, callback: Any, *args: Any) -> Any:
            if callback == server._woken.set:  # the look's timer: it never fires here
                delays.append(delay)
                callback = lambda: None  # noqa: E731
            return real_call_later(delay, callback, *args)

        monkeypatch.setattr(loop, "call_later", call_later)
        running = asyncio.ensure_future(server.main_loop())
        while not delays:
            await asyncio.sleep(0)
        server.should_exit = True  # only this can wake it now
        await asyncio.wait_for(running, 30)  # a guard against a hang, not a measure

    asyncio.run(main())
    assert delays == [process.SERVER_LOOK] and process.SERVER_LOOK == 1.0
    assert ticks == [0, 10]  # each look refreshes the Date header (uvicorn: every 10th tick of 0.1 s)
