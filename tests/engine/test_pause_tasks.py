"""Pause's deprecated ``tasks`` run once the pause ends (its delay over, or resumed), before the tasks after
the Pause, as they did in Kestra; the Pause ends in their state."""

from __future__ import annotations

import asyncio

import pytest

from daemon.engine import states as S
from tests.engine.conftest import Harness, deploy

pytestmark = pytest.mark.integration


def pause_flow(
    extra: str, inner: str = '{id: inner, type: io.kestra.plugin.core.log.Log, message: "in pause"}'
) -> str:
    return f"""
id: paused
namespace: test.pause
tasks:
  - id: wait
    type: io.kestra.plugin.core.flow.Pause
    {extra}
    tasks:
      - {inner}
      - {{id: second, type: io.kestra.plugin.core.log.Log, message: "second in pause"}}
  - {{id: after, type: io.kestra.plugin.core.log.Log, message: "after the pause"}}
"""


def test_the_tasks_run_when_the_delay_ends(harness: Harness) -> None:
    ex = harness.run(pause_flow("pauseDuration: PT0.05S"))
    assert ex.state == S.SUCCESS
    assert harness.logs(ex.id) == ["in pause", "second in pause", "after the pause"]
    (pause,) = harness.runs(ex.id, "wait")
    assert pause.state == S.SUCCESS
    assert [r.parent_task_run_id for r in harness.runs(ex.id, "inner")] == [pause.id]


def test_the_tasks_run_after_a_resume(harness: Harness) -> None:
    record = deploy(harness.store, pause_flow(""))
    executor = harness.executor

    async def scenario() -> str:
        execution_id = executor.create_execution(record, {})
        driver = asyncio.ensure_future(executor.run_until_done(execution_id))
        while executor.views[execution_id].state != S.PAUSED:
            await asyncio.sleep(0.01)
        assert harness.logs(execution_id) == []  # nothing of the pause's tasks ran before the resume
        assert executor.resume_execution(execution_id)
        ended = await asyncio.wait_for(driver, 30)
        assert ended.state == S.SUCCESS
        return execution_id

    execution_id = asyncio.run(scenario())
    assert harness.logs(execution_id) == ["in pause", "second in pause", "after the pause"]


def test_a_failing_task_fails_the_pause(harness: Harness) -> None:
    ex = harness.run(
        pause_flow("pauseDuration: PT0.01S", inner="{id: inner, type: io.kestra.plugin.core.execution.Fail}")
    )
    assert ex.state == S.FAILED
    assert harness.states(ex.id)["wait"] == S.FAILED
    assert "after" not in harness.states(ex.id)
