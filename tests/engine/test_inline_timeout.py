"""Inline tasks (Log, Return, ...) honour ``timeout``: a heavy template ends FAILED near its timeout with
an error naming the task and the property, and the event loop keeps turning meanwhile."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from daemon.store import Store
from tests.engine.conftest import Harness, deploy

# slow (seconds) but under the expression caps of daemon/expressions/limits.py (a million loop turns)
HEAVY = (
    "{% for i in range(0, 990) %}{% for j in range(0, 990) %}{% set x = (i * j) ~ 'abc' ~ (j * 3) %}"
    "{% endfor %}{% endfor %}done"
)


def test_a_log_with_a_timeout_and_a_slow_template_fails_near_the_timeout(
    store: Store, tmp_path: Path
) -> None:
    harness = Harness(store, tmp_path / "home")
    record = deploy(
        store,
        f"""
id: slow
namespace: test.timeout
tasks:
  - id: heavy
    type: io.kestra.plugin.core.log.Log
    timeout: PT0.2S
    message: "{HEAVY}"
""",
    )

    async def scenario() -> tuple[str, float, int]:
        ticks = 0
        stop = asyncio.Event()

        async def ticker() -> None:  # counts loop turns while the task renders
            nonlocal ticks
            while not stop.is_set():
                ticks += 1
                await asyncio.sleep(0.01)

        counting = asyncio.ensure_future(ticker())
        start = time.perf_counter()
        execution_id = harness.executor.create_execution(record, {})
        row = await asyncio.wait_for(harness.executor.run_until_done(execution_id), 30)
        elapsed = time.perf_counter() - start
        stop.set()
        await counting
        return row.state, elapsed, ticks

    state, elapsed, ticks = asyncio.run(scenario())
    assert state == "FAILED"
    # No bound on ``elapsed`` (a timed assertion fails on a loaded machine): the template, left to finish,
    # renders "done" and the Log succeeds; FAILED with the timeout error below is the timeout firing first.
    del elapsed
    assert ticks >= 3  # the loop was not held by the render
    (run,) = harness.runs(harness.store.executions.list(namespace="test.timeout")[0].id)
    assert run.state == "FAILED"
    logs = harness.logs(run.execution_id)
    assert any("task 'heavy'" in line and "timeout" in line for line in logs), logs
    assert not any(line.endswith("done") for line in logs), logs


def test_an_inline_task_with_a_timeout_that_is_not_reached_succeeds(store: Store, tmp_path: Path) -> None:
    harness = Harness(store, tmp_path / "home")
    row = harness.run("""
id: quick
namespace: test.timeout
tasks:
  - id: ret
    type: io.kestra.plugin.core.debug.Return
    timeout: PT10S
    format: "{{ 1 + 1 }}"
""")
    assert row.state == "SUCCESS"
    assert harness.runs(row.id)[0].outputs == {"value": "2"}
