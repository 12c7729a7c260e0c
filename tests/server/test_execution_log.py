"""The daemon's one INFO line per execution start and end (``server.execution_log``)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from daemon.server.execution_log import ExecutionLog
from daemon.store import Execution

T0 = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def _execution(execution_id: str, state: str = "CREATED") -> Execution:
    return Execution(
        id=execution_id, namespace="test.log", flow_id="f", flow_revision=1, state=state, start_date=T0,
        end_date=T0 + timedelta(seconds=2) if state != "CREATED" else None,
    )  # fmt: skip


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "flowd.executions"]


def test_start_lines_wait_for_the_callback_that_created_the_executions(
    caplog: pytest.LogCaptureFixture,
) -> None:
    hooks = ExecutionLog(store=None)  # type: ignore[arg-type]  # read only for failure reasons
    seen: dict[str, Any] = {}

    async def burst() -> None:
        for i in range(3):
            hooks.started(_execution(f"e{i}"))
        seen["within"] = _lines(caplog)  # a scheduler's burst: nothing written while it creates
        await asyncio.sleep(0)
        seen["after"] = _lines(caplog)

    with caplog.at_level(logging.INFO, logger="flowd.executions"):
        asyncio.run(burst())
    assert seen["within"] == []
    assert [line.split()[1] for line in seen["after"]] == ["e0", "e1", "e2"]
    assert all("started (revision 1)" in line for line in seen["after"])


def test_an_end_line_never_comes_before_its_start_line(caplog: pytest.LogCaptureFixture) -> None:
    hooks = ExecutionLog(store=None)  # type: ignore[arg-type]

    async def start_and_end_in_one_callback() -> None:
        hooks.started(_execution("e1"))
        hooks.ended(_execution("e1", "SUCCESS"))
        await asyncio.sleep(0)

    with caplog.at_level(logging.INFO, logger="flowd.executions"):
        asyncio.run(start_and_end_in_one_callback())
    lines = _lines(caplog)
    assert len(lines) == 2 and "started" in lines[0] and "ended SUCCESS in 2.00s" in lines[1], lines


def test_outside_an_event_loop_the_start_line_is_written_at_once(caplog: pytest.LogCaptureFixture) -> None:
    hooks = ExecutionLog(store=None)  # type: ignore[arg-type]
    with caplog.at_level(logging.INFO, logger="flowd.executions"):
        hooks.started(_execution("e1"))
        assert len(_lines(caplog)) == 1
